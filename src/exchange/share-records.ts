// What a provider knows of the peers that fetched from it, per root: each receiver's state
// (fetching while it is sent blocks under the root, completed once its receipt arrived), the
// bytes and blocks sent to it (counted here) and what its receipt says. Receipts come from
// the peers and are kept for display only: nothing else reads them. A receipt counts only
// from a peer this node sent blocks of that root, so it cannot make records of its own.
// Everything is bounded: MAX_RECEIVERS per root, MAX_SHARED_ROOTS roots, MAX_ROOTS_PER_PEER
// roots per receiver and MAX_RECEIVERS_TOTAL in all, the least recently changed dropped
// first. The daemon keeps them across restarts in the repo (share-records-file.ts).

/** Receivers kept per root. */
export const MAX_RECEIVERS = 256

/** Roots kept. */
export const MAX_SHARED_ROOTS = 4096

/** Roots one peer is kept as a receiver of: one peer fetching everything fills no more. */
export const MAX_ROOTS_PER_PEER = 1024

/** Receivers kept in all (what the repo's file holds at most). */
export const MAX_RECEIVERS_TOTAL = 16_384

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

export interface ShareRecordLimits { maxRoots: number, maxReceivers: number, maxRootsPerPeer: number, maxTotal: number }

interface Entry { record: ReceiverRecord, emitted: number }

export class ShareRecords {
  /** Insertion order is recency: a changed entry is moved to the end, the first is dropped. */
  private readonly roots = new Map<string, Map<string, Entry>>()
  private readonly listeners = new Set<(event: ShareEvent) => void>()
  private readonly limits: ShareRecordLimits
  /** Roots each peer is a receiver of, and receivers in all. */
  private readonly perPeer = new Map<string, number>()
  private total = 0

  constructor (limits: Partial<ShareRecordLimits> = {}, private readonly now: () => number = Date.now) {
    this.limits = {
      maxRoots: limits.maxRoots ?? MAX_SHARED_ROOTS,
      maxReceivers: limits.maxReceivers ?? MAX_RECEIVERS,
      maxRootsPerPeer: limits.maxRootsPerPeer ?? MAX_ROOTS_PER_PEER,
      maxTotal: limits.maxTotal ?? MAX_RECEIVERS_TOTAL
    }
  }

  /** This node sent `peer` a block of `bytes` under `root`. */
  served (peer: string, root: string, bytes: number): void {
    const now = this.now()
    const receivers = this.receiversOf(root)
    let entry = receivers.get(peer)
    const refetch = entry?.record.completedAt !== undefined && now - entry.record.completedAt > REFETCH_GAP
    if (entry === undefined || refetch) {
      entry = this.put(root, receivers, { peer, state: 'fetching', sentBytes: 0, sentBlocks: 0, firstSent: now, lastSent: now })
    } else {
      receivers.delete(peer)
      receivers.set(peer, entry)
    }
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

  /** Takes records kept before (a restart), oldest first as `list` gives them, within this instance's bounds. */
  restore (records: ShareRecord[]): void {
    for (const { root, receivers } of records) {
      if (receivers.length === 0) continue
      for (const record of receivers) this.put(root, this.receiversOf(root), structuredClone(record))
    }
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
    for (const old of this.roots.keys()) {
      if (this.roots.size <= this.limits.maxRoots) break
      this.dropRoot(old)
    }
    return receivers
  }

  /** Keeps `record` as the latest receiver of `root`, then drops the oldest records past the bounds. */
  private put (root: string, receivers: Map<string, Entry>, record: ReceiverRecord): Entry {
    const entry = { record, emitted: 0 }
    if (!receivers.has(record.peer)) this.count(record.peer, 1)
    receivers.delete(record.peer)
    receivers.set(record.peer, entry)
    for (const peer of receivers.keys()) {
      if (receivers.size <= this.limits.maxReceivers) break
      this.drop(root, receivers, peer)
    }
    // The peer's oldest roots, then anyone's oldest records: the root just changed is the latest.
    for (const [other, rs] of this.roots) {
      if ((this.perPeer.get(record.peer) ?? 0) <= this.limits.maxRootsPerPeer) break
      if (other !== root && rs.has(record.peer)) this.drop(other, rs, record.peer)
    }
    for (const [other, rs] of this.roots) {
      if (this.total <= this.limits.maxTotal) break
      for (const peer of rs.keys()) {
        if (this.total <= this.limits.maxTotal || (other === root && peer === record.peer)) break
        this.drop(other, rs, peer)
      }
    }
    return entry
  }

  private touch (root: string, receivers: Map<string, Entry>): void {
    this.roots.delete(root)
    this.roots.set(root, receivers)
  }

  private drop (root: string, receivers: Map<string, Entry>, peer: string): void {
    if (!receivers.delete(peer)) return
    this.count(peer, -1)
    if (receivers.size === 0) this.roots.delete(root)
  }

  private dropRoot (root: string): void {
    for (const peer of this.roots.get(root)?.keys() ?? []) this.count(peer, -1)
    this.roots.delete(root)
  }

  private count (peer: string, by: number): void {
    this.total += by
    const n = (this.perPeer.get(peer) ?? 0) + by
    if (n > 0) this.perPeer.set(peer, n)
    else this.perPeer.delete(peer)
  }

  private emit (root: string, entry: Entry, now: number): void {
    entry.emitted = now
    for (const listener of this.listeners) listener({ root, receiver: { ...entry.record } })
  }
}
