// What each peer may ask of a provider per second. Every request costs work, counted in
// bytes served: a block read and sent costs its size, a CID looked up for a have_only WANT
// costs CID_LOOKUP_COST. Each peer has a token bucket; a request is charged when it arrives
// and served once the peer's bucket is no longer in debt, so a peer over its budget is
// slowed first (its own streams wait, the others' do not). A peer whose debt keeps above
// FLOOD_DEBT seconds of its rate is asking for more than it could ever be served: it is
// penalised ('flood'), at most once per FLOOD_DEBT seconds, and banned if it keeps on.
//
// The rate is a share of the node's: NODE_WORK_RATE split among the peers with streams
// open, never above PEER_WORK_RATE (one honest fetcher at full speed stays under it) and
// never below MIN_PEER_WORK_RATE (a newcomer always gets a slice). More identities get
// thinner slices of the same pie, not more pie. Peers penalised for flooding count as one
// peer together and share one slice: a flood from N identities costs the node one slice
// of work however large N is (with a slice each, 16 of them took most of a 2-core node's
// CPU from an honest fetch, bench:abuse), and the peers that behave keep theirs.
import type { Clock } from './clock.js'

const MiB = 1024 * 1024

export interface BudgetOptions {
  /** Work per second split among the active peers. */
  nodeRate: number
  /** Most work per second one peer gets, however few are active. */
  peerRate: number
  /** Least work per second a peer gets, however many are active. */
  minRate: number
  /** Seconds of its rate a peer may spend at once after a pause. */
  burstSeconds: number
  /** Seconds of debt after which a peer is penalised for flooding. */
  floodDebtSeconds: number
}

/**
 * One provider serves 50-150 MB/s on loopback (bench:transfer), so 256 MiB/s per peer never
 * slows an honest fetcher, and eight of them at full speed fit in the node's rate.
 */
export const DEFAULT_BUDGET: BudgetOptions = {
  nodeRate: 2048 * MiB,
  peerRate: 256 * MiB,
  minRate: 4 * MiB,
  burstSeconds: 1,
  floodDebtSeconds: 5
}

/**
 * A have_only CID costs 1/16 of a 1 MiB block: a session asks about each block once, so an
 * honest 1 GiB fetch spends about 64 MiB of work on queries, while a peer re-asking 4,096
 * CIDs in a loop is held to a few thousand lookups a second.
 */
export const CID_LOOKUP_COST = 64 * 1024

/** Peers remembered at most; those whose buckets have refilled are forgotten first. */
const MAX_TRACKED_PEERS = 4096

interface Bucket { tokens: number, at: number, lastFlood: number, flooded: boolean }

export interface Charge {
  /** Milliseconds the request waits before it is served (0 when within budget). */
  wait: number
  /** The peer has been over FLOOD_DEBT for long enough to be penalised now. */
  flood: boolean
}

export class WorkBudget {
  private readonly buckets = new Map<string, Bucket>()
  private readonly options: BudgetOptions
  /** Buckets of peers penalised for flooding. */
  private flooders = 0

  /** `activePeers` counts the peers sharing the node's rate now (at least 1 is assumed). */
  constructor (private readonly activePeers: () => number, private readonly clock: Pick<Clock, 'now'>, options: Partial<BudgetOptions> = {}) {
    this.options = { ...DEFAULT_BUDGET, ...options }
  }

  /** Work per second each peer gets now; `flooder`: a peer penalised for flooding. */
  rate (flooder = false): number {
    const { nodeRate, peerRate, minRate } = this.options
    const m = this.flooders
    const sharing = Math.max(1, this.activePeers() - m + (m > 0 ? 1 : 0))
    const slice = Math.min(peerRate, Math.max(minRate, nodeRate / sharing))
    return flooder && m > 0 ? slice / m : slice
  }

  /**
   * Charges `cost` to a peer: how long its request waits, and whether it is flooding. Work
   * the node paced itself (block reads, which wait for the budget before they start) passes
   * `mayFlood` false: only what a peer can pile up unasked counts towards a penalty.
   */
  charge (peer: string, cost: number, mayFlood = true): Charge {
    const b = this.refill(peer)
    b.tokens -= cost
    const now = this.clock.now()
    const floodDebt = this.options.floodDebtSeconds * this.rate(b.flooded)
    let flood = false
    if (mayFlood && -b.tokens > floodDebt && now - b.lastFlood >= this.options.floodDebtSeconds * 1000) {
      b.lastFlood = now
      flood = true
      if (!b.flooded) this.flooders++
      b.flooded = true
    }
    return { wait: this.waitOf(b, this.rate(b.flooded)), flood }
  }

  /** How long a peer's next request waits before it is served. */
  delay (peer: string): number {
    const b = this.buckets.get(peer)
    if (b === undefined) return 0
    const r = this.refill(peer)
    return this.waitOf(r, this.rate(r.flooded))
  }

  /** Forgets a peer that asks nothing more, unless it still owes work (it is kept, so new streams do not clear its debt). */
  release (peer: string): void {
    const b = this.buckets.get(peer)
    if (b !== undefined && this.refill(peer).tokens >= this.burst(b.flooded)) this.forget(peer)
  }

  /** Peers with a bucket (for tests and stats). */
  get tracked (): number { return this.buckets.size }

  private burst (flooder = false): number {
    return this.options.burstSeconds * this.rate(flooder)
  }

  private forget (peer: string): void {
    if (this.buckets.get(peer)?.flooded === true) this.flooders--
    this.buckets.delete(peer)
  }

  private waitOf (b: Bucket, rate: number): number {
    return b.tokens >= 0 ? 0 : Math.ceil(-b.tokens / rate * 1000)
  }

  private refill (peer: string): Bucket {
    const now = this.clock.now()
    let b = this.buckets.get(peer)
    if (b === undefined) {
      if (this.buckets.size >= MAX_TRACKED_PEERS) this.sweep()
      b = { tokens: this.burst(), at: now, lastFlood: now - this.options.floodDebtSeconds * 1000, flooded: false }
      this.buckets.set(peer, b)
      return b
    }
    b.tokens = Math.min(this.burst(b.flooded), b.tokens + (now - b.at) / 1000 * this.rate(b.flooded))
    b.at = now
    return b
  }

  /** Drops the buckets that have refilled, then the oldest until a quarter of the room is free. */
  private sweep (): void {
    for (const key of [...this.buckets.keys()]) this.release(key)
    for (const key of this.buckets.keys()) {
      if (this.buckets.size <= MAX_TRACKED_PEERS * 3 / 4) break
      this.forget(key)
    }
  }
}
