// lookup: provide and find-providers latency, hop count and success as the network grows.
//
// One process runs the nodes (TCP on 127.0.0.1). The network grows through the sizes in
// SIZES up to --nodes; at each size every node's routing table is given time to fill, then
// random nodes provide fresh keys and other random nodes look them up. Hops come from
// kad-dht's query events: a peer asked first (from the own routing table) is hop 1, a peer
// first named in hop h's answer is hop h + 1, and a lookup's hop count is the hop of the
// peer whose answer named the provider (0 when the record was already held locally).
import { createHash } from 'node:crypto'
import type { PeerId } from '@libp2p/interface'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import * as Digest from 'multiformats/hashes/digest'
import type { PeerLinkNode } from '../../src/node/peerlink.js'
import { routingKey } from '../../src/routing/kad-compat.js'
import { bootstrapFrom, startNode, waitForRoutingTables } from '../lib/network.js'
import { lineChart } from '../lib/plot.js'
import type { Scenario, ScenarioContext, ScenarioResult } from '../lib/scenario.js'
import { median, percentile, round } from '../lib/stats.js'

const SIZES = [25, 50, 100, 200, 400]
const QUICK_SIZES = [4, 8]
/** Lookups measured at each size. */
const LOOKUPS = { quick: 4, full: 20 }
const FIND_TIMEOUT = 10_000

export interface Sample { n: number, provideMs: number, findMs: number, found: boolean, hops: number, queried: number }

export const lookup: Scenario = {
  name: 'lookup',
  description: 'provide and find-providers latency and hops as the network grows',
  nodes: { default: 200, quick: 8, min: 4, max: 400 },
  timeLimit: { quick: 90_000, full: 1_800_000 },
  async run (ctx) {
    const sizes = [...(ctx.quick ? QUICK_SIZES : SIZES).filter(s => s < ctx.nodes), ctx.nodes]
    const nodes: PeerLinkNode[] = []
    ctx.defer(async () => { await Promise.all(nodes.map(async n => await n.stop().catch(() => {}))) })
    const samples: Sample[] = []
    const perSize: Array<Record<string, number>> = []
    for (const n of sizes) {
      while (nodes.length < n) {
        ctx.signal.throwIfAborted()
        nodes.push(await startNode(`${ctx.dir}/node${nodes.length}`, bootstrapFrom(nodes, 3), { monitorConnections: false }))
        ctx.progress.update(`growing to ${n}: ${nodes.length} nodes`)
      }
      await waitForRoutingTables(nodes, Math.min(n - 1, 4), 60_000 + n * 500)
      const count = ctx.quick ? LOOKUPS.quick : LOOKUPS.full
      for (let i = 0; i < count; i++) {
        ctx.signal.throwIfAborted()
        const [provider, finder] = ctx.rng.sample(nodes, 2)
        const key = CID.createV1(raw.code, Digest.create(0x12, createHash('sha256').update(ctx.rng.bytes(32)).digest()))
        const t0 = performance.now()
        await provider.network.provide(key, { signal: ctx.signal })
        const provideMs = performance.now() - t0
        samples.push({ n, provideMs, ...await find(finder, key, provider.network.peerId, ctx) })
        ctx.progress.update(`${n} nodes: lookup ${i + 1}/${count}`)
      }
      const at = samples.filter(s => s.n === n)
      const ok = at.filter(s => s.found)
      perSize.push({
        n,
        log2n: round(Math.log2(n), 2),
        provide_median_ms: round(median(at.map(s => s.provideMs))),
        find_median_ms: round(median(ok.map(s => s.findMs))),
        find_p90_ms: round(percentile(ok.map(s => s.findMs), 90)),
        hops_median: median(ok.map(s => s.hops)),
        hops_max: Math.max(...ok.map(s => s.hops), 0),
        success: round(ok.length / at.length, 3)
      })
      ctx.progress.update(`${n} nodes: find ${perSize.at(-1)?.find_median_ms} ms median, ${perSize.at(-1)?.hops_median} hops, success ${perSize.at(-1)?.success}`, true)
    }
    return report(perSize, samples, ctx.quick ? LOOKUPS.quick : LOOKUPS.full)
  }
}

