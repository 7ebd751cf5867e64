// capped: multi-source speed where it matters, over slow uplinks.
//
// Every node is a `peerlink daemon` process in its own network namespace on one bridge. Each
// provider's uplink is capped at RATE_MBIT by `tc tbf`; the fetcher's is not. The providers
// are added one by one (each adds the same file, so each holds it whole); for N = 1, 2, 4, 8
// … a fresh fetcher (new repo, new identity) fetches the file by CID through the DHT, to a
// file checked byte for byte, ROUNDS times, and the median throughput is compared with the
// ideal N × R, bounded by what this fetcher reaches from one provider with no cap (measured
// first, in the same run). Then all of them with the first one's cap lifted: one fast provider
// among slow ones must be no slower than it alone. Last, all of them with no cap at all: what
// this machine's cores carry from that many daemons, beside the capped figure (no target; it
// shows when the machine, not the links, is the limit). Each provider's bytes credited by the fetch
// and bytes sent on its interface are kept, so duplicate sends show, and when it joined each
// fetch, so a late discovery shows. Needs Linux, root, iproute2 and tc.
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { CLI } from '../../lib/cli.js'
import { Lab } from '../../lib/lab.js'
import { skipped, type Scenario, type ScenarioContext } from '../../lib/scenario.js'
import { machineCpu, processCost, runDelay } from '../../lib/daemons.js'
import { median, round } from '../../lib/stats.js'
import { CappedNetwork } from './network.js'
import { MODE_LABELS, report, runLine, type Run } from './report.js'

/** Each provider's uplink, Mbit/s. */
export const RATE_MBIT = 50
const COUNTS = [1, 2, 4, 8, 16]

