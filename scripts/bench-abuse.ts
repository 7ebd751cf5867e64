// An honest fetch from a daemon under attack, against the same fetch with no attack, in one run:
//
//   npm run bench:abuse -- [--json] [--size MiB] [--attack have|unread|blocks|all] [--after s]
//                          [--from IP] [--arenas N]
//
// A provider daemon (its own process) adds a file of --size MiB (default 64); its
// network.allow holds 127.0.0.1 alone. Reference: a fresh daemon fetches it with nobody else
// asking (after one fetch to warm the provider up), from 127.0.0.1, an allowed address. Then
// the same fetch, from another fresh daemon, while (a) 1 and (b) 16 fresh identities, each on
// 16 streams, all dialling from --from (default 127.0.0.2, outside the allow-list; 127.0.0.1
// puts them on it), abuse the provider (scripts/lib/abuse-peers.ts): `have` asks which of 4,096 CIDs it holds in a loop,
// `unread` asks for 200 blocks per stream and reads nothing, `blocks` asks for blocks in a
// loop and reads them. Each attack starts 2 s before the fetch and stops when it ends.
// Printed: the fetch time under each attack over the reference
// (`honest_fetch_ratio_<attack>_<1|16>`, target <= 2), the provider's VmRSS in MB before the
// attacks, at its highest during each, and --after seconds (default 60) after the last
// (targets: during <= baseline + the 256 MiB buffer bound + 100 MB; after <= baseline + 100 MB),
// with its JS heap, external and array-buffer memory (process.memoryUsage, sampled inside it
// by lib/report-memory.cjs) at the baseline and after. --arenas N runs the provider with
// MALLOC_ARENA_MAX=N (glibc's malloc arenas). The 1-minute load average before and after.
// Last, a tree that claims 1 MiB and holds 50 MiB is exported in this process: the bytes of
// file data read for the output before the refusal (target <= 1 MiB + one block).
import '../src/polyfill.js'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { setTimeout as sleep } from 'node:timers/promises'
import { runCli } from '../simulations/lib/cli.js'
import { startDaemonProcess, stopDaemonProcess, type DaemonProcess } from '../simulations/lib/daemons.js'
import { round } from '../simulations/lib/stats.js'
import { startAttack, type AttackKind, type AttackTarget } from './lib/abuse-peers.js'
import { treeWrittenBeforeRefusal } from './lib/tree-bomb.js'
import { blake3File, writeRandomFile } from './lib/input.js'
import { DEFAULT_CHUNK_SIZE } from '../src/files/format.js'
import { cidOf } from '../src/hash/index.js'
import { parseTarget } from '../src/node/ticket.js'

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    size: { type: 'string', default: '64' },
    attack: { type: 'string', default: 'all' },
    after: { type: 'string', default: '60' },
    from: { type: 'string', default: '127.0.0.2' },
    arenas: { type: 'string' }
  }
})
if (!/^127\.\d+\.\d+\.\d+$/.test(values.from)) throw new Error('--from is a loopback IPv4 address, such as 127.0.0.2')
if (values.arenas !== undefined && !/^[1-9]\d{0,2}$/.test(values.arenas)) throw new Error('--arenas is a count, 1..999')
const sizeMiB = Number(values.size)
const afterSeconds = Number(values.after)
if (!Number.isInteger(sizeMiB) || sizeMiB < 1 || sizeMiB > 1024) throw new Error('--size is MiB, 1..1024')
if (!Number.isInteger(afterSeconds) || afterSeconds < 0 || afterSeconds > 600) throw new Error('--after is seconds, 0..600')
const ATTACKS: AttackKind[] = ['have', 'unread', 'blocks']
const attacks = values.attack === 'all' ? ATTACKS : [values.attack as AttackKind]
if (!attacks.every(a => ATTACKS.includes(a))) throw new Error(`--attack is one of ${ATTACKS.join(', ')} or all`)

const MiB = 1024 * 1024
const MB = 1e6
const STEP_TIMEOUT = 5 * 60_000
const log = (s: string): void => { if (values.json !== true) process.stderr.write(s + '\n') }
const dir = mkdtempSync(join(tmpdir(), 'peerlink-bench-abuse-'))
const daemons = new Set<DaemonProcess>()
const MEMORY = fileURLToPath(new URL('./lib/report-memory.cjs', import.meta.url))
const memoryFile = join(dir, 'provider-memory.json')
/** The only address on the provider's allow-list: the honest fetchers dial from it. */
const ALLOWED = '/ip4/127.0.0.1/ipcidr/32'

/** The resident set of a running process now (VmRSS), in bytes. */
function rss (pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m === null ? 0 : Number(m[1]) * 1024
}

/** The provider's process.memoryUsage() as it last wrote it, in MB. */
function memory (): { heap_used: number, external: number, array_buffers: number } {
  if (!existsSync(memoryFile)) return { heap_used: 0, external: 0, array_buffers: 0 }
  const m = JSON.parse(readFileSync(memoryFile, 'utf8')) as NodeJS.MemoryUsage
  return { heap_used: round(m.heapUsed / MB, 1), external: round(m.external / MB, 1), array_buffers: round(m.arrayBuffers / MB, 1) }
}

async function daemon (name: string): Promise<DaemonProcess> {
  const d = await startDaemonProcess(join(dir, name))
  daemons.add(d)
  return d
}

