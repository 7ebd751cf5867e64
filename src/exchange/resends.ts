// Which blocks each peer was sent lately. An honest fetcher asks a provider for each block
// once: a resumed fetch asks only for what it lacks, and a block that failed to verify is
// asked again once, usually of another provider. A peer asking again and again for blocks
// it was just sent is using the node's upload for nothing but load (bench:abuse's block
// flood loops over one file's blocks), so each such request is charged RESEND_COST of work
// on top of the read: a few re-asks fit in any peer's burst, a loop of them puts its party in
// debt at once (slowed), then over the flood line (penalised, banned). Counted per peer, not
// per party: honest peers behind one address may each fetch the same file.
import type { CID } from 'multiformats/cid'

const MiB = 1024 * 1024

/** Work one re-asked block costs beyond its read: sixteen full blocks. */
export const RESEND_COST = 16 * MiB

export interface RecentSendsOptions {
  /** Sends remembered in all, across every peer (the oldest are forgotten first). */
  max: number
  /** How long a send is remembered. */
  windowMs: number
  now: () => number
}

export const DEFAULT_RECENT_SENDS: RecentSendsOptions = { max: 32_768, windowMs: 10 * 60_000, now: Date.now }

export class RecentSends {
  /** `peer cid` to when it was last sent, oldest first (a Map keeps insertion order). */
  private readonly sent = new Map<string, number>()
  private readonly options: RecentSendsOptions

  constructor (options: Partial<RecentSendsOptions> = {}) {
    this.options = { ...DEFAULT_RECENT_SENDS, ...options }
  }

  /** Notes that `cid` went out to `peer`. */
  note (peer: string, cid: CID): void {
    const key = `${peer} ${cid.toString()}`
    this.sent.delete(key)
    this.sent.set(key, this.options.now())
    if (this.sent.size > this.options.max) this.sent.delete(this.sent.keys().next().value as string)
  }

  /** How many of `cids` went out to `peer` within the window. */
  count (peer: string, cids: CID[]): number {
    const since = this.options.now() - this.options.windowMs
    let n = 0
    for (const cid of cids) {
      const at = this.sent.get(`${peer} ${cid.toString()}`)
      if (at !== undefined && at >= since) n++
    }
    return n
  }

  /** Sends remembered now (for tests and stats). */
  get size (): number { return this.sent.size }
}
