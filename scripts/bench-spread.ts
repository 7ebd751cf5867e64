// Spreading over holders on 127.0.0.1, with real daemons:
//
//   npm run bench:spread -- [--json] [--size MiB] [--rounds N]
//
//   (a) `peerlink add --spread` of one file (default 1 GiB; k = 4, m = 2) on an owner daemon
//       with 11 holder daemons offering space: the spread's time, and the bytes the owner's
//       exchange sent against (k + m) / k × size (each block sent once);
//   (b) m holders of every stripe stopped (as many holders as leave every stripe at least k
//       blocks and every DAG node a copy): the owner's repair rounds (every 2 s) place the
//       lost blocks on live holders; time until `status --json` says healthy, blocks placed
//       anew and the bytes sent per placed block.
//
// Each figure is the median of --rounds runs; every run uses fresh repos.
import '../src/polyfill.js'
import { mkdtempSync, rmSync, statfsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCli } from '../simulations/lib/cli.js'
import { startDaemonProcess, stopDaemonProcess, type DaemonProcess } from '../simulations/lib/daemons.js'
import { median, round } from '../simulations/lib/stats.js'
import { fileBenchArgs } from './lib/args.js'
import { writeRandomFile } from './lib/input.js'

const args = fileBenchArgs({ rounds: 1, maxSizeMiB: 4096, maxRounds: 5 })
const { sizeMiB, rounds } = args
const MiB = 1024 * 1024
const K = 4
const M = 2
const HOLDERS = 11
const REPAIR_INTERVAL = 2000
const HEALTHY_TIMEOUT = 15 * 60_000
const log = (s: string): void => { if (!args.json) process.stderr.write(s + '\n') }

// The input, the owner's repo and the holders' (content and parity each), and the repairs.
const diskNeeded = sizeMiB * MiB * (1 + 2 * (K + M) / K + 1)
const fsInfo = statfsSync(tmpdir())
if (fsInfo.bavail * fsInfo.bsize < diskNeeded) throw new Error(`bench:spread needs about ${(diskNeeded / 1e9).toFixed(1)} GB free under ${tmpdir()}`)

interface Run { spreadS: number, bytesSent: number, expectedBytes: number, distinct: number, killed: number, healthyS: number, repairedBlocks: number, bytesPerBlock: number }

async function cli (argv: string[]): Promise<string> {
  const r = await runCli(argv, {}, HEALTHY_TIMEOUT)
  if (r.code !== 0) throw new Error(`peerlink ${argv.slice(2).join(' ')} failed (${String(r.code)}): ${r.stderr}`)
  return r.stdout
}

async function startNetwork (dir: string): Promise<{ owner: DaemonProcess, holders: DaemonProcess[] }> {
  const ownerRepo = join(dir, 'owner')
  await cli(['--repo', ownerRepo, 'init', '--listen', '/ip4/127.0.0.1/tcp/0', '--api', '127.0.0.1:0'])
  await cli(['--repo', ownerRepo, 'config', 'set', 'gateway.address', 'off'])
  await cli(['--repo', ownerRepo, 'config', 'set', 'storage.repairInterval', String(REPAIR_INTERVAL)])
  const owner = await startDaemonProcess(ownerRepo)
  const holders: DaemonProcess[] = []
  for (let i = 0; i < HOLDERS; i++) {
    const repo = join(dir, `holder${i}`)
    await cli(['--repo', repo, 'init', '--listen', '/ip4/127.0.0.1/tcp/0', '--api', '127.0.0.1:0', '--offer', `${sizeMiB}MiB`, '--bootstrap', owner.dialable[0]])
    await cli(['--repo', repo, 'config', 'set', 'gateway.address', 'off'])
    holders.push(await startDaemonProcess(repo))
  }
  return { owner, holders }
}

/** Holders to stop: as many as leave each stripe k blocks and each DAG node one copy. */
function chooseVictims (spread: { stripes: Array<{ holders: string[] }>, nodes: Array<{ holders: string[] }> }, holders: string[]): string[] {
  const lost = spread.stripes.map(() => 0)
  const copies = spread.nodes.map(n => n.holders.length)
  const out: string[] = []
  for (const h of holders) {
    const s = spread.stripes.map((x, i) => x.holders.includes(h) ? i : -1).filter(i => i >= 0)
    const n = spread.nodes.map((x, i) => x.holders.includes(h) ? i : -1).filter(i => i >= 0)
    if (s.some(i => lost[i] + 1 > M) || n.some(i => copies[i] <= 1)) continue
    for (const i of s) lost[i]++
    for (const i of n) copies[i]--
    out.push(h)
  }
  return out
}

