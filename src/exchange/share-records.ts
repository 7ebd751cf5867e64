// What a provider knows of the peers that fetched from it, per root: each receiver's state
// (fetching while it is sent blocks under the root, completed once its receipt arrived), the
// bytes and blocks sent to it (counted here) and what its receipt says. Receipts come from
// the peers and are kept for display only: nothing else reads them. A receipt counts only
// from a peer this node sent blocks of that root, so it cannot make records of its own.
// Everything is bounded: MAX_RECEIVERS per root and MAX_SHARED_ROOTS roots, the least
// recently changed dropped first; records live in memory and end with the daemon.

/** Receivers kept per root. */
export const MAX_RECEIVERS = 256

/** Roots kept. */
export const MAX_SHARED_ROOTS = 4096

/**
 * Blocks sent to a receiver this long after its receipt are a new fetch (it removed the root
 * and fetches it again); sooner they are the stragglers of the fetch it reported.
 */
export const REFETCH_GAP = 60_000

/** Most progress events per receiver and second while it fetches (each block is one update). */
const PROGRESS_INTERVAL = 1000

/** What a receipt says, as the fetcher reports it. */
export interface Receipt {
  /** Bytes and blocks it got from this node in its fetch. */
  bytes: number
  blocks: number
  /** When its fetch started and completed, ms since the epoch by the fetcher's clock. */
  started: number
  completed: number
}

export interface ReceiverRecord {
  peer: string
  state: 'fetching' | 'completed'
  /** Bytes and blocks this node sent the peer under the root. */
  sentBytes: number
  sentBlocks: number
  /** When this node sent it the first and the latest block, ms since the epoch. */
  firstSent: number
  lastSent: number
  /** When its receipt arrived here. */
  completedAt?: number
  receipt?: Receipt
}

export interface ShareRecord { root: string, receivers: ReceiverRecord[] }

/** One receiver's record changed: it started, made progress, or completed. */
export interface ShareEvent { root: string, receiver: ReceiverRecord }

export interface ShareRecordLimits { maxRoots: number, maxReceivers: number }

interface Entry { record: ReceiverRecord, emitted: number }

export class ShareRecords {
  /** Insertion order is recency: a changed entry is moved to the end, the first is dropped. */
  private readonly roots = new Map<string, Map<string, Entry>>()
  private readonly listeners = new Set<(event: ShareEvent) => void>()
  private readonly limits: ShareRecordLimits

  constructor (limits: Partial<ShareRecordLimits> = {}, private readonly now: () => number = Date.now) {
    this.limits = { maxRoots: limits.maxRoots ?? MAX_SHARED_ROOTS, maxReceivers: limits.maxReceivers ?? MAX_RECEIVERS }
  }

  /** This node sent `peer` a block of `bytes` under `root`. */
  served (peer: string, root: string, bytes: number): void {
    const now = this.now()
    const receivers = this.receiversOf(root)
    let entry = receivers.get(peer)
    const refetch = entry?.record.completedAt !== undefined && now - entry.record.completedAt > REFETCH_GAP
    if (entry === undefined || refetch) {
      entry = { record: { peer, state: 'fetching', sentBytes: 0, sentBlocks: 0, firstSent: now, lastSent: now }, emitted: 0 }
    }
    receivers.delete(peer)
    receivers.set(peer, entry)
    this.trim(receivers, this.limits.maxReceivers)
    const r = entry.record
    r.sentBytes += bytes
    r.sentBlocks++
    r.lastSent = now
    if (r.state === 'fetching' && now - entry.emitted >= PROGRESS_INTERVAL) this.emit(root, entry, now)
  }

  /** Records `peer`'s receipt for `root`; false (and nothing kept) when this node sent it nothing of the root. */
  receipt (peer: string, root: string, receipt: Receipt): boolean {
    const receivers = this.roots.get(root)
    const entry = receivers?.get(peer)
    if (receivers === undefined || entry === undefined) return false
    const now = this.now()
    entry.record.state = 'completed'
    entry.record.completedAt = now
    entry.record.receipt = { ...receipt }
    this.touch(root, receivers)
    receivers.delete(peer)
    receivers.set(peer, entry)
    this.emit(root, entry, now)
    return true
  }

  /** The roots with receivers, each receiver in the order it last changed, the latest last. */
  list (): ShareRecord[] {
    return [...this.roots].map(([root, receivers]) => ({ root, receivers: [...receivers.values()].map(e => ({ ...e.record })) }))
  }

  /** Roots and receivers kept now. */
  size (): { roots: number, receivers: number } {
    let receivers = 0
    for (const r of this.roots.values()) receivers += r.size
    return { roots: this.roots.size, receivers }
  }

  /** Calls `listener` on each change; the function returned stops that. */
  subscribe (listener: (event: ShareEvent) => void): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  private receiversOf (root: string): Map<string, Entry> {
    let receivers = this.roots.get(root)
    if (receivers === undefined) receivers = new Map()
    this.touch(root, receivers)
    this.trim(this.roots, this.limits.maxRoots)
    return receivers
  }

  private touch (root: string, receivers: Map<string, Entry>): void {
    this.roots.delete(root)
    this.roots.set(root, receivers)
  }

  private trim (map: Map<string, unknown>, max: number): void {
    for (const key of map.keys()) {
      if (map.size <= max) return
      map.delete(key)
    }
  }

  private emit (root: string, entry: Entry, now: number): void {
    entry.emitted = now
    for (const listener of this.listeners) listener({ root, receiver: { ...entry.record } })
  }
}
