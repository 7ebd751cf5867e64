// The provider's side of one inbound exchange stream: a bounded queue of requested blocks,
// sent in order by one sender with backpressure, reads from the store running a few blocks
// ahead of the sends. A stream with nothing asked and nothing to send is closed once idle.
// Every lookup and every block read is charged to the peer's work budget (budget.ts) and
// waits while the peer is in debt; every read first reserves room in the node's buffer
// (shares.ts), held until the block is handed to the stream, whose unsent bytes count too.
import { setTimeout as sleep } from 'node:timers/promises'
import type { Logger, PeerId, Stream } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import { BlockNotFoundError, PeerUnavailableError } from '../errors.js'
import { CID_LOOKUP_COST, type WorkBudget } from './budget.js'
import { MAX_MESSAGE_SIZE } from './constants.js'
import { RESEND_COST, type RecentSends } from './resends.js'
import type { ServingContext } from './handlers/index.js'
import type { ServingShares } from './shares.js'
import { Message, send, type Outgoing } from './wire.js'

/** What a provider serves blocks from. */
export interface BlockReader {
  get (cid: CID, options?: { signal?: AbortSignal }): Promise<Uint8Array>
  hasMany (cids: CID[], options?: { signal?: AbortSignal }): Promise<boolean[]>
}

export interface ServerStats {
  /** Streams served since the start. */
  streams: number
  blocksSent: number
  bytesSent: number
  violations: number
  /** Requests that waited because their peer was over its work budget. */
  slowed: number
  /** Streams open now. */
  readonly openStreams: number
  /** Parties holding streams now (peers, or addresses outside the allow-list). */
  readonly parties: number
  /** Bytes held for all streams now: blocks read and not yet sent, and unsent stream bytes. */
  readonly bufferedBytes: number
}

/** Blocks read from the store ahead of the one being sent, per stream. */
const SERVE_READ_AHEAD = 4

/** How often a read waiting for buffer room looks again. */
const ROOM_POLL = 20

/** Room a DONT_HAVE takes in the buffer: a CID and its frame. */
const DONT_HAVE_SIZE = 128

/** A requested block waiting to be sent, with its read once started and the buffer room it holds. */
interface Queued { id: bigint, cid: CID, root: CID, bytes?: Promise<Uint8Array | undefined>, reserved: number }

export interface InboundStreamInit {
  peer: PeerId
  /** Who the stream's work and room are counted for: the peer, or its address (server.ts's partyOf). */
  party: string
  blocks: BlockReader
  stats: ServerStats
  idleTimeout: number
  log: Logger
  budget: WorkBudget
  shares: ServingShares<InboundStream>
  /** Blocks sent lately, per peer: asking for them again costs more (resends.ts). */
  resends: RecentSends
  /** The peer has kept asking for more work than its budget: penalise it. */
  onFlood: (why: string) => void
  /** A block went out to the peer, under `root` as its request named it. */
  onServed?: (root: CID, bytes: number) => void
}

export class InboundStream implements ServingContext {
  private readonly queue: Queued[] = []
  private wake: (() => void) | undefined
  private done = false
  private readonly controller = new AbortController()
  private lastActive = Date.now()
  private idle: NodeJS.Timeout | undefined
  private sender: Promise<void> | undefined
  /** Unsent bytes at the last idle check, and since when none of them has gone out. */
  private unsent = 0
  private unsentSince = Date.now()
  /** Buffer room reserved by this stream's reads. */
  private reserved = 0
  /** The party the budget and the shares count this stream for (ShareHolder's `peer`). */
  readonly peer: string

  constructor (private readonly stream: Stream, readonly init: InboundStreamInit) {
    this.peer = init.party
  }

  get queued (): number { return this.queue.length }

  get buffered (): number {
    return this.reserved + (this.stream.status === 'open' ? this.stream.writeBufferLength : 0)
  }

  /** Starts the sender and the idle check. */
  start (): void {
    // libp2p 3 keeps a muxed stream open however long it is silent, so silence is timed here:
    // nothing heard and nothing left to send for idleTimeout ends the stream. So does unsent
    // data the peer takes none of for that long, even while the sender is not in a send (it
    // may be waiting for buffer room): the bytes it holds are the node's, not the peer's.
    const { idleTimeout } = this.init
    this.idle = setInterval(() => {
      if (this.stalled()) {
        this.init.log('closing the stream from %p: it read nothing for %d ms', this.init.peer, idleTimeout)
        this.stream.abort(new PeerUnavailableError(`the peer read nothing for ${idleTimeout / 1000} s`))
        return
      }
      if (this.queue.length > 0 || this.wake === undefined || Date.now() - this.lastActive < idleTimeout) return
      this.init.log('closing the idle stream from %p', this.init.peer)
      this.stream.abort(new PeerUnavailableError(`nothing asked for ${idleTimeout / 1000} s`))
    }, Math.max(50, idleTimeout / 4))
    this.idle.unref()
    this.sender = this.sendQueued()
    // A read failure while serving (storage, not the peer) ends the stream rather than leaving
    // the requester waiting on answers that will never come.
    this.sender.catch((err: Error) => {
      if (!this.controller.signal.aborted) {
        this.init.log('serving %p failed: %s', this.init.peer, err.message)
        this.stream.abort(err)
      }
    })
  }

  /** Whether the stream has held unsent bytes, none of which went out, for idleTimeout. */
  private stalled (): boolean {
    const unsent = this.stream.writeBufferLength
    const now = Date.now()
    if (unsent === 0 || unsent < this.unsent) this.unsentSince = now
    this.unsent = unsent
    return now - this.unsentSince >= this.init.idleTimeout
  }

