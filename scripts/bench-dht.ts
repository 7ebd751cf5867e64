// DHT latency on a loopback network: how long `provide` and `find-providers` take, and what
// a reprovide round costs.
//
//   npm run bench:dht -- [--json] [--nodes N] [--rounds N] [--reprovide-roots N]
//
// Starts N PeerLink nodes (default 20) in this process on 127.0.0.1, waits until every
// routing table holds a few peers, then per round picks a random provider and a random
// finder, provides a fresh root from the one and finds it from the other through the same
// calls `add` and `fetch` use. The reference, measured in the same run between the same
// pairs, is one libp2p ping round trip. With N ≤ 21 every node is among the 20 closest to
// any key, so the finder usually holds the record already and finding is a local answer.
// Then one node announces --reprovide-roots fresh roots (default 200) the way its reprovider
// does, a keyspace region at a time, against the reference measured in the same run: as many
// other fresh roots announced with one lookup each, four at a time (what reproviding was
// before). Both are checked by finding a sample of the roots from random other nodes.
// Every node shares this process's event loop, so the figures include that contention (the
// daemons of a real network each have their own).
import '../src/polyfill.js'
import { createHash, randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import * as Digest from 'multiformats/hashes/digest'
import type { PeerId } from '@libp2p/interface'
import { startNetwork } from '../simulations/lib/network.js'
import type { PeerLinkNetwork } from '../src/node/network.js'
import { median } from '../simulations/lib/stats.js'

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    nodes: { type: 'string', default: '20' },
    rounds: { type: 'string', default: '30' },
    'reprovide-roots': { type: 'string', default: '200' }
  }
})
const reprovideRoots = Number(args['reprovide-roots'])
if (!Number.isInteger(reprovideRoots) || reprovideRoots < 0 || reprovideRoots > 100_000) throw new Error('--reprovide-roots must be 0..100000')
const nodeCount = Number(args.nodes)
const rounds = Number(args.rounds)
if (!Number.isInteger(nodeCount) || nodeCount < 3 || nodeCount > 100) throw new Error('--nodes must be 3..100')
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 1000) throw new Error('--rounds must be 1..1000')
const log = (s: string): void => { if (!args.json) process.stderr.write(s + '\n') }
const ROUND_TIMEOUT = 20_000

log(`starting ${nodeCount} nodes`)
const net = await startNetwork(nodeCount)
const stop = async (): Promise<void> => { await net.stop() }
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => { void stop().then(() => process.exit(130)) })

let reprovide: Record<string, number> = {}
const provideMs: number[] = []
const findMs: number[] = []
const pingMs: number[] = []
let found = 0
try {
  for (let r = 0; r < rounds; r++) {
    const i = Math.floor(Math.random() * nodeCount)
    const j = (i + 1 + Math.floor(Math.random() * (nodeCount - 1))) % nodeCount
    const [provider, finder] = [net.nodes[i].network, net.nodes[j].network]
    const root = freshRoot()
    const signal = AbortSignal.timeout(ROUND_TIMEOUT)
    pingMs.push(await ping(finder, provider.peerId, signal))
    let t0 = performance.now()
    await provider.provide(root, { signal })
    provideMs.push(performance.now() - t0)
    t0 = performance.now()
    const providers = await finder.findProviders(root, { signal, limit: 1 })
    findMs.push(performance.now() - t0)
    if (providers.some(p => p.id.equals(provider.peerId))) found++
    log(`round ${r + 1}/${rounds}: ping ${pingMs.at(-1)?.toFixed(1)} ms, provide ${provideMs.at(-1)?.toFixed(0)} ms, find ${findMs.at(-1)?.toFixed(1)} ms`)
  }
  if (reprovideRoots > 0) reprovide = await measureReprovide(reprovideRoots)
} finally {
  await stop()
}

function freshRoot (): CID {
  return CID.createV1(raw.code, Digest.create(0x12, createHash('sha256').update(randomBytes(32)).digest()))
}

