// Import and export of a large file through the real CLI, each in its own process.
//
//   npm run bench:files -- [--json] [--size MiB] [--rounds N] [--private]
//
// Measures `peerlink add` (read, chunk, hash, parity, LevelDB) of one file, default 1 GiB, and
// `peerlink cat` of it from the adding repo into a file, each in its own process, against `cp`
// of the same file on the same disk in the same round; then `peerlink fetch <link> -o` of it
// from a daemon on the adding repo through a second daemon on a fresh repo (receive, verify,
// store, write); with each process's peak RSS. Every output is checked
// byte-for-byte (BLAKE3 of both files). Then the storage overhead of small files: what
// `add -r` stores for a directory of 1,000 files of 4 KiB, against their size. With --private,
// each round also adds the file with --private and fetches it the same way by its link (the key
// in it), right after the public add and fetch, so both meet the same load; and the cipher's own
// speed on one core (AES-256-GCM sealing 1 MiB segments in this process) is printed beside.
import '../src/polyfill.js'
import { execFileSync, spawnSync } from 'node:child_process'
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { CLI, runCli } from '../simulations/lib/cli.js'
import { initDaemonRepo, peakRss, processCost, startDaemonProcess, stopDaemonProcess, type DaemonProcess } from '../simulations/lib/daemons.js'
import { newKey, openSegment, sealSegment } from '../src/files/cipher.js'
import { fileBenchArgs } from './lib/args.js'
import { blake3File, writeRandomFile } from './lib/input.js'
import { median } from '../simulations/lib/stats.js'

const args = fileBenchArgs({ rounds: 3, maxSizeMiB: 65536, maxRounds: 20, private: true })
const { sizeMiB, rounds } = args

const RSS = fileURLToPath(new URL('./lib/report-rss.cjs', import.meta.url))
const MiB = 1024 * 1024
/** Bound on one CLI step against a daemon (a fetch of the largest --size on a loaded machine). */
const STEP_TIMEOUT_MS = 30 * 60_000
/** Bound on a daemon's start: the default 15 s is too short on a machine others load. */
const DAEMON_START_MS = 90_000
const SMALL_FILES = 1000
const SMALL_FILE_BYTES = 4096
const log = (s: string): void => { if (!args.json) process.stderr.write(s + '\n') }