  /** Something was heard from the requester: the stream is not idle. */
  touch (): void {
    this.lastActive = Date.now()
  }

  enqueue (id: bigint, cids: CID[], root: CID): void {
    const again = this.init.resends.count(this.init.peer.toString(), cids)
    if (again > 0) {
      // The reads wait for the debt (tryRead); only the penalty is decided here.
      const { wait, flood } = this.init.budget.charge(this.peer, again * RESEND_COST)
      if (flood) this.init.onFlood(`it keeps asking again for blocks it was sent (${wait} ms over budget)`)
    }
    for (const cid of cids) this.queue.push({ id, cid, root, reserved: 0 })
    this.wake?.()
  }

  cancel (id: bigint): void {
    for (let i = this.queue.length - 1; i >= 0; i--) {
      if (this.queue[i].id === id) this.unreserve(this.queue.splice(i, 1)[0])
    }
  }

  async charge (lookups: number): Promise<void> {
    const { wait, flood } = this.init.budget.charge(this.peer, lookups * CID_LOOKUP_COST)
    if (flood) this.init.onFlood(`have_only queries keep its work ${wait} ms over budget`)
    await this.slow(wait)
  }

  async has (cids: CID[]): Promise<boolean[]> {
    return await this.init.blocks.hasMany(cids, { signal: this.controller.signal })
  }

  async send (msg: Outgoing): Promise<void> {
    await send(this.stream, msg, this.controller.signal, this.init.idleTimeout)
  }

  /** The requester has asked all it will: sends what is queued, then closes the stream. */
  async finish (): Promise<void> {
    this.done = true
    this.wake?.()
    await this.sender
    await this.stream.close()
  }

  /** Stops sending at once: the stream is being reset. Queued reads are dropped with their room. */
  abort (): void {
    this.done = true
    this.controller.abort()
    this.queue.length = 0
    this.reserved = 0
    this.wake?.()
  }

  /** Resets the stream from outside: the node sheds it to make room for another peer. */
  shed (why: Error): void {
    this.abort()
    this.stream.abort(why)
  }

  stop (): void {
    clearInterval(this.idle)
  }

  private async sendQueued (): Promise<void> {
    while (true) {
      const next = this.queue.shift()
      if (next === undefined) {
        if (this.done) return
        this.init.shares.idle(this)
        await new Promise<void>(resolve => { this.wake = resolve })
        this.wake = undefined
        continue
      }
      // Reads run ahead of the sends, so the disk and the socket work at the same time, as
      // far as the peer's budget and the node's buffer allow.
      for (let i = 0; i < Math.min(this.queue.length, SERVE_READ_AHEAD); i++) this.tryRead(this.queue[i])
      while (next.bytes === undefined) {
        await this.slow(this.init.budget.delay(this.peer))
        if (!this.tryRead(next)) await sleep(ROOM_POLL, undefined, { signal: this.controller.signal })
      }
      const bytes = await next.bytes
      if (bytes === undefined) {
        this.unreserve(next)
        await this.send({ type: Message.Type.DONT_HAVE, id: next.id, cid: next.cid.bytes })
      } else {
        // The block's room passes to the stream's unsent bytes as it is handed over.
        const sent = this.send({ type: Message.Type.BLOCK, id: next.id, cid: next.cid.bytes, data: bytes })
        this.unreserve(next)
        await sent
        this.init.resends.note(this.init.peer.toString(), next.cid)
        this.init.stats.blocksSent++
        this.init.stats.bytesSent += bytes.byteLength
        this.init.onServed?.(next.root, bytes.byteLength)
      }
      this.lastActive = Date.now()
    }
  }

  /** Waits `ms` for the peer's budget (counted as slowing it). */
  private async slow (ms: number): Promise<void> {
    if (ms <= 0) return
    this.init.stats.slowed++
    await sleep(ms, undefined, { signal: this.controller.signal })
  }

  /** Starts a block's read if the peer is within budget and the node's buffer has room. */
  private tryRead (q: Queued): boolean {
    if (q.bytes !== undefined) return true
    if (this.init.budget.delay(this.peer) > 0 || !this.init.shares.mayBuffer(this, MAX_MESSAGE_SIZE)) return false
    q.reserved = MAX_MESSAGE_SIZE
    this.reserved += q.reserved
    q.bytes = this.init.blocks.get(q.cid, { signal: this.controller.signal }).then(bytes => {
      this.init.budget.charge(this.peer, bytes.byteLength, false)
      this.resize(q, bytes.byteLength + 64) // with its frame's header
      return bytes
    }, (err: Error) => {
      if (!(err instanceof BlockNotFoundError)) throw err
      // Only a DONT_HAVE goes out: the block's room is given back at once, or a peer asking for
      // blocks the node lacks, and never reading, would hold the buffer with reservations.
      this.resize(q, DONT_HAVE_SIZE)
      return undefined
    })
    q.bytes.catch(() => {}) // a cancelled entry's read may fail unobserved
    return true
  }

  private resize (q: Queued, bytes: number): void {
    if (q.reserved === 0 || this.controller.signal.aborted) return // released already (cancelled, or the stream was reset)
    this.reserved += bytes - q.reserved
    q.reserved = bytes
  }

  private unreserve (q: Queued): void {
    if (!this.controller.signal.aborted) this.reserved -= q.reserved
    q.reserved = 0
  }
}