async function oneRun (): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'peerlink-bench-spread-'))
  const all: DaemonProcess[] = []
  try {
    const { owner, holders } = await startNetwork(dir)
    all.push(owner, ...holders)
    const input = join(dir, 'input.bin')
    writeRandomFile(input, sizeMiB * MiB)
    log(`adding and spreading ${sizeMiB} MiB over ${HOLDERS} holders`)
    const out = JSON.parse(await cli(['--repo', owner.repo, 'add', '--spread', '--json', '-k', String(K), '-m', String(M), input]))[0]
    const spread = out.spread
    const expectedBytes = sizeMiB * MiB * (K + M) / K
    const victims = chooseVictims(spread, holders.map(h => h.info.peerId))
    log(`stopping ${victims.length} holders`)
    for (const h of holders.filter(x => victims.includes(x.info.peerId))) await stopDaemonProcess(h)
    const started = Date.now()
    let status: { health: string, repairs: Array<{ blocks: number, bytesSent: number }> }
    do {
      await new Promise(resolve => setTimeout(resolve, 500))
      status = JSON.parse(await cli(['--repo', owner.repo, 'status', '--json', out.cid]))
      if (Date.now() - started > HEALTHY_TIMEOUT) throw new Error('not healthy again within the bound')
    } while (status.health !== 'healthy')
    const healthyS = (Date.now() - started) / 1000
    // The round that repaired is recorded once its last HOLD is answered, a moment after.
    for (let i = 0; i < 60 && status.repairs.length === 0; i++) {
      await new Promise(resolve => setTimeout(resolve, 500))
      status = JSON.parse(await cli(['--repo', owner.repo, 'status', '--json', out.cid]))
    }
    const blocks = status.repairs.reduce((a, r) => a + r.blocks, 0)
    const bytes = status.repairs.reduce((a, r) => a + r.bytesSent, 0)
    return {
      spreadS: spread.ms / 1000,
      bytesSent: spread.bytesSent,
      expectedBytes,
      distinct: spread.distinct,
      killed: victims.length,
      healthyS,
      repairedBlocks: blocks,
      bytesPerBlock: blocks === 0 ? 0 : bytes / blocks
    }
  } finally {
    await Promise.all(all.map(async d => await stopDaemonProcess(d).catch(() => null)))
    rmSync(dir, { recursive: true, force: true })
  }
}

const runs: Run[] = []
for (let r = 0; r < rounds; r++) runs.push(await oneRun())
const med = (f: (r: Run) => number): number => round(median(runs.map(f)), 3)
const result = {
  sizeMiB,
  k: K,
  m: M,
  holders: HOLDERS,
  spreadSeconds: med(r => r.spreadS),
  bytesSent: med(r => r.bytesSent),
  bytesTarget: med(r => r.expectedBytes),
  sentOverTarget: round(median(runs.map(r => r.bytesSent / r.expectedBytes)), 5),
  distinct: med(r => r.distinct),
  holdersStopped: med(r => r.killed),
  secondsToHealthy: med(r => r.healthyS),
  repairedBlocks: med(r => r.repairedBlocks),
  bytesPerRepairedBlock: med(r => r.bytesPerBlock)
}
if (args.json) console.log(JSON.stringify(result, null, 2))
else {
  console.log(`spread ${sizeMiB} MiB (k=${K}, m=${M}) over ${HOLDERS} holders: ${result.spreadSeconds} s, ${(result.bytesSent / MiB).toFixed(1)} MiB sent = ${result.sentOverTarget}× (k+m)/k × size; every stripe on ${result.distinct} distinct holders`)
  console.log(`repair after stopping ${result.holdersStopped} holders (m per stripe): healthy in ${result.secondsToHealthy} s, ${result.repairedBlocks} blocks placed anew, ${(result.bytesPerRepairedBlock / MiB).toFixed(3)} MiB sent per block`)
}