export const capped: Scenario = {
  name: 'capped',
  description: `one file from 1 to 8 providers, each uplink capped at ${RATE_MBIT} Mbit/s (namespaces, tc tbf): throughput against N × R`,
  nodes: { default: 8, quick: 2, min: 1, max: 16 },
  timeLimit: { quick: 180_000, full: 1_200_000 },
  async run (ctx) {
    const opened = await Lab.open(ctx.defer)
    if ('skipped' in opened) return skipped(opened.skipped)
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build PeerLink first (npm run build:ts)`)
    const net = await CappedNetwork.make(opened.lab, opened.bridge, ctx.nodes, ctx.dir)
    if (typeof net === 'string') return skipped(net)
    const size = (ctx.quick ? 16 : 96) * 1024 * 1024
    const rounds = ctx.quick ? 1 : 3
    const input = join(ctx.dir, 'capped.bin')
    const bytes = ctx.rng.bytes(size)
    await writeFile(input, bytes)
    const file = { path: input, size, digest: createHash('sha256').update(bytes).digest('hex'), cid: '' }
    const runs: Run[] = []
    const counts = [...new Set([...COUNTS.filter(c => c < ctx.nodes), ctx.nodes])]
    for (const n of counts) {
      await addProviders(ctx, net, file, n)
      // The reference: the same fetch from the first provider with its cap lifted.
      if (n === 1) runs.push(await measure(ctx, net, file, 1, rounds, 'uncapped'))
      runs.push(await measure(ctx, net, file, n, rounds, 'capped'))
    }
    // One fast provider (the reference's, uncapped) among slow ones: no slower than it alone.
    if (ctx.nodes > 1) runs.push(await measure(ctx, net, file, ctx.nodes, rounds, 'fast-first'))
    // The same providers with no cap: the machine's own ceiling for that many daemons.
    if (ctx.nodes > 1) runs.push(await measure(ctx, net, file, ctx.nodes, rounds, 'none-capped'))
    return report(runs, { size, rounds, rateMbit: RATE_MBIT, quick: ctx.quick, cores: availableParallelism() })
  }
}

/** Starts providers until `n` run, each capped and holding the file (added through its daemon). */
async function addProviders (ctx: ScenarioContext, net: CappedNetwork, file: { path: string, cid: string }, n: number): Promise<void> {
  for (const p of net.providers.slice(0, n).filter(p => p.daemon === undefined)) {
    ctx.signal.throwIfAborted()
    p.daemon = await net.start(p, p.repo, ctx.signal)
    const [added] = await net.cli<Array<{ cid: string }>>(p, p.repo, ['add', '--json', file.path], 120_000)
    if (file.cid !== '' && added.cid !== file.cid) throw new Error(`provider ${p.index} added the file as ${added.cid}, not ${file.cid}`)
    file.cid = added.cid
    await net.cap(p, RATE_MBIT)
    ctx.progress.update(`${p.index} providers hold the file (${file.cid.slice(0, 16)}…)`, true)
  }
}

/** CPU seconds (user + system) the providers' daemons have used so far, together. */
function providersCpu (providers: CappedNetwork['providers']): number {
  return providers.reduce((sum, p) => sum + (p.daemon === undefined ? 0 : processCost(p.daemon.info.pid).cpuSeconds), 0)
}

interface FetchJson { size: number, ms: number, providers: Array<{ peer: string, bytes: number, duplicateBytes?: number, rate?: number, joinedMs?: number, reason?: string }> }

/**
 * `rounds` fetches by fresh fetchers from the first `n` providers; the median round. `uncapped`
 * and `fast-first` lift the first provider's cap for these rounds, `none-capped` every one's.
 */
async function measure (ctx: ScenarioContext, net: CappedNetwork, file: { size: number, digest: string, cid: string }, n: number, rounds: number, mode: Run['mode']): Promise<Run> {
  const providers = net.providers.slice(0, n)
  const capped = mode === 'capped'
  const lifted = capped ? [] : mode === 'none-capped' ? providers : providers.slice(0, 1)
  for (const p of lifted) await net.cap(p, undefined)
  const samples: Run[] = []
  for (let r = 0; r < rounds; r++) {
    ctx.signal.throwIfAborted()
    const repo = join(net.scratch, `fetcher-${n}-${mode}-${r}`)
    const fetcher = await net.startFetcher(repo, ctx.signal)
    const out = join(net.scratch, 'out.bin')
    try {
      const before = await Promise.all(providers.map(async p => await net.sentBytes(p)))
      const cpu0 = processCost(fetcher.info.pid).cpuSeconds
      const wait0 = runDelay(fetcher.info.pid)
      const providersCpu0 = providersCpu(providers)
      const machine0 = machineCpu()
      const t0 = performance.now()
      const result = await net.cli<FetchJson>(net.fetcherHost, repo, ['fetch', file.cid, '-o', out, '--force'], 300_000)
      const ms = performance.now() - t0
      const machine1 = machineCpu()
      const fetcherCpuS = round(processCost(fetcher.info.pid).cpuSeconds - cpu0, 2)
      const fetcherWaitS = round(runDelay(fetcher.info.pid) - wait0, 2)
      const providersCpuS = round(providersCpu(providers) - providersCpu0, 2)
      const machineBusy = machine1.total > machine0.total ? round((machine1.busy - machine0.busy) / (machine1.total - machine0.total), 2) : 0
      const after = await Promise.all(providers.map(async p => await net.sentBytes(p)))
      const identical = createHash('sha256').update(await readFile(out)).digest('hex') === file.digest
      samples.push({
        providers: n,
        capped,
        mode,
        mbps: round(file.size / ms / 1000, 2),
        ms: round(ms),
        fetchMs: result.ms,
        fetcherCpuS,
        fetcherWaitS,
        providersCpuS,
        machineCpuS: round(machine1.busy - machine0.busy, 2),
        machineBusy,
        identical,
        perProvider: providers.map((p, i) => {
          const seen = result.providers.find(x => x.peer === p.daemon?.info.peerId)
          return { provider: p.index, creditedBytes: seen?.bytes ?? 0, duplicateBytes: seen?.duplicateBytes ?? 0, rate: seen?.rate ?? 0, ...(seen?.joinedMs !== undefined ? { joinedMs: seen.joinedMs } : {}), sentBytes: after[i] - before[i], ...(seen === undefined ? { reason: 'not found by the fetch' } : seen.reason !== undefined ? { reason: seen.reason } : {}) }
        })
      })
    } finally {
      await net.stop(fetcher)
      await rm(out, { force: true })
      await rm(repo, { recursive: true, force: true })
    }
  }
  for (const p of lifted) await net.cap(p, RATE_MBIT)
  const mid = median(samples.map(s => s.mbps))
  const chosen = samples.find(s => s.mbps === mid) ?? samples[0]
  const run = { ...chosen, identical: samples.every(s => s.identical), roundsMbps: samples.map(s => s.mbps) }
  // The median round's figures as it ends, so a run cut off later still shows them.
  ctx.progress.update(`${n} provider${n === 1 ? '' : 's'}${MODE_LABELS[mode]}: ${run.mbps} MB/s (rounds ${run.roundsMbps.join(', ')}); ${runLine(run, file.size)}`, true)
  return run
}
