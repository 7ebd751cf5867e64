// The provider side of the exchange: answers WANTs on inbound streams from the blockstore.
// Each message is routed by its type to its handler (handlers/); each stream has one queue
// of requested blocks (bounded) served in order with backpressure (inbound-stream.ts); CANCEL
// drops queued entries. Any violation resets the stream and costs the peer penalty points; a
// banned peer's streams are refused and its connections closed. What all peers together may
// hold (streams, buffered bytes) is bounded and shared fairly (shares.ts); what each may ask
// per second is its work budget (budget.ts), where asking again for blocks just sent costs
// more (resends.ts). Both count parties, not identities: a peer, or
// every peer on one address outside the allow-list (partyOf).
import type { ComponentLogger, Connection, Libp2p, Logger, PeerId, Stream } from '@libp2p/interface'
import { PeerUnavailableError, ProtocolError } from '../errors.js'
import { WorkBudget, type BudgetOptions } from './budget.js'
import { systemClock, type Clock } from './clock.js'
import { EXCHANGE_PROTOCOL, MAX_BUFFERED_BYTES, MAX_INBOUND_STREAMS, MAX_MESSAGE_SIZE, MAX_SERVED_STREAMS, STREAM_IDLE_TIMEOUT } from './constants.js'
import { handleMessage, PROVIDER_HANDLERS } from './handlers/index.js'
import { InboundStream, type BlockReader, type ServerStats } from './inbound-stream.js'
import type { Offence, PeerPenalties } from './penalties.js'
import { RecentSends, type RecentSendsOptions } from './resends.js'
import type { ShareRecords } from './share-records.js'
import { ServingShares } from './shares.js'
import { readMessages } from './wire.js'

export type { BlockReader, ServerStats }

export interface ExchangeServerComponents {
  libp2p: Pick<Libp2p, 'handle' | 'unhandle' | 'hangUp'>
  blocks: BlockReader
  penalties: PeerPenalties
  logger: ComponentLogger
  /** Told of each block served, under the root its request named (share-records.ts). */
  records?: Pick<ShareRecords, 'served'>
}

export interface ExchangeServerOptions {
  /**
   * A stream with nothing asked and nothing to send is closed after this long, and a send
   * the peer does not read for this long fails (default STREAM_IDLE_TIMEOUT).
   */
  idleTimeout?: number
  /** Most bytes held for all inbound streams together (default MAX_BUFFERED_BYTES). */
  maxBufferedBytes?: number
  /** Most inbound exchange streams together (default MAX_SERVED_STREAMS). */
  maxStreams?: number
  /** The work budget's rates (default DEFAULT_BUDGET). */
  budget?: Partial<BudgetOptions>
  clock?: Pick<Clock, 'now'>
  /** How many sends are remembered, and how long, to charge re-asked blocks (default DEFAULT_RECENT_SENDS). */
  resends?: Partial<RecentSendsOptions>
  /** Serve over relayed (limited) connections too (config network.relayedTransfers; default off). */
  relayed?: boolean
  /**
   * Who a connection's streams are counted for (work budget, streams, buffer share): its
   * peer by default; the node counts every identity on one address outside the allow-list
   * as one (node/gate.ts), so identities cost nothing extra.
   */
  partyOf?: (connection: Connection) => string
}

/** How long a stream refused for want of room is held before it is reset. */
export const REFUSAL_HOLD = 5000

/** Refused streams held at once (each takes no more than its receive window, 256 KiB). */
const MAX_HELD_REFUSALS = MAX_SERVED_STREAMS

/** Buffer room a peer may hold however many share the buffer: two blocks, one read while one is sent. */
const MIN_BUFFER_SLICE = 2 * MAX_MESSAGE_SIZE

export class ExchangeServer {
  private readonly log: Logger
  private readonly streams = new Set<Stream>()
  /**
   * Open streams and their buffers, per peer and in all: libp2p's maxInboundStreams counts
   * per connection, and a peer may hold several connections, or be one of many identities.
   */
  private readonly shares: ServingShares<InboundStream>
  private readonly budget: WorkBudget
  /** Blocks each peer was sent lately: asked for again, they cost more (resends.ts). */
  private readonly resends: RecentSends
  /** Refused streams held until they are reset (refuse()). */
  private held = 0
  readonly stats: ServerStats
  private readonly idleTimeout: number
  private readonly partyOf: (connection: Connection) => string
  /** Whether exchange streams run over relayed (limited) connections, both ways. */
  readonly relayed: boolean

