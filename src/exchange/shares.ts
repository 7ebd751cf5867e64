// The provider's global bounds, the same whatever the number of identities asking: total
// inbound exchange streams and total bytes held for all of them (blocks read and not yet
// sent, and bytes sent into a stream but not yet taken by the peer). Each peer with streams
// open gets a fair share of both: 1/N of the pie among N peers. A newcomer always gets a
// minimum slice: a stream, made room for by shedding one of the largest holder's, and a few
// blocks of buffer from a reserve that only the peer holding least may use.
import { MAX_INBOUND_STREAMS } from './constants.js'

/** What one served stream holds now. */
export interface ShareHolder {
  /** Who the share is counted for: a peer, or every peer on one address (server.ts's partyOf). */
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
  /** The last bytes below the bound, kept for the peer holding least. */
  reserve: number
}

/** What all peers hold at one moment, and the two peers holding least. */
interface Snapshot { total: number, held: Map<string, number>, least: Array<[string, number]> }

export type Admission<H> = { admitted: true, shed?: H } | { admitted: false, why: string }

export class ServingShares<H extends ShareHolder = ShareHolder> {
  private readonly byPeer = new Map<string, Set<H>>()
  /** Streams refused room, waiting for it. */
  private readonly waiting = new Set<H>()
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
    this.waiting.delete(holder)
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
   * within its fair share (never less than the minimum slice). The last `reserve` bytes go
   * only to the peer holding least. When room is short, a stream that is refused waits its
   * turn: room goes first to the waiting peer holding fewest streams (least bytes, if
   * equal), so a newcomer is served before the largest holders.
   */
  mayBuffer (holder: H, bytes: number): boolean {
    const snap = this.snapshot()
    if (this.fits(snap, holder.peer, bytes) && !this.yields(snap, holder, bytes)) {
      this.waiting.delete(holder)
      return true
    }
    this.waiting.add(holder)
    return false
  }

  /** The stream wants no room now (it has nothing left to read). */
  idle (holder: H): void {
    this.waiting.delete(holder)
  }

  private snapshot (): Snapshot {
    const held = new Map<string, number>()
    let total = 0
    for (const [peer, set] of this.byPeer) {
      let sum = 0
      for (const h of set) sum += h.buffered
      held.set(peer, sum)
      total += sum
    }
    const sorted = [...held].sort((a, b) => a[1] - b[1]).slice(0, 2)
    return { total, held, least: sorted }
  }

  private fits (snap: Snapshot, peer: string, bytes: number): boolean {
    const { maxBufferedBytes, minSlice, reserve } = this.limits
    if (snap.total + bytes > maxBufferedBytes) return false
    const held = snap.held.get(peer) ?? 0
    if (held + bytes > Math.max(minSlice, maxBufferedBytes / Math.max(1, this.byPeer.size))) return false
    if (snap.total + bytes <= maxBufferedBytes - reserve) return true
    // The reserve: only for the peer holding least; a peer alone leaves it for the next one.
    const other = snap.least.find(([p]) => p !== peer)
    return other !== undefined && held <= other[1]
  }

  /** Whether a waiting stream of another peer, holding less, should have the room first. */
  private yields (snap: Snapshot, holder: H, bytes: number): boolean {
    const mine = this.rank(snap, holder.peer)
    for (const w of this.waiting) {
      if (w.peer === holder.peer) continue
      const theirs = this.rank(snap, w.peer)
      const before = theirs[0] < mine[0] || (theirs[0] === mine[0] && theirs[1] < mine[1])
      if (before && this.fits(snap, w.peer, bytes)) return true
    }
    return false
  }

  /**
   * Streams held, then bytes held: the lower goes first. Streams come first because a peer's
   * bytes held say little on their own: an honest reader's are always on their way out,
   * while a stream that reads nothing holds none once it waits for room.
   */
  private rank (snap: Snapshot, peer: string): [number, number] {
    return [this.byPeer.get(peer)?.size ?? 0, snap.held.get(peer) ?? 0]
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