/** The results, from the figures per network size and the lookups alone (no I/O). */
export function report (perSize: Array<Record<string, number>>, samples: Sample[], lookups: number): ScenarioResult {
  const largest = perSize.at(-1) as Record<string, number>
  const hopsVsLog = perSize.flatMap(p => [{ n: p.n, hops: p.hops_median, series: 'median hops' }, { n: p.n, hops: Math.ceil(Math.log2(p.n)), series: 'ceil(log2 N)' }])
  const latency = perSize.flatMap(p => [{ n: p.n, ms: p.provide_median_ms, series: 'provide' }, { n: p.n, ms: p.find_median_ms, series: 'find-providers' }])
  return {
    headline: {
      largest_network: largest.n,
      find_success: largest.success,
      find_median_ms: largest.find_median_ms,
      provide_median_ms: largest.provide_median_ms,
      hops_median: largest.hops_median,
      ceil_log2_n: Math.ceil(Math.log2(largest.n))
    },
    targets: [
      { name: 'find-providers succeeds 100 % in a stable network', ok: perSize.every(p => p.success === 1), detail: perSize.map(p => `${p.n}: ${(p.success * 100).toFixed(0)} %`).join(', ') },
      { name: 'median hops ≤ ceil(log2 N)', ok: perSize.every(p => p.hops_median <= Math.ceil(Math.log2(p.n))), detail: perSize.map(p => `${p.n}: ${p.hops_median} ≤ ${Math.ceil(Math.log2(p.n))}`).join(', ') }
    ],
    data: { sizes: perSize, samples },
    plots: [
      { name: 'hops', title: 'Lookup hops against log2 N', spec: lineChart('find-providers hops (median) vs ceil(log2 N)', hopsVsLog, { field: 'n', title: 'nodes', log: true }, { field: 'hops', title: 'hops' }, { field: 'series', title: '' }) },
      { name: 'latency', title: 'Provide and find latency', spec: lineChart('median latency on 127.0.0.1', latency, { field: 'n', title: 'nodes', log: true }, { field: 'ms', title: 'ms' }, { field: 'series', title: '' }) }
    ],
    notes: [
      `All nodes in one process on 127.0.0.1; each size waits until every routing table holds at least min(N - 1, 4) peers. ${lookups} lookups per size; each provides a fresh key from one random node and finds it from another.`,
      'Latency on loopback in one process measures the protocol and the event loop shared by every node, not network distance.',
      'The nodes do not run libp2p\'s connection monitor (a ping per connection every 10 s): at 200 nodes those pings alone would fill the one event loop all nodes share.'
    ]
  }
}

async function find (finder: PeerLinkNode, root: CID, provider: PeerId, ctx: ScenarioContext): Promise<Omit<Sample, 'n' | 'provideMs'>> {
  const dht = finder.network.host.services.dht
  const self = finder.network.peerId
  const hop = new Map<string, number>()
  const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(FIND_TIMEOUT)])
  const t0 = performance.now()
  try {
    for await (const e of dht.findProviders(routingKey(root), { signal })) {
      if (e.name === 'SEND_QUERY' && !hop.has(e.to.toString())) hop.set(e.to.toString(), 1)
      if (e.name === 'PEER_RESPONSE') {
        const h = hop.get(e.from.toString()) ?? 1
        for (const c of e.closer) if (!hop.has(c.id.toString())) hop.set(c.id.toString(), h + 1)
      }
      if (e.name === 'PROVIDER' && e.providers.some(p => p.id.equals(provider))) {
        return { findMs: performance.now() - t0, found: true, hops: e.from.equals(self) ? 0 : hop.get(e.from.toString()) ?? 1, queried: hop.size }
      }
    }
  } catch (err) {
    if (ctx.signal.aborted) throw err
  }
  return { findMs: performance.now() - t0, found: false, hops: -1, queried: hop.size }
}
