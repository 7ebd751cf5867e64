// The provider's global bounds, the same whatever the number of identities asking: total
// inbound exchange streams and total bytes held for all of them (blocks read and not yet
// sent, and bytes sent into a stream but not yet taken by the peer). Each peer with streams
// open gets a fair share of both: 1/N of the pie among N peers. A newcomer always gets a
// minimum slice: a stream, made room for by shedding one of the largest holder's, and a few
// blocks of buffer, kept free for it by the others' stopping short of the bound.
import { MAX_INBOUND_STREAMS } from './constants.js'

/** What one served stream holds now. */
export interface ShareHolder {
  readonly peer: string
  /** Bytes held for this stream now: reserved for reads, and unsent in the stream. */
  readonly buffered: number
}

export interface ShareLimits {
  /** Most bytes held for all inbound streams together. */
  maxBufferedBytes: number
  /** Most inbound exchange streams together. */
  maxStreams: number
  /** Bytes any peer may hold however many others are active (its minimum slice). */
  minSlice: number
}

export type Admission<H> = { admitted: true, shed?: H } | { admitted: false, why: string }

export class ServingShares<H extends ShareHolder = ShareHolder> {
  private readonly byPeer = new Map<string, Set<H>>()
  private total = 0

  constructor (readonly limits: ShareLimits) {}

  get streams (): number { return this.total }
  get peers (): number { return this.byPeer.size }

  /**
   * Takes a new stream, or says why not. At the global total, a peer holding fewer streams
   * than the largest holder by two or more gets one of that holder's, which the caller ends.
   */
  admit (holder: H): Admission<H> {
    const mine = this.byPeer.get(holder.peer)?.size ?? 0
    if (mine >= MAX_INBOUND_STREAMS) return { admitted: false, why: `${mine} exchange streams from this peer are open already, the limit is ${MAX_INBOUND_STREAMS}` }
    let shed: H | undefined
    if (this.total >= this.limits.maxStreams) {
      const largest = this.largestByStreams()
      if (largest === undefined || largest.size < mine + 2) return { admitted: false, why: `the node serves ${this.total} exchange streams, its limit, and this peer holds its share` }
      shed = [...largest][0]
      this.remove(shed)
    }
    this.add(holder)
    return shed === undefined ? { admitted: true } : { admitted: true, shed }
  }

  /** The stream ended: its slot and its bytes are free. */
  remove (holder: H): void {
    const set = this.byPeer.get(holder.peer)
    if (set?.delete(holder) !== true) return
    this.total--
    if (set.size === 0) this.byPeer.delete(holder.peer)
  }

  /** Bytes held for all streams now. */
  bufferedBytes (): number {
    let sum = 0
    for (const set of this.byPeer.values()) for (const h of set) sum += h.buffered
    return sum
  }

  /**
   * Whether a stream may hold `bytes` more: the total stays within the bound, and its peer
   * within its fair share. Above the minimum slice a peer also leaves free the room a
   * newcomer's slice needs, so the largest holders are the first to wait.
   */
  mayBuffer (holder: ShareHolder, bytes: number): boolean {
    const { maxBufferedBytes, minSlice } = this.limits
    const total = this.bufferedBytes()
    if (total + bytes > maxBufferedBytes) return false
    const held = this.heldBy(holder.peer)
    if (held + bytes <= minSlice) return true
    const share = Math.max(minSlice, maxBufferedBytes / Math.max(1, this.byPeer.size))
    return held + bytes <= share && total + bytes <= maxBufferedBytes - minSlice
  }

  private heldBy (peer: string): number {
    let sum = 0
    for (const h of this.byPeer.get(peer) ?? []) sum += h.buffered
    return sum
  }

  private add (holder: H): void {
    let set = this.byPeer.get(holder.peer)
    if (set === undefined) {
      set = new Set()
      this.byPeer.set(holder.peer, set)
    }
    set.add(holder)
    this.total++
  }

  private largestByStreams (): Set<H> | undefined {
    let largest: Set<H> | undefined
    for (const set of this.byPeer.values()) if (largest === undefined || set.size > largest.size) largest = set
    return largest
  }
}