/** The provider: its allow-list narrowed to ALLOWED, its memory sampled from inside. */
async function providerDaemon (): Promise<DaemonProcess> {
  const repo = join(dir, 'provider')
  const init = await runCli(['--repo', repo, 'init', '--listen', '/ip4/127.0.0.1/tcp/0', '--api', '127.0.0.1:0'])
  if (init.code !== 0) throw new Error(`peerlink init failed (${String(init.code)}): ${init.stderr}`)
  for (const [key, value] of [['network.allow', ALLOWED], ['gateway.address', '127.0.0.1:0']]) {
    const set = await runCli(['--repo', repo, 'config', 'set', key, value])
    if (set.code !== 0) throw new Error(`peerlink config set ${key} failed (${String(set.code)}): ${set.stderr}`)
  }
  const env: NodeJS.ProcessEnv = { PEERLINK_MEMORY_FILE: memoryFile }
  if (values.arenas !== undefined) env.MALLOC_ARENA_MAX = values.arenas
  const d = await startDaemonProcess(repo, { nodeArgs: ['--require', MEMORY], env })
  daemons.add(d)
  return d
}

async function cli (d: DaemonProcess, ...argv: string[]): Promise<string> {
  const r = await runCli(['--repo', d.repo, ...argv], {}, STEP_TIMEOUT)
  if (r.code !== 0) throw new Error(`peerlink ${argv.join(' ')} failed (${String(r.code)}): ${r.stderr}`)
  return r.stdout
}

/** One honest fetch by a fresh daemon, checked against the input: seconds. */
async function honestFetch (ticket: string, inputHash: string, name: string, during?: () => Promise<void>): Promise<number> {
  const fetcher = await daemon(name)
  try {
    await during?.()
    const output = join(dir, `${name}.out`)
    const t0 = process.hrtime.bigint()
    await cli(fetcher, 'fetch', ticket, '-o', output, '--json')
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9
    if (await blake3File(output) !== inputHash) throw new Error(`the file fetched in ${name} differs from the input`)
    rmSync(output)
    return seconds
  } finally {
    await stopDaemonProcess(fetcher)
    daemons.delete(fetcher)
    rmSync(fetcher.repo, { recursive: true, force: true })
  }
}

async function cleanup (): Promise<void> {
  await Promise.all([...daemons].map(async d => { await stopDaemonProcess(d) }))
  rmSync(dir, { recursive: true, force: true })
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => { void cleanup().then(() => process.exit(130)) })

try {
  const input = join(dir, 'input.bin')
  writeRandomFile(input, sizeMiB * MiB)
  const inputHash = await blake3File(input)
  const bytes = readFileSync(input)
  const blocks = Array.from({ length: Math.ceil(bytes.length / DEFAULT_CHUNK_SIZE) }, (_, i) => cidOf(bytes.subarray(i * DEFAULT_CHUNK_SIZE, (i + 1) * DEFAULT_CHUNK_SIZE)).bytes)
  const provider = await providerDaemon()
  const pid = provider.child.pid as number
  const [entry] = JSON.parse(await cli(provider, 'add', '--json', input)) as Array<{ ticket: string }>
  const target: AttackTarget = { address: provider.dialable[0], root: parseTarget(entry.ticket).root.bytes, blocks, from: values.from }

  await honestFetch(entry.ticket, inputHash, 'warm-up') // the provider's first serve reads cold
  const reference = await honestFetch(entry.ticket, inputHash, 'reference')
  log(`reference: ${sizeMiB} MiB in ${reference.toFixed(2)} s with no attack`)
  await sleep(2000)
  const result: Record<string, number | string> = { size_mib: sizeMiB, attackers_from: values.from, malloc_arena_max: values.arenas ?? 'default', load_avg_1m_start: round(loadavg()[0], 2), reference_fetch_s: round(reference, 2), rss_baseline_mb: round(rss(pid) / MB, 1) }
  for (const [k, v] of Object.entries(memory())) result[`${k}_baseline_mb`] = v
  for (const kind of attacks) {
    let peak = 0
    for (const identities of [1, 16]) {
      let attack: Awaited<ReturnType<typeof startAttack>> | undefined
      const sampler = setInterval(() => { peak = Math.max(peak, rss(pid)) }, 100)
      try {
        const seconds = await honestFetch(entry.ticket, inputHash, `${kind}-${identities}`, async () => {
          attack = await startAttack(kind, identities, target)
          await sleep(2000)
        })
        result[`honest_fetch_ratio_${kind}_${identities}`] = round(seconds / reference, 2)
        log(`${kind}, ${identities} identit${identities === 1 ? 'y' : 'ies'}: ${seconds.toFixed(2)} s, ${(seconds / reference).toFixed(2)}x the reference; ${attack?.ended() ?? 0} attacking streams ended by the provider`)
      } finally {
        clearInterval(sampler)
        await attack?.stop()
      }
    }
    result[`rss_during_${kind}_mb`] = round(peak / MB, 1)
    log(`${kind}: provider RSS at most ${(peak / MB).toFixed(0)} MB`)
  }
  log(`waiting ${afterSeconds} s after the last attack`)
  await sleep(afterSeconds * 1000)
  result[`rss_after_${afterSeconds}s_mb`] = round(rss(pid) / MB, 1)
  for (const [k, v] of Object.entries(memory())) result[`${k}_after_mb`] = v
  result.load_avg_1m_end = round(loadavg()[0], 2)
  result.tree_bytes_before_refusal = await treeWrittenBeforeRefusal(dir)
  if (values.json === true) {
    process.stdout.write(JSON.stringify(result) + '\n')
  } else {
    for (const [k, v] of Object.entries(result)) console.log(`  ${k.padEnd(36)} ${v}`)
    console.log(`  targets: ratios <= 2; rss_during <= ${result.rss_baseline_mb} + 268 + 100 MB; rss_after <= ${result.rss_baseline_mb} + 100 MB; tree <= ${MiB + DEFAULT_CHUNK_SIZE} bytes`)
  }
} finally {
  await cleanup()
}