/** Roots of `roots` (a sample of up to 25) that a random other node finds `provider` for. */
async function foundFraction (provider: PeerLinkNetwork, roots: CID[]): Promise<number> {
  const sample = roots.slice(0, 25)
  const others = net.nodes.map(x => x.network).filter(x => x !== provider)
  let n = 0
  for (const root of sample) {
    const finder = others[Math.floor(Math.random() * others.length)]
    const providers = await finder.findProviders(root, { signal: AbortSignal.timeout(ROUND_TIMEOUT), limit: 20, retries: 0 })
    if (providers.some(p => p.id.equals(provider.peerId))) n++
  }
  return n / sample.length
}

/** One reprovide round of `count` roots, region by region, against one lookup per root. */
async function measureReprovide (count: number): Promise<Record<string, number>> {
  const provider = net.nodes[Math.floor(Math.random() * nodeCount)].network
  const perRoot = Array.from({ length: count }, freshRoot)
  const regional = Array.from({ length: count }, freshRoot)
  log(`reprovide of ${count} roots: one lookup each (four at a time), then region by region`)
  let t0 = performance.now()
  let next = 0
  let perRootFailed = 0
  await Promise.all(Array.from({ length: 4 }, async () => {
    while (next < perRoot.length) {
      const root = perRoot[next++]
      await provider.provide(root, { signal: AbortSignal.timeout(ROUND_TIMEOUT) }).catch(() => { perRootFailed++ })
    }
  }))
  const perRootMs = performance.now() - t0
  t0 = performance.now()
  const round = await provider.reprovider.provideAll(regional)
  const regionalMs = performance.now() - t0
  const out = {
    reprovide_roots: count,
    reprovide_per_root_ms: Math.round(perRootMs),
    reprovide_per_root_lookups: count,
    reprovide_per_root_failed: perRootFailed,
    reprovide_per_root_found: await foundFraction(provider, perRoot),
    reprovide_regional_ms: Math.round(regionalMs),
    reprovide_regional_lookups: round.lookups,
    reprovide_regional_failed: round.failed,
    reprovide_regional_found: await foundFraction(provider, regional),
    reprovide_lookups_ratio: Number((round.lookups / count).toFixed(3)),
    reprovide_time_ratio: Number((regionalMs / perRootMs).toFixed(3))
  }
  log(`reprovide: region by region ${out.reprovide_regional_ms} ms with ${round.lookups} lookups (${round.records} records to ${round.peers} peers), one lookup per root ${out.reprovide_per_root_ms} ms; found ${out.reprovide_regional_found} and ${out.reprovide_per_root_found} of a sample`)
  return out
}

/**
 * One ping round trip. The ping protocol allows one outbound stream per connection and the
 * connection monitor pings every 10 s, so a ping that meets the monitor's is tried again.
 */
async function ping (from: PeerLinkNetwork, to: PeerId, signal: AbortSignal): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const t0 = performance.now()
    try {
      await from.host.services.ping.ping(to, { signal })
      return performance.now() - t0
    } catch (err) {
      if (attempt === 3 || signal.aborted) throw err
      await new Promise(resolve => setTimeout(resolve, 100))
    }
  }
}

const result = {
  nodes: nodeCount,
  rounds,
  provide_median_ms: Number(median(provideMs).toFixed(1)),
  find_median_ms: Number(median(findMs).toFixed(1)),
  ping_median_ms: Number(median(pingMs).toFixed(2)),
  find_success: found / rounds,
  provide_vs_ping: Number((median(provideMs) / Math.max(median(pingMs), 0.01)).toFixed(1)),
  find_vs_ping: Number((median(findMs) / Math.max(median(pingMs), 0.01)).toFixed(1)),
  ...reprovide
}
if (args.json) console.log(JSON.stringify(result))
else {
  log(`provide: median ${result.provide_median_ms} ms (target ≤ 1000), ${result.provide_vs_ping}× a ping`)
  log(`find-providers: median ${result.find_median_ms} ms (target ≤ 200), ${result.find_vs_ping}× a ping; found ${found}/${rounds}`)
  log(`ping round trip: median ${result.ping_median_ms} ms`)
}
