// Which blocks each peer was sent lately, and how often. An honest fetcher asks a provider
// for each block once: a resumed fetch asks only for what it lacks, a block that failed to
// verify is asked again once (mostly of another provider), and a file fetched, removed and
// fetched again is asked a second time. A peer asking again and again for blocks it was just
// sent is using the node's upload for nothing but load (bench:abuse's block flood loops over
// one file's blocks), so a block asked for after it went out twice within the window costs
// RESEND_COST of work on top of its read: a few fit in any peer's burst, a loop of them puts
// its party in debt at once (slowed), then over the flood line (penalised, banned). Counted
// per peer, not per party: honest peers behind one address may each fetch the same file.
import type { CID } from 'multiformats/cid'

const MiB = 1024 * 1024

/** Work one re-asked block costs beyond its read: sixteen full blocks. */
export const RESEND_COST = 16 * MiB

/** Sends of a block to a peer within the window that are free; asked for after more, it costs. */
const FREE_SENDS = 2

export interface RecentSendsOptions {
  /** Sends remembered in all, across every peer (the oldest are forgotten first). */
  max: number
  /** How long a send is remembered. */
  windowMs: number
  now: () => number
}

export const DEFAULT_RECENT_SENDS: RecentSendsOptions = { max: 32_768, windowMs: 2 * 60_000, now: Date.now }

export class RecentSends {
  /** `peer cid` to when it was first sent in the window and how often since, oldest first (a Map keeps insertion order). */
  private readonly sent = new Map<string, { at: number, times: number }>()
  private readonly options: RecentSendsOptions

  constructor (options: Partial<RecentSendsOptions> = {}) {
    this.options = { ...DEFAULT_RECENT_SENDS, ...options }
  }

  /** Notes that `cid` went out to `peer`. */
  note (peer: string, cid: CID): void {
    const key = `${peer} ${cid.toString()}`
    const now = this.options.now()
    const last = this.sent.get(key)
    this.sent.delete(key)
    const fresh = last === undefined || last.at < now - this.options.windowMs
    this.sent.set(key, fresh ? { at: now, times: 1 } : { at: last.at, times: last.times + 1 })
    if (this.sent.size > this.options.max) this.sent.delete(this.sent.keys().next().value as string)
  }

  /** How many of `cids` went out to `peer` FREE_SENDS times or more within the window: asked again, they cost. */
  count (peer: string, cids: CID[]): number {
    const since = this.options.now() - this.options.windowMs
    let n = 0
    for (const cid of cids) {
      const sent = this.sent.get(`${peer} ${cid.toString()}`)
      if (sent !== undefined && sent.at >= since && sent.times >= FREE_SENDS) n++
    }
    return n
  }

  /** Sends remembered now (for tests and stats). */
  get size (): number { return this.sent.size }
}
