// An honest fetch from a daemon under attack, against the same fetch with no attack, in one run:
//
//   npm run bench:abuse -- [--json] [--size MiB] [--attack have|unread|blocks|all] [--after s]
//
// A provider daemon (its own process) adds a file of --size MiB (default 64). Reference: a
// fresh daemon fetches it with nobody else asking (after one fetch to warm the provider up). Then the same fetch, from another fresh
// daemon, while (a) 1 and (b) 16 fresh identities, each on 16 streams, abuse the provider
// (scripts/lib/abuse-peers.ts): `have` asks which of 4,096 CIDs it holds in a loop,
// `unread` asks for 200 blocks per stream and reads nothing, `blocks` asks for blocks in a
// loop and reads them. Each attack starts 2 s before the fetch and stops when it ends.
// Printed: the fetch time under each attack over the reference
// (`honest_fetch_ratio_<attack>_<1|16>`, target <= 2), the provider's VmRSS in MB before the
// attacks, at its highest during each, and --after seconds (default 60) after the last
// (targets: during <= baseline + the 256 MiB buffer bound + 100 MB; after <= baseline + 100 MB).
// Last, a tree that claims 1 MiB and holds 50 MiB is exported in this process: the bytes of
// file data read for the output before the refusal (target <= 1 MiB + one block).
import '../src/polyfill.js'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
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
    after: { type: 'string', default: '60' }
  }
})
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

/** The resident set of a running process now (VmRSS), in bytes. */
function rss (pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m === null ? 0 : Number(m[1]) * 1024
}

async function daemon (name: string): Promise<DaemonProcess> {
  const d = await startDaemonProcess(join(dir, name))
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
  const provider = await daemon('provider')
  const pid = provider.child.pid as number
  const [entry] = JSON.parse(await cli(provider, 'add', '--json', input)) as Array<{ ticket: string }>
  const target: AttackTarget = { address: provider.dialable[0], root: parseTarget(entry.ticket).root.bytes, blocks }

  await honestFetch(entry.ticket, inputHash, 'warm-up') // the provider's first serve reads cold
  const reference = await honestFetch(entry.ticket, inputHash, 'reference')
  log(`reference: ${sizeMiB} MiB in ${reference.toFixed(2)} s with no attack`)
  await sleep(2000)
  const result: Record<string, number> = { size_mib: sizeMiB, reference_fetch_s: round(reference, 2), rss_baseline_mb: round(rss(pid) / MB, 1) }
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