const dir = mkdtempSync(join(tmpdir(), 'peerlink-bench-files-'))
try {
  const input = join(dir, 'input.bin')
  writeRandomFile(input, sizeMiB * MiB)
  const bytes = statSync(input).size

  /** One CLI step in its own process: its seconds, CPU seconds and peak RSS; stdout into `out` when given. */
  const run = (argv: string[], out?: string): { seconds: number, cpu: number, rss: number, stdout: string } => {
    const rssFile = join(dir, 'rss')
    const cpuFile = join(dir, 'cpu')
    const fd = out === undefined ? undefined : openSync(out, 'w')
    try {
      const t0 = process.hrtime.bigint()
      const r = spawnSync(process.execPath, ['--require', RSS, CLI, ...argv], { env: { ...process.env, PEERLINK_RSS_FILE: rssFile, PEERLINK_CPU_FILE: cpuFile }, encoding: 'utf8', maxBuffer: 16 * MiB, stdio: ['ignore', fd ?? 'pipe', 'pipe'] })
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9
      if (r.status !== 0) throw new Error(`peerlink ${argv.join(' ')} failed: ${r.stderr}`)
      return { seconds, cpu: Number(readFileSync(cpuFile, 'utf8')), rss: Number(readFileSync(rssFile, 'utf8')), stdout: r.stdout ?? '' }
    } finally {
      if (fd !== undefined) closeSync(fd)
    }
  }
  /** `cp` of the input, the reference: timed as the CLI's steps are, without a sync of its own. */
  const copy = (to: string): number => {
    const t0 = process.hrtime.bigint()
    execFileSync('cp', [input, to])
    return bytes / (Number(process.hrtime.bigint() - t0) / 1e9) / 1e6
  }
  const inputHash = await blake3File(input)

  const imp: number[] = []
  const exp: number[] = []
  const fetched: number[] = []
  const privImp: number[] = []
  const privExp: number[] = []
  /** CPU seconds of each add and fetch, public and private: [add, fetch] per round. */
  const cpuPub: Array<[number, number]> = []
  const cpuPriv: Array<[number, number]> = []
  const cp: number[] = []
  let importRss = 0
  let exportRss = 0
  let fetchRss = 0
  /**
   * One add in a fresh repo, then the same fetch for public and private: a daemon on that repo
   * provides, a fresh daemon fetches by the provider's share link (`fetch <link> -o`, the key
   * in it for a private root), so both fetches store every block and write the whole output.
   * The public round also exports the file from the adding repo (`cat` into a file) and copies
   * the input with `cp` beside the add and the export (which of the two first alternates by
   * round), each after a sync, so that the three write into the page cache alike.
   */
  const roundTrip = async (name: string, addArgs: string[], r: number): Promise<{ imp: number, fetch: number, cpu: [number, number], importRss: number, fetchRss: number, local?: { exp: number, cp: number, exportRss: number } }> => {
    const repo = join(dir, `repo-${name}`)
    const copied = join(dir, `cp-${name}.bin`)
    await initDaemonRepo(repo)
    const reference = addArgs.length === 0
    let cpMbps = 0
    if (reference && r % 2 === 0) { execFileSync('sync'); cpMbps = copy(copied) }
    execFileSync('sync')
    const a = run(['--repo', repo, 'add', '--json', ...addArgs, input])
    const [entry] = JSON.parse(a.stdout) as Array<{ cid: string }>
    let cat: ReturnType<typeof run> | undefined
    if (reference) {
      const catOut = join(dir, `cat-${name}.bin`)
      execFileSync('sync')
      cat = run(['--repo', repo, 'cat', entry.cid], catOut)
      if (await blake3File(catOut) !== inputHash) throw new Error('cat wrote other bytes than the input')
      if (r % 2 === 1) { execFileSync('sync'); cpMbps = copy(copied) }
      rmSync(catOut, { force: true })
      rmSync(copied, { force: true })
    }
    const out = join(dir, `out-${name}.bin`)
    const f = await fetchByLink(repo, join(dir, `repo-${name}-fetcher`), entry.cid, out)
    if (await blake3File(out) !== inputHash) throw new Error('fetched file differs from the input')
    rmSync(repo, { recursive: true, force: true })
    rmSync(join(dir, `repo-${name}-fetcher`), { recursive: true, force: true })
    rmSync(out, { force: true })
    const local = cat === undefined ? undefined : { exp: bytes / cat.seconds / 1e6, cp: cpMbps, exportRss: cat.rss }
    return { imp: bytes / a.seconds / 1e6, fetch: bytes / f.seconds / 1e6, cpu: [a.cpu, f.cpu], importRss: a.rss, fetchRss: f.rss, local }
  }
  const privateTrip = async (r: number): Promise<void> => {
    const priv = await roundTrip(`${r}-private`, ['--private'], r)
    privImp.push(priv.imp)
    privExp.push(priv.fetch)
    cpuPriv.push(priv.cpu)
    log(`round ${r + 1}: private add ${priv.imp.toFixed(0)} MB/s, fetch ${priv.fetch.toFixed(0)} MB/s`)
  }
  for (let r = 0; r < rounds; r++) {
    // Private first in every other round, so neither kind always meets the disk cache warmer.
    if (args.private && r % 2 === 1) await privateTrip(r)
    const pub = await roundTrip(`${r}`, [], r)
    if (pub.local === undefined) throw new Error('the public round made no cat and cp')
    imp.push(pub.imp)
    exp.push(pub.local.exp)
    cp.push(pub.local.cp)
    fetched.push(pub.fetch)
    cpuPub.push(pub.cpu)
    importRss = Math.max(importRss, pub.importRss)
    exportRss = Math.max(exportRss, pub.local.exportRss)
    fetchRss = Math.max(fetchRss, pub.fetchRss)
    if (args.private && r % 2 === 0) await privateTrip(r)
    log(`round ${r + 1}: add ${imp.at(-1)?.toFixed(0)} MB/s, cat ${exp.at(-1)?.toFixed(0)} MB/s, cp ${cp.at(-1)?.toFixed(0)} MB/s, fetch ${fetched.at(-1)?.toFixed(0)} MB/s`)
  }

  // Small files: what the repo holds for the directory's root (add's own count) and the
  // repo's blocks directory on disk (LevelDB's index with its log, for context), each over
  // the bytes of the files.
  const tree = join(dir, 'small')
  mkdirSync(tree)
  for (let i = 0; i < SMALL_FILES; i++) writeFileSync(join(tree, `f${String(i).padStart(4, '0')}`), randomBytes(SMALL_FILE_BYTES))
  const smallRepo = join(dir, 'repo-small')
  run(['--repo', smallRepo, 'init'])
  const [small] = JSON.parse(run(['--repo', smallRepo, 'add', '-r', '--json', tree]).stdout) as Array<{ size: number, stored: number }>
  const smallOnDisk = Number(execFileSync('du', ['-sb', join(smallRepo, 'blocks')]).toString().split('\t')[0])
  log(`small files: ${SMALL_FILES} of ${SMALL_FILE_BYTES} bytes stored in ${small.stored} bytes, ${smallOnDisk} on disk`)

  const result = {
    size_mb: bytes / 1e6,
    import_mbps: median(imp),
    export_mbps: median(exp),
    import_peak_rss_mb: importRss / 1e6,
    export_peak_rss_mb: exportRss / 1e6,
    cp_mbps: median(cp),
    import_ratio_vs_cp: median(imp) / median(cp),
    export_ratio_vs_cp: median(exp) / median(cp),
    fetch_mbps: median(fetched),
    fetch_peak_rss_mb: fetchRss / 1e6,
    rounds,
    small_files_overhead: small.stored / small.size,
    small_files_disk_overhead: smallOnDisk / small.size,
    ...(args.private ? privateFigures(median(imp), median(fetched), median(privImp), median(privExp)) : {}),
    // Public CPU seconds over private ones: the same ratio as the speeds on an idle machine.
    ...(args.private
      ? {
          private_import_cpu_ratio_vs_public: median(cpuPub.map(c => c[0])) / median(cpuPriv.map(c => c[0])),
          private_export_cpu_ratio_vs_public: median(cpuPub.map(c => c[1])) / median(cpuPriv.map(c => c[1]))
        }
      : {})
  }
  if (args.json) process.stdout.write(JSON.stringify(result) + '\n')
  else {
    process.stdout.write(`${sizeMiB} MiB file, median of ${rounds} rounds, each step in its own process\n`)
    process.stdout.write(`  add    ${result.import_mbps.toFixed(0).padStart(6)} MB/s  ${result.import_ratio_vs_cp.toFixed(2)}× cp, peak RSS ${result.import_peak_rss_mb.toFixed(0)} MB   (target: >= 0.6× cp)\n`)
    process.stdout.write(`  cat    ${result.export_mbps.toFixed(0).padStart(6)} MB/s  ${result.export_ratio_vs_cp.toFixed(2)}× cp, peak RSS ${result.export_peak_rss_mb.toFixed(0)} MB   (target: >= 0.8× cp)\n`)
    process.stdout.write(`  cp     ${result.cp_mbps.toFixed(0).padStart(6)} MB/s  (reference: the same bytes copied on the same disk)\n`)
    process.stdout.write(`  fetch  ${result.fetch_mbps.toFixed(0).padStart(6)} MB/s  peak RSS ${result.fetch_peak_rss_mb.toFixed(0)} MB   (by link from a daemon through another, into a file)\n`)
    if (args.private) {
      const p = result as typeof result & ReturnType<typeof privateFigures> & Record<'private_import_cpu_ratio_vs_public' | 'private_export_cpu_ratio_vs_public', number>
      process.stdout.write(`  private add   ${p.private_import_mbps.toFixed(0).padStart(6)} MB/s  ${p.private_import_ratio_vs_public.toFixed(2)}× the public add,   ${p.private_import_cpu_ratio_vs_public.toFixed(2)}× per CPU-second (target: >= 0.85×)\n`)
      process.stdout.write(`  private fetch ${p.private_export_mbps.toFixed(0).padStart(6)} MB/s  ${p.private_export_ratio_vs_public.toFixed(2)}× the public fetch, ${p.private_export_cpu_ratio_vs_public.toFixed(2)}× per CPU-second (target: >= 0.85×)\n`)
      process.stdout.write(`  cipher  seal ${p.cipher_gbps_one_core.toFixed(2)} GB/s, open ${p.cipher_open_gbps_one_core.toFixed(2)} GB/s on one core (AES-256-GCM, 1 MiB segments)\n`)
    }
    process.stdout.write(`  small  ${result.small_files_overhead.toFixed(2).padStart(6)}×     stored for ${SMALL_FILES} files of ${SMALL_FILE_BYTES / 1024} KiB, ${result.small_files_disk_overhead.toFixed(2)}× on disk (target: <= 2×)\n`)
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}

/**
 * Serves `repo` from a daemon and fetches `root` into `output` through a second daemon on
 * `fetcherRepo`, by the provider's share link; the seconds of the CLI's fetch and the fetching
 * daemon's CPU seconds and peak RSS. PEERLINK_BENCH_CPU_PROF=<dir> profiles the fetching daemon.
 */
async function fetchByLink (repo: string, fetcherRepo: string, root: string, output: string): Promise<{ seconds: number, cpu: number, rss: number }> {
  const started: DaemonProcess[] = []
  try {
    const provider = await startDaemonProcess(repo, { timeoutMs: DAEMON_START_MS })
    started.push(provider)
    const profile = process.env.PEERLINK_BENCH_CPU_PROF
    const fetcher = await startDaemonProcess(fetcherRepo, { timeoutMs: DAEMON_START_MS, bootstrap: provider.dialable, nodeArgs: profile !== undefined ? ['--cpu-prof', '--cpu-prof-dir', profile] : [] })
    started.push(fetcher)
    const { ticket } = JSON.parse(await cli(provider, 'share', root, '--json')) as { ticket: string }
    const pid = fetcher.child.pid as number
    const before = processCost(pid)
    const t0 = process.hrtime.bigint()
    await cli(fetcher, 'fetch', ticket, '-o', output, '--json')
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9
    return { seconds, cpu: processCost(pid).cpuSeconds - before.cpuSeconds, rss: peakRss(pid) }
  } finally {
    await Promise.all(started.map(async d => { await stopDaemonProcess(d) }))
  }
}

async function cli (d: DaemonProcess, ...argv: string[]): Promise<string> {
  const r = await runCli(['--repo', d.repo, ...argv], {}, STEP_TIMEOUT_MS)
  if (r.code !== 0) throw new Error(`peerlink ${argv.join(' ')} failed (${String(r.code)}): ${r.stderr}`)
  return r.stdout
}

/** The private round trips against the public ones, and the cipher alone on one core. */
function privateFigures (pubImp: number, pubExp: number, privImp: number, privExp: number): Record<'private_import_mbps' | 'private_export_mbps' | 'private_import_ratio_vs_public' | 'private_export_ratio_vs_public' | 'cipher_gbps_one_core' | 'cipher_open_gbps_one_core', number> {
  const key = newKey()
  const segment = randomBytes(MiB - 16)
  // 256 MiB each way, holding no more segments than an import or export does (a stripe's).
  const segments = 256
  const held = 10
  const sealed: Uint8Array[] = []
  let t0 = process.hrtime.bigint()
  for (let i = 0; i < segments; i++) sealed[i % held] = sealSegment(key, i, false, segment)
  const seal = segments * segment.byteLength / (Number(process.hrtime.bigint() - t0) / 1e9) / 1e9
  t0 = process.hrtime.bigint()
  for (let i = 0; i < segments; i++) {
    const j = segments - held + (i % held) // the last `held` sealed, each opened in turn
    if (openSegment(key, j, false, sealed[j % held]) === undefined) throw new Error('a sealed segment did not open')
  }
  const open = segments * segment.byteLength / (Number(process.hrtime.bigint() - t0) / 1e9) / 1e9
  return {
    private_import_mbps: privImp,
    private_export_mbps: privExp,
    private_import_ratio_vs_public: privImp / pubImp,
    private_export_ratio_vs_public: privExp / pubExp,
    cipher_gbps_one_core: seal,
    cipher_open_gbps_one_core: open
  }
}
