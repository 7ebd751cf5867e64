// Transfer throughput between processes on 127.0.0.1, all in one run:
//
//   npm run bench:transfer -- [--json] [--size MiB] [--rounds N] [--large]
//
//   (a) ceiling: raw libp2p stream throughput between two processes over TCP + Noise +
//       Yamux with PeerLink's settings (scripts/lib/stream-peer.ts), and the same with
//       libp2p's default Yamux settings, which is what PeerLink's tuning is measured against,
//       and the same stream with its receiver storing what a fetch of those bytes must store
//       (the chunks at their offsets in one pack, parity-sized block files, the pack synced
//       and linked as the output): the most a fetch could move on this machine with this
//       transport and this disk;
//   (b) `peerlink fetch` of one file (default 1 GiB) from one provider daemon through
//       another daemon to the output file, checked byte-for-byte;
//   (c) the same from 3 provider daemons found through the DHT;
//   (d) Helia 7 (unixfs + bitswap, same transport settings, offline) fetching the same file
//       between two processes (scripts/lib/helia-peer.ts);
//   and the fetching daemon's peak RSS in MB (10^6 bytes), and from its /proc/<pid>/stat and
//   /proc/<pid>/io over the fetch of (b): its CPU seconds per GiB fetched and the bytes it
//   sent towards the disk per byte fetched (repo blocks, parity and the output file);
//   --large: (e) a fetch of 4 GiB and one of 1 GiB from one provider, and their rate's ratio.
//
// Each figure is the median of --rounds runs; every run uses fresh repos. The ratios the
// targets are stated in are printed beside the figures.
import '../src/polyfill.js'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statfsSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { DEFAULT_K, DEFAULT_M } from '../src/files/format.js'
import { runCli } from '../simulations/lib/cli.js'
import { peakRss, processCost, startDaemonProcess, stopDaemonProcess, type DaemonProcess } from '../simulations/lib/daemons.js'
import { stopChild } from '../simulations/lib/processes.js'
import { fileBenchArgs } from './lib/args.js'
import { blake3File, writeRandomFile } from './lib/input.js'
import { median, round } from '../simulations/lib/stats.js'

const args = fileBenchArgs({ rounds: 1, maxSizeMiB: 16384, maxRounds: 10, large: true })
const { sizeMiB, rounds } = args

const MiB = 1024 * 1024
const GiB = 1024 * MiB
/** Megabytes, as the throughput figures (MB/s) and the targets count them. */
const MB = 1e6
const TSX = ['--import', 'tsx']
const STREAM_PEER = fileURLToPath(new URL('./lib/stream-peer.ts', import.meta.url))
const HELIA_PEER = fileURLToPath(new URL('./lib/helia-peer.ts', import.meta.url))
const RSS = fileURLToPath(new URL('./lib/report-rss.cjs', import.meta.url))
const STEP_TIMEOUT = 15 * 60_000
const log = (s: string): void => { if (!args.json) process.stderr.write(s + '\n') }

// Every round's repos and stored streams stay on disk until the end (deleting thousands of
// block files would slow the file creation of the measurements after it). In files' sizes,
// with a PeerLink repo holding its content and parity: per round the storing stream (an
// output and a repo's worth), (b) two repos, (c) four, Helia's two repos (no parity);
// plus the input and one output at a time. About 12.8 per round with k = 10, m = 4.
const repo = (DEFAULT_K + DEFAULT_M) / DEFAULT_K
// --large: inputs of 1 and 4 GiB, each with a provider's and a fetcher's repo and an output.
const diskNeeded = sizeMiB * MiB * (2 + rounds * ((1 + repo) + 2 * repo + 4 * repo + 2)) + (args.large ? 5 * GiB * (2 + 2 * repo) : 0)
const fsInfo = statfsSync(tmpdir())
if (fsInfo.bavail * fsInfo.bsize < diskNeeded) {
  throw new Error(`bench:transfer needs about ${(diskNeeded / 1e9).toFixed(1)} GB free under ${tmpdir()} for --size ${sizeMiB} --rounds ${rounds}; ${(fsInfo.bavail * fsInfo.bsize / 1e9).toFixed(1)} GB are free (TMPDIR chooses the place)`)
}

const children = new Set<ChildProcess>()
const daemons = new Set<DaemonProcess>()
const dir = mkdtempSync(join(tmpdir(), 'peerlink-bench-transfer-'))

