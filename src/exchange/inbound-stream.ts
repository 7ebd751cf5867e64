// The provider's side of one inbound exchange stream: a bounded queue of requested blocks,
// sent in order by one sender with backpressure, reads from the store running a few blocks
// ahead of the sends. A stream with nothing asked and nothing to send is closed once idle.
import type { Logger, PeerId, Stream } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import { BlockNotFoundError, PeerUnavailableError } from '../errors.js'
import type { ServingContext } from './handlers/index.js'
import { Message, send, type Outgoing } from './wire.js'

/** What a provider serves blocks from. */
export interface BlockReader {
  get (cid: CID, options?: { signal?: AbortSignal }): Promise<Uint8Array>
  hasMany (cids: CID[], options?: { signal?: AbortSignal }): Promise<boolean[]>
}

export interface ServerStats { streams: number, blocksSent: number, bytesSent: number, violations: number }

/** Blocks read from the store ahead of the one being sent, per stream. */
const SERVE_READ_AHEAD = 4

/** A requested block waiting to be sent, with its read once started. */
interface Queued { id: bigint, cid: CID, bytes?: Promise<Uint8Array | undefined> }

export interface InboundStreamInit {
  peer: PeerId
  blocks: BlockReader
  stats: ServerStats
  idleTimeout: number
  log: Logger
}

export class InboundStream implements ServingContext {
  private readonly queue: Queued[] = []
  private wake: (() => void) | undefined
  private done = false
  private readonly controller = new AbortController()
  private lastActive = Date.now()
  private idle: NodeJS.Timeout | undefined
  private sender: Promise<void> | undefined

  constructor (private readonly stream: Stream, private readonly init: InboundStreamInit) {}

  get queued (): number { return this.queue.length }

  /** Starts the sender and the idle check. */
  start (): void {
    // libp2p 3 keeps a muxed stream open however long it is silent, so silence is timed here:
    // nothing heard and nothing left to send for idleTimeout ends the stream.
    const { idleTimeout } = this.init
    this.idle = setInterval(() => {
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

  /** Something was heard from the requester: the stream is not idle. */
  touch (): void {
    this.lastActive = Date.now()
  }

  enqueue (id: bigint, cids: CID[]): void {
    for (const cid of cids) this.queue.push({ id, cid })
    this.wake?.()
  }

  cancel (id: bigint): void {
    for (let i = this.queue.length - 1; i >= 0; i--) if (this.queue[i].id === id) this.queue.splice(i, 1)
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

  /** Stops sending at once: the stream is being reset. */
  abort (): void {
    this.done = true
    this.controller.abort()
    this.wake?.()
  }

  stop (): void {
    clearInterval(this.idle)
  }

  private async sendQueued (): Promise<void> {
    while (true) {
      const next = this.queue.shift()
      if (next === undefined) {
        if (this.done) return
        await new Promise<void>(resolve => { this.wake = resolve })
        this.wake = undefined
        continue
      }
      // Reads run ahead of the sends, so the disk and the socket work at the same time.
      for (let i = 0; i < Math.min(this.queue.length, SERVE_READ_AHEAD); i++) void this.read(this.queue[i])
      const bytes = await this.read(next)
      if (bytes === undefined) {
        await this.send({ type: Message.Type.DONT_HAVE, id: next.id, cid: next.cid.bytes })
      } else {
        await this.send({ type: Message.Type.BLOCK, id: next.id, cid: next.cid.bytes, data: bytes })
        this.init.stats.blocksSent++
        this.init.stats.bytesSent += bytes.byteLength
      }
      this.lastActive = Date.now()
    }
  }

  private read (q: Queued): Promise<Uint8Array | undefined> {
    if (q.bytes === undefined) {
      q.bytes = this.init.blocks.get(q.cid, { signal: this.controller.signal }).catch((err: Error) => {
        if (err instanceof BlockNotFoundError) return undefined
        throw err
      })
      q.bytes.catch(() => {}) // a cancelled entry's read may fail unobserved
    }
    return q.bytes
  }
}
