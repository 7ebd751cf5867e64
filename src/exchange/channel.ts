// The requester's side of one exchange stream to one provider: HAVE queries and block
// requests with ids, answers matched to what was asked. An answer to a request never made,
// a block other than the one asked for, or a bitfield of the wrong size is a violation: the
// stream is reset and every open request fails, so the session moves the work elsewhere.
import type { PeerId, Stream } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import { PeerUnavailableError, ProtocolError } from '../errors.js'
import { systemClock, type Clock } from './clock.js'
import { handleMessage, REQUESTER_HANDLERS, type PendingRequest, type RequestingContext } from './handlers/index.js'
import { Message, readMessages, send, type Outgoing } from './wire.js'

/** What a fetch session needs of its link to one provider. */
export interface ExchangeChannel {
  readonly peer: PeerId
  /** False once the channel failed or was closed: every open request has been rejected. */
  readonly open: boolean
  /** Requests asked and not yet answered. */
  readonly outstanding: number
  /** Set when the provider broke the protocol (as opposed to going away). */
  readonly violation: ProtocolError | undefined
  /**
   * Settles with the reason once the channel has failed or was closed, also when nothing was
   * asked of it then (no request of its own would have told the session).
   */
  readonly closed: Promise<Error>
  /**
   * The stream ended (the provider closed or reset it, or it broke) while nothing was asked
   * of it, or before any answer to what was asked after it had been idle CROSSING_IDLE_MS: as
   * a provider ends a stream idle past its timeout, also when that crossed new requests. The
   * provider may well be there still, for a new stream.
   */
  readonly endedIdle: boolean
  /** Which of `cids` the provider holds. */
  have: (cids: CID[], options?: { signal?: AbortSignal }) => Promise<boolean[]>
  /** Asks for one block: its unverified bytes, or undefined when the provider lacks it. */
  request: (cid: CID) => { id: bigint, result: Promise<Uint8Array | undefined> }
  /**
   * Gives a request up: its result resolves as undefined. Its answer may be on the wire already:
   * that one late answer is not a violation, and a block in it goes to `onLateBlock`.
   */
  cancel: (id: bigint) => void
  /** Takes the block a cancelled request still got, unverified (set by the session). */
  onLateBlock?: (cid: CID, bytes: Uint8Array) => void
  /** How long the provider has answered nothing while something was asked of it (0 when nothing is). */
  silentFor: (now: number) => number
  /** Ends the channel; with an error, the stream is reset rather than closed. */
  close: (err?: Error) => void
}

/**
 * How a channel is opened: `lookUp` says the addresses the opener knows for the peer failed
 * already: it asks where the peer is now (a DHT walk) and dials what that adds.
 */
export interface OpenChannelOptions { signal?: AbortSignal, lookUp?: boolean }

/** Opens a channel to a provider, ready for requests. */
export type OpenChannel = (peer: PeerId, options: OpenChannelOptions) => Promise<ExchangeChannel>

/**
 * A stream idle this long before requests were sent, that ends before any answer to them,
 * may have crossed the provider's idle timeout (a second or more; a minute by default):
 * `endedIdle`. A fresh stream, or one busy until just before, that ends so went away.
 */
export const CROSSING_IDLE_MS = 500

/** Ids of cancelled requests are remembered this long: their answers may already be on the way. */
const CANCELLED_MEMORY = 1024

export class ProviderChannel implements ExchangeChannel {
  private nextId = 1n
  private readonly pending = new Map<bigint, PendingRequest>()
  /** Cancelled requests by id, each answered at most once more (its answer was on the way). */
  private readonly cancelled = new Map<bigint, PendingRequest>()
  private failure: Error | undefined
  private readonly ended = Promise.withResolvers<Error>()
  readonly closed = this.ended.promise
  private reading = false
  private lastProgress: number
  /** Since when nothing has been asked (when nothing is), and how long that lasted before the requests now open. */
  private idleSince: number
  private idleBefore = 0
  /** Whether anything came from the provider since the requests now open began. */
  private heardSinceAsked = false
  violation: ProtocolError | undefined
  endedIdle = false
  onLateBlock: ((cid: CID, bytes: Uint8Array) => void) | undefined

  constructor (readonly peer: PeerId, private readonly stream: Stream, private readonly root: CID, private readonly clock: Pick<Clock, 'now'> = systemClock) {
    this.lastProgress = clock.now()
    this.idleSince = this.lastProgress
  }

  get open (): boolean { return this.failure === undefined }
  get outstanding (): number { return this.pending.size }

  /** Starts reading the provider's answers; the first request starts it too. */
  start (): void {
    if (this.reading) return
    this.reading = true
    void this.read()
  }

  async have (cids: CID[], options: { signal?: AbortSignal } = {}): Promise<boolean[]> {
    const { promise, resolve, reject } = Promise.withResolvers<boolean[]>()
    const id = this.register({ kind: 'have', count: cids.length, resolve, reject })
    await this.write({ type: Message.Type.WANT, id, root: this.root.bytes, cids: cids.map(c => c.bytes), haveOnly: true }, options.signal)
    return await promise
  }