/** Starts a helper process that prints one JSON line when it is ready; kept until stopped. */
async function startPeer (argv: string[], env: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess, ready: any, stderr: () => string }> {
  const child = spawn(process.execPath, [...TSX, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
  children.add(child)
  let stderr = ''
  child.stderr?.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4096) })
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`${argv[0]} did not get ready: ${stderr}`)) }, STEP_TIMEOUT)
    createInterface({ input: child.stdout! }).once('line', (l) => { clearTimeout(timer); resolve(l) })
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${argv[0]} exited (${code}): ${stderr}`)) })
  })
  return { child, ready: JSON.parse(line), stderr: () => stderr }
}

/** Runs a helper process to its end; returns its JSON line and peak RSS. */
async function runPeer (argv: string[], env: NodeJS.ProcessEnv = {}): Promise<{ result: any, rss: number }> {
  const rssFile = join(dir, `rss-${Math.random().toString(36).slice(2)}`)
  const child = spawn(process.execPath, ['--require', RSS, ...TSX, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env, PEERLINK_RSS_FILE: rssFile } })
  children.add(child)
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr?.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4096) })
  const timer = setTimeout(() => child.kill('SIGKILL'), STEP_TIMEOUT)
  const code = await new Promise(resolve => child.once('close', resolve))
  clearTimeout(timer)
  children.delete(child)
  if (code !== 0) throw new Error(`${argv.slice(0, 2).join(' ')} failed (${String(code)}): ${stderr}`)
  return { result: JSON.parse(stdout.trim().split('\n').at(-1) as string), rss: Number(readFileSync(rssFile, 'utf8')) }
}

async function stopPeer (child: ChildProcess): Promise<void> {
  await stopChild(child)
  children.delete(child)
}

async function daemon (name: string, bootstrap: string[] = []): Promise<DaemonProcess> {
  const d = await startDaemonProcess(join(dir, name), { bootstrap })
  daemons.add(d)
  return d
}

async function stopDaemons (): Promise<void> {
  await Promise.all([...daemons].map(async d => { await stopDaemonProcess(d); daemons.delete(d) }))
}

async function cli (d: DaemonProcess, ...argv: string[]): Promise<string> {
  const r = await runCli(['--repo', d.repo, ...argv], {}, STEP_TIMEOUT)
  if (r.code !== 0) throw new Error(`peerlink ${argv.join(' ')} failed (${String(r.code)}): ${r.stderr}`)
  return r.stdout
}

/**
 * (a) one stream, one direction, between two processes; Yamux as PeerLink sets it or
 * libp2p's defaults; with `store`, the receiver stores what a fetch stores under that folder.
 */
async function ceiling (bytes: number, yamux: 'peerlink' | 'default' = 'peerlink', store?: string): Promise<number> {
  const env = { PEERLINK_BENCH_YAMUX: yamux }
  const sink = await startPeer([STREAM_PEER, 'sink', ...(store !== undefined ? ['--store', store] : [])], env)
  try {
    const { result } = await runPeer([STREAM_PEER, 'source', sink.ready.addrs[0], String(bytes)], env)
    return result.bytes / result.seconds / 1e6
  } catch (err) {
    throw new Error(`${(err as Error).message}\nthe sink said: ${sink.stderr() || '(nothing)'}`)
  } finally {
    await stopPeer(sink.child)
  }
}

interface PeerLinkRun {
  mbps: number
  rss: number
  providers: number
  shares: number[]
  /** The fetching daemon's CPU seconds and bytes written during the fetch. */
  cpuSeconds: number
  writtenBytes: number
  size: number
}

/** (b), (c) and (e): `providerCount` daemons add the file, a fresh daemon fetches it by ticket. */
async function peerlinkFetch (input: string, inputHash: string, providerCount: number, label: string): Promise<PeerLinkRun> {
  try {
    const first = await daemon(`p${providerCount}-${label}-0`)
    const providers = [first]
    for (let i = 1; i < providerCount; i++) providers.push(await daemon(`p${providerCount}-${label}-${i}`, first.dialable))
    let ticket = ''
    for (const p of providers) {
      const [entry] = JSON.parse(await cli(p, 'add', '--json', input)) as Array<{ ticket: string, provided: boolean }>
      ticket = entry.ticket
    }
    const fetcher = await daemon(`f${providerCount}-${label}`, first.dialable)
    const output = join(dir, `out-${providerCount}-${label}.bin`)
    const pid = fetcher.child.pid as number
    const before = processCost(pid)
    const t0 = process.hrtime.bigint()
    const r = JSON.parse(await cli(fetcher, 'fetch', ticket, '-o', output, '--json')) as { size: number, providers: Array<{ peer: string, bytes: number }> }
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9
    const after = processCost(pid)
    const rss = peakRss(pid)
    if (await blake3File(output) !== inputHash) throw new Error(`the fetched file differs from the input (${providerCount} providers)`)
    rmSync(output)
    const served = r.providers.filter(p => p.bytes > 0)
    return {
      mbps: r.size / seconds / 1e6,
      rss,
      providers: served.length,
      shares: served.map(p => p.bytes / r.size),
      cpuSeconds: after.cpuSeconds - before.cpuSeconds,
      writtenBytes: after.writtenBytes - before.writtenBytes,
      size: r.size
    }
  } finally {
    await stopDaemons()
  }
}

/** (d) Helia: one provider process, one fetcher process. */
async function heliaFetch (input: string, inputHash: string, round: number): Promise<{ mbps: number, rss: number }> {
  const provider = await startPeer([HELIA_PEER, 'provide', input, join(dir, `helia-p-${round}`)])
  try {
    const output = join(dir, `helia-out-${round}.bin`)
    const { result, rss } = await runPeer([HELIA_PEER, 'fetch', provider.ready.cid, provider.ready.addrs[0], output, join(dir, `helia-f-${round}`)])
    if (await blake3File(output) !== inputHash) throw new Error('Helia\'s fetched file differs from the input')
    rmSync(output)
    return { mbps: result.bytes / result.seconds / 1e6, rss }
  } finally {
    await stopPeer(provider.child)
  }
}

const cpuPerGiB = (r: PeerLinkRun | undefined): number => r === undefined ? NaN : r.cpuSeconds / (r.size / GiB)
const writtenPerByte = (r: PeerLinkRun | undefined): number => r === undefined ? NaN : r.writtenBytes / r.size

/** (e) 1 GiB then 4 GiB from one provider, each input written (and its repos made) afresh. */
async function largeFetches (): Promise<{ one: PeerLinkRun, four: PeerLinkRun }> {
  const runs: PeerLinkRun[] = []
  for (const gib of [1, 4]) {
    const input = join(dir, `input-${gib}g.bin`)
    writeRandomFile(input, gib * GiB)
    runs.push(await peerlinkFetch(input, await blake3File(input), 1, `${gib}g`))
    rmSync(input)
    log(`(e) fetch of ${gib} GiB, 1 provider ${runs.at(-1)?.mbps.toFixed(0)} MB/s`)
  }
  return { one: runs[0], four: runs[1] }
}

async function cleanup (): Promise<void> {
  await stopDaemons()
  for (const c of children) c.kill('SIGKILL')
  rmSync(dir, { recursive: true, force: true })
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => { void cleanup().then(() => process.exit(130)) })

try {
  const input = join(dir, 'input.bin')
  writeRandomFile(input, sizeMiB * MiB)
  const bytes = statSync(input).size
  const inputHash = await blake3File(input)

  const a: number[] = []
  const aDefault: number[] = []
  const aStore: number[] = []
  const b: PeerLinkRun[] = []
  const c: PeerLinkRun[] = []
  const d: Array<{ mbps: number, rss: number }> = []
  for (let r = 0; r < rounds; r++) {
    a.push(await ceiling(bytes))
    aDefault.push(await ceiling(bytes, 'default'))
    aStore.push(await ceiling(bytes, 'peerlink', join(dir, `stored-${r}`)))
    log(`round ${r + 1}/${rounds}: (a) raw stream ${a.at(-1)?.toFixed(0)} MB/s; with libp2p's default Yamux settings ${aDefault.at(-1)?.toFixed(0)} MB/s; storing what a fetch stores ${aStore.at(-1)?.toFixed(0)} MB/s`)
    b.push(await peerlinkFetch(input, inputHash, 1, String(r)))
    log(`round ${r + 1}/${rounds}: (b) fetch, 1 provider ${b.at(-1)?.mbps.toFixed(0)} MB/s, fetcher peak RSS ${((b.at(-1)?.rss ?? 0) / MB).toFixed(0)} MB, ${cpuPerGiB(b.at(-1)).toFixed(1)} CPU s/GiB, ${writtenPerByte(b.at(-1)).toFixed(2)} bytes written per byte`)
    c.push(await peerlinkFetch(input, inputHash, 3, String(r)))
    log(`round ${r + 1}/${rounds}: (c) fetch, 3 providers ${c.at(-1)?.mbps.toFixed(0)} MB/s from ${c.at(-1)?.providers} (shares ${c.at(-1)?.shares.map(s => (s * 100).toFixed(0) + '%').join(' ')})`)
    d.push(await heliaFetch(input, inputHash, r))
    log(`round ${r + 1}/${rounds}: (d) Helia ${d.at(-1)?.mbps.toFixed(0)} MB/s, fetcher peak RSS ${((d.at(-1)?.rss ?? 0) / MB).toFixed(0)} MB`)
  }
  const large = args.large ? await largeFetches() : undefined
  const ceilingMbps = median(a)
  const one = median(b.map(x => x.mbps))
  const three = median(c.map(x => x.mbps))
  const helia = median(d.map(x => x.mbps))
  const rss = Math.max(...b.map(x => x.rss), ...c.map(x => x.rss)) / MB
  const result = {
    size_mib: bytes / MiB,
    rounds,
    ceiling_mbps: round(ceilingMbps, 1),
    ceiling_default_yamux_mbps: round(median(aDefault), 1),
    ceiling_with_storage_mbps: round(median(aStore), 1),
    fetch_1_provider_mbps: round(one, 1),
    fetch_3_providers_mbps: round(three, 1),
    helia_mbps: round(helia, 1),
    fetch_peak_rss_mb: round(rss, 1),
    ratio_1_provider_vs_ceiling: round(one / ceilingMbps, 2),
    ratio_1_provider_vs_ceiling_with_storage: round(one / median(aStore), 2),
    ratio_1_provider_vs_helia: round(one / helia, 2),
    ratio_3_vs_1_provider: round(three / one, 2),
    providers_serving_3: median(c.map(x => x.providers)),
    helia_peak_rss_mb: round(Math.max(...d.map(x => x.rss)) / MB, 1),
    fetcher_cpu_s_per_gib: round(median(b.map(cpuPerGiB)), 2),
    written_bytes_per_fetched_byte: round(median(b.map(writtenPerByte)), 2),
    ...(large !== undefined
      ? {
          fetch_1gib_mbps: round(large.one.mbps, 1),
          fetch_4gib_mbps: round(large.four.mbps, 1),
          fetch_4gib_vs_1gib: round(large.four.mbps / large.one.mbps, 2),
          fetch_4gib_peak_rss_mb: round(large.four.rss / MB, 1)
        }
      : {})
  }
  if (args.json) {
    process.stdout.write(JSON.stringify(result) + '\n')
  } else {
    console.log(`transfer of ${bytes / MiB} MiB on 127.0.0.1, median of ${rounds} round(s)`)
    console.log(`  (a) raw libp2p stream       ${result.ceiling_mbps} MB/s (${result.ceiling_default_yamux_mbps} MB/s with libp2p's default Yamux settings)`)
    console.log(`      storing what a fetch stores ${result.ceiling_with_storage_mbps} MB/s`)
    console.log(`  (b) fetch, 1 provider       ${result.fetch_1_provider_mbps} MB/s   ${result.ratio_1_provider_vs_ceiling}x ceiling (target >= 0.5), ${result.ratio_1_provider_vs_helia}x Helia (target >= 5), ${result.ratio_1_provider_vs_ceiling_with_storage}x the storing stream`)
    console.log(`  (c) fetch, 3 providers      ${result.fetch_3_providers_mbps} MB/s   ${result.ratio_3_vs_1_provider}x (b) (target >= 1), ${result.providers_serving_3} served`)
    console.log(`  (d) Helia 7 bitswap         ${result.helia_mbps} MB/s`)
    console.log(`  fetcher peak RSS            ${result.fetch_peak_rss_mb} MB (target <= 200); Helia fetcher ${result.helia_peak_rss_mb} MB`)
    console.log(`  fetcher CPU                 ${result.fetcher_cpu_s_per_gib} s per GiB (target <= 5), ${result.written_bytes_per_fetched_byte} bytes written per byte fetched (target <= 1.5)`)
    if (large !== undefined) console.log(`  (e) fetch of 4 GiB          ${result.fetch_4gib_mbps} MB/s, ${result.fetch_4gib_vs_1gib}x the 1 GiB fetch's ${result.fetch_1gib_mbps} MB/s (target >= 0.9)`)
  }
} finally {
  await cleanup()
}
