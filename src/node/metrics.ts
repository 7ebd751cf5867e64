// A node's metrics in Prometheus form (prom-client), in one registry per node: what the
// exchange served, what fetches brought and how they ended, DHT lookups and their latency,
// reprovide rounds, peers and repo usage. Figures that live elsewhere already (the exchange
// server's counters, the repo's usage) are read when scraped; what only an event knows (a
// fetch ending, a lookup) is counted as it happens. libp2p's own metrics join the same
// registry (host.ts).
import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { FetchResult } from './fetch.js'

/** The figures read when scraped, each from where it is kept. */
export interface MetricSources {
  served: () => { blocks: number, bytes: number, violations: number, streams: number }
  peers: () => number
  dhtTableSize: () => number
  reprovideRounds: () => number
  usage: () => Promise<{ bytes: number, blocks: number }>
}

export type LookupKind = 'find-providers' | 'provide' | 'closest-peers'

const SECONDS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800]

export class NodeMetrics {
  private readonly fetches: Counter<'outcome'>
  private readonly fetchSeconds: Histogram<'outcome'>
  private readonly fetchProviders: Histogram
  private readonly fetchedBlocks: Counter
  private readonly fetchedBytes: Counter
  private readonly rebuilt: Counter
  private readonly parity: Counter
  private readonly refused: Counter<'reason'>
  private readonly dropped: Counter<'reason'>
  private readonly lookups: Counter<'kind' | 'outcome'>
  private readonly lookupSeconds: Histogram<'kind'>

  constructor (readonly registry: Registry, sources: MetricSources) {
    const registers = [registry]
    this.fetches = new Counter({ name: 'peerlink_fetches_total', help: 'Fetches ended, by outcome (ok, or the error code)', labelNames: ['outcome'], registers })
    this.fetchSeconds = new Histogram({ name: 'peerlink_fetch_duration_seconds', help: 'Time from the start of a fetch to its end', labelNames: ['outcome'], buckets: SECONDS, registers })
    this.fetchProviders = new Histogram({ name: 'peerlink_fetch_providers', help: 'Providers that served blocks to one completed fetch', buckets: [0, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32], registers })
    this.fetchedBlocks = new Counter({ name: 'peerlink_fetched_blocks_total', help: 'Blocks completed fetches brought over the network', registers })
    this.fetchedBytes = new Counter({ name: 'peerlink_fetched_bytes_total', help: 'Bytes completed fetches brought over the network', registers })
    this.rebuilt = new Counter({ name: 'peerlink_chunks_rebuilt_total', help: 'Data chunks no provider had, rebuilt from parity by completed fetches', registers })
    this.parity = new Counter({ name: 'peerlink_parity_computed_total', help: 'Parity blocks completed fetches computed instead of downloading', registers })
    this.refused = new Counter({ name: 'peerlink_blocks_refused_total', help: 'Blocks refused by completed fetches, by reason', labelNames: ['reason'], registers })
    this.dropped = new Counter({ name: 'peerlink_providers_dropped_total', help: 'Providers a completed fetch gave up on, by reason', labelNames: ['reason'], registers })
    this.lookups = new Counter({ name: 'peerlink_dht_lookups_total', help: 'DHT lookups ended, by kind and outcome', labelNames: ['kind', 'outcome'], registers })
    this.lookupSeconds = new Histogram({ name: 'peerlink_dht_lookup_duration_seconds', help: 'Time of a DHT lookup: to the first provider found for find-providers, to its end for the others', labelNames: ['kind'], buckets: SECONDS, registers })
    counter('peerlink_served_blocks_total', 'Blocks the exchange served to other peers', registers, () => sources.served().blocks)
    counter('peerlink_served_bytes_total', 'Bytes the exchange served to other peers', registers, () => sources.served().bytes)
    counter('peerlink_exchange_violations_total', 'Protocol violations by peers asking this node for blocks', registers, () => sources.served().violations)
    counter('peerlink_exchange_streams_total', 'Exchange streams peers opened to this node', registers, () => sources.served().streams)
    gauge('peerlink_peers', 'Connected peers', registers, sources.peers)
    gauge('peerlink_dht_routing_table_size', 'Peers in the DHT routing table', registers, sources.dhtTableSize)
    counter('peerlink_reprovide_rounds_total', 'Reprovide rounds run', registers, sources.reprovideRounds)
    gauge('peerlink_repo_bytes', 'Bytes of blocks the repo holds', registers, async () => (await sources.usage()).bytes)
    gauge('peerlink_repo_blocks', 'Blocks the repo holds', registers, async () => (await sources.usage()).blocks)
  }

  /** A fetch ended: with its result, or with the error it ended with. */
  fetchEnded (ms: number, outcome: FetchResult | Error): void {
    const label = outcome instanceof Error ? errorCode(outcome) : 'ok'
    this.fetches.inc({ outcome: label })
    this.fetchSeconds.observe({ outcome: label }, ms / 1000)
    if (outcome instanceof Error) return
    this.fetchProviders.observe(outcome.providers.filter(p => p.blocks > 0).length)
    this.fetchedBlocks.inc(outcome.fetchedBlocks)
    this.fetchedBytes.inc(outcome.fetchedBytes)
    this.rebuilt.inc(outcome.rebuiltChunks)
    this.parity.inc(outcome.parityComputed)
    for (const p of outcome.providers) {
      if (p.lie !== undefined) this.refused.inc({ reason: 'cid-mismatch' })
      if (p.dropped) this.dropped.inc({ reason: p.failure ?? 'other' })
    }
  }

  lookupEnded (kind: LookupKind, ms: number, ok: boolean): void {
    this.lookups.inc({ kind, outcome: ok ? 'ok' : 'failed' })
    this.lookupSeconds.observe({ kind }, ms / 1000)
  }
}

function gauge (name: string, help: string, registers: Registry[], read: () => number | Promise<number>): void {
  void new Gauge({ name, help, registers, async collect () { this.set(await read()) } })
}

/** A counter whose running total is kept elsewhere, read when scraped. */
function counter (name: string, help: string, registers: Registry[], read: () => number): void {
  void new Counter({ name, help, registers, collect () { this.reset(); this.inc(read()) } })
}

function errorCode (err: Error): string {
  const code = (err.constructor as { code?: unknown }).code
  return typeof code === 'string' ? code : err.name === 'AbortError' ? 'ABORTED' : 'OTHER'
}