  /**
   * A provider serves a stream's requests in order, so on a slow link the last of many
   * requests waits long for its answer; silence this long means a stall.
   */
  silentFor (now: number): number {
    return this.pending.size === 0 ? 0 : now - this.lastProgress
  }

  request (cid: CID): { id: bigint, result: Promise<Uint8Array | undefined> } {
    const { promise, resolve, reject } = Promise.withResolvers<Uint8Array | undefined>()
    const id = this.register({ kind: 'block', cid, resolve, reject })
    this.write({ type: Message.Type.WANT, id, root: this.root.bytes, cids: [cid.bytes] }).catch(reject)
    return { id, result: promise }
  }

  cancel (id: bigint): void {
    const p = this.pending.get(id)
    if (p === undefined) return
    this.forget(id, p)
    if (p.kind === 'block') p.resolve(undefined)
    else p.reject(new PeerUnavailableError('cancelled'))
    if (this.open) this.write({ type: Message.Type.CANCEL, id }).catch(() => {})
  }

  close (err?: Error): void {
    if (this.failure !== undefined) return
    // A provider serves what is still asked of a stream closed gracefully, and a CANCEL does
    // not reach the blocks it has handed to its stream already (megabytes on a slow link): a
    // channel closed with blocks still asked is reset instead, which drops them at the
    // provider. With nothing asked, the stream closes gracefully.
    const givingUp = err === undefined && [...this.pending.values()].some(p => p.kind === 'block')
    this.failure = err ?? new PeerUnavailableError(`exchange stream to ${this.peer.toString()} closed`)
    for (const p of this.pending.values()) p.reject(this.failure)
    this.pending.clear()
    this.ended.resolve(this.failure)
    if (err !== undefined || givingUp) this.stream.abort(err ?? new PeerUnavailableError('the blocks still asked are no longer wanted'))
    else void this.stream.close().catch(() => {})
  }

  /** Whether the stream, ending now, ended idle (see `endedIdle`). */
  private wasIdle (): boolean {
    return this.open && (this.pending.size === 0 || (!this.heardSinceAsked && this.idleBefore >= CROSSING_IDLE_MS))
  }

  /**
   * Drops a request whose answer may still come: that answer is then checked as any other (a
   * block other than the one asked for is a violation), a block in it handed to `onLateBlock`.
   */
  private forget (id: bigint, p: PendingRequest): void {
    this.settled(id)
    const ignore = (): void => {}
    this.cancelled.set(id, p.kind === 'block'
      ? { kind: 'block', cid: p.cid, resolve: (bytes) => { if (bytes !== undefined) this.onLateBlock?.(p.cid, bytes) }, reject: ignore }
      : { ...p, resolve: ignore, reject: ignore })
    if (this.cancelled.size > CANCELLED_MEMORY) this.cancelled.delete(this.cancelled.keys().next().value as bigint)
  }

  private settled (id: bigint): void {
    if (this.pending.delete(id) && this.pending.size === 0) this.idleSince = this.clock.now()
  }

  private register (p: PendingRequest): bigint {
    if (this.failure !== undefined) throw this.failure
    this.start()
    if (this.pending.size === 0) {
      this.lastProgress = this.clock.now() // silence counts from here
      this.idleBefore = this.lastProgress - this.idleSince
      this.heardSinceAsked = false
    }
    const id = this.nextId++
    this.pending.set(id, p)
    return id
  }

  private async write (msg: Outgoing, signal?: AbortSignal): Promise<void> {
    if (this.failure !== undefined) throw this.failure
    await send(this.stream, msg, signal)
  }

  /** The open requests, as the answer handlers see them. */
  private readonly requests: RequestingContext = {
    claim: (msg) => {
      const p = this.pending.get(msg.id)
      if (p !== undefined) return p
      // The one answer a cancelled request may still get; a second is not allowed.
      const late = this.cancelled.get(msg.id)
      if (late !== undefined) {
        this.cancelled.delete(msg.id)
        return late
      }
      throw new ProtocolError(`${msg.type} for request ${msg.id} that was never made or was answered already`)
    },
    settle: (id) => { this.settled(id) }
  }

  private async read (): Promise<void> {
    try {
      for await (const msg of readMessages(this.stream)) {
        this.lastProgress = this.clock.now()
        this.heardSinceAsked = true
        await handleMessage(REQUESTER_HANDLERS, msg, this.requests)
      }
      this.endedIdle = this.wasIdle()
      this.close(new PeerUnavailableError(`${this.peer.toString()} closed the exchange stream`))
    } catch (err) {
      if (err instanceof ProtocolError) this.violation = err
      else this.endedIdle = this.wasIdle()
      this.close(err instanceof ProtocolError ? err : new PeerUnavailableError(`exchange stream to ${this.peer.toString()} failed: ${(err as Error).message}`, { cause: err }))
    }
  }
}

/** Opens channels to providers of `root` over exchange streams that `openStream` opens. */
export function streamChannels (root: CID, openStream: (peer: PeerId, options: OpenChannelOptions) => Promise<Stream>, clock: Pick<Clock, 'now'> = systemClock): OpenChannel {
  return async (peer, options) => {
    const channel = new ProviderChannel(peer, await openStream(peer, options), root, clock)
    channel.start()
    return channel
  }
}