  constructor (private readonly components: ExchangeServerComponents, options: ExchangeServerOptions = {}) {
    this.log = components.logger.forComponent('peerlink:exchange:server')
    this.idleTimeout = options.idleTimeout ?? STREAM_IDLE_TIMEOUT
    this.relayed = options.relayed === true
    this.partyOf = options.partyOf ?? (connection => connection.remotePeer.toString())
    const maxBufferedBytes = options.maxBufferedBytes ?? MAX_BUFFERED_BYTES
    const shares = new ServingShares<InboundStream>({
      maxBufferedBytes,
      maxStreams: options.maxStreams ?? MAX_SERVED_STREAMS,
      minSlice: MIN_BUFFER_SLICE,
      reserve: Math.max(MIN_BUFFER_SLICE, maxBufferedBytes / 8)
    })
    this.shares = shares
    this.budget = new WorkBudget(() => shares.peers, options.clock ?? systemClock, options.budget)
    this.resends = new RecentSends(options.resends)
    this.stats = {
      streams: 0,
      blocksSent: 0,
      bytesSent: 0,
      violations: 0,
      slowed: 0,
      get openStreams () { return shares.streams },
      get parties () { return shares.peers },
      get bufferedBytes () { return shares.bufferedBytes() }
    }
  }

  async start (): Promise<void> {
    await this.components.libp2p.handle(EXCHANGE_PROTOCOL, (stream, connection) => { void this.serve(stream, connection) }, {
      maxInboundStreams: MAX_INBOUND_STREAMS,
      runOnLimitedConnection: this.relayed
    })
  }

  async stop (): Promise<void> {
    await this.components.libp2p.unhandle(EXCHANGE_PROTOCOL)
    for (const s of this.streams) s.abort(new Error('node stopping'))
    this.streams.clear()
  }

  /** Records an offence and, if it bans the peer, closes its connections. */
  penalise (peer: PeerId, offence: Offence, why: string): void {
    this.stats.violations++
    this.log('penalising %p for %s: %s', peer, offence, why)
    if (this.components.penalties.record(peer, offence)) {
      this.log('banned %p', peer)
      void this.components.libp2p.hangUp(peer).catch(() => {})
    }
  }

  private async serve (stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer
    const inbound = new InboundStream(stream, {
      peer,
      party: this.partyOf(connection),
      blocks: this.components.blocks,
      stats: this.stats,
      idleTimeout: this.idleTimeout,
      log: this.log,
      budget: this.budget,
      shares: this.shares,
      resends: this.resends,
      onFlood: (why) => { this.penalise(peer, 'flood', why) },
      onServed: (root, bytes) => { this.components.records?.served(peer.toString(), root.toString(), bytes) }
    })
    if (!this.admit(inbound, stream)) return
    this.streams.add(stream)
    this.stats.streams++
    inbound.start()
    try {
      for await (const msg of readMessages(stream)) {
        inbound.touch()
        await handleMessage(PROVIDER_HANDLERS, msg, inbound)
      }
      await inbound.finish()
    } catch (err) {
      inbound.abort()
      if (err instanceof ProtocolError) {
        this.penalise(peer, err.offence, err.message)
        stream.abort(err)
      } else {
        this.log('stream from %p ended: %s', peer, (err as Error).message)
        stream.abort(err as Error)
      }
    } finally {
      inbound.stop()
      this.streams.delete(stream)
      this.shares.remove(inbound)
      this.budget.release(inbound.peer)
    }
  }

  /**
   * Ends a stream refused for want of room, after REFUSAL_HOLD unread (paused: the peer can
   * send no more than its window), at most MAX_HELD_REFUSALS at a time, the rest at once.
   * Refused at once, a peer that asks again at once (16 identities on one address, each on
   * 16 streams, against that address's 16) costs a negotiation per try; and closing such a
   * peer's connection instead, as was done, also ended the streams it was served on, whose
   * places went to another identity's, which closed its connection in turn: streams came
   * and went 40 times a second, each with its block reads and each redial with a handshake,
   * and the honest fetch beside them took 2-12x as long (bench:abuse, unread). Held, each
   * try costs one negotiation per REFUSAL_HOLD and the streams served stay.
   */
  private refuse (stream: Stream, why: Error): void {
    // A stream the peer has closed already cannot be paused (pause() throws), nor be heard
    // closing again: it is reset at once.
    if (this.held >= MAX_HELD_REFUSALS || stream.status !== 'open' || stream.readStatus !== 'readable') {
      stream.abort(why)
      return
    }
    this.held++
    stream.pause()
    const timer = setTimeout(() => { stream.abort(why) }, REFUSAL_HOLD)
    timer.unref()
    stream.addEventListener('close', () => {
      clearTimeout(timer)
      this.held--
    }, { once: true })
  }

  /**
   * Refuses the stream of a banned peer, of one holding MAX_INBOUND_STREAMS open already, or
   * of one holding its share when the node serves its most streams; sheds a stream of the
   * largest holder to make room for a peer below its share.
   */
  private admit (inbound: InboundStream, stream: Stream): boolean {
    if (this.components.penalties.isBanned(inbound.init.peer)) {
      stream.abort(new ProtocolError('banned'))
      return false
    }
    const a = this.shares.admit(inbound)
    if (!a.admitted) {
      this.refuse(stream, new PeerUnavailableError(a.why))
      return false
    }
    if (a.shed !== undefined) {
      this.log('shedding a stream of %s to make room for %p', a.shed.peer, inbound.init.peer)
      a.shed.shed(new PeerUnavailableError('the node sheds a stream of the peer holding the most to make room for another'))
    }
    return true
  }
}
