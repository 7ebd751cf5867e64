// The provider side of the exchange: answers WANTs on inbound streams from the blockstore.
// Each message is routed by its type to its handler (handlers/); each stream has one queue
// of requested blocks (bounded) served in order with backpressure (inbound-stream.ts); CANCEL
// drops queued entries. Any violation resets the stream and costs the peer penalty points; a
// banned peer's streams are refused and its connections closed.
import type { ComponentLogger, Connection, Libp2p, Logger, PeerId, Stream } from '@libp2p/interface'
import { PeerUnavailableError, ProtocolError } from '../errors.js'
import { EXCHANGE_PROTOCOL, MAX_INBOUND_STREAMS, STREAM_IDLE_TIMEOUT } from './constants.js'
import { handleMessage, PROVIDER_HANDLERS } from './handlers/index.js'
import { InboundStream, type BlockReader, type ServerStats } from './inbound-stream.js'
import type { Offence, PeerPenalties } from './penalties.js'
import { readMessages } from './wire.js'

export type { BlockReader, ServerStats }

export interface ExchangeServerComponents {
  libp2p: Pick<Libp2p, 'handle' | 'unhandle' | 'hangUp'>
  blocks: BlockReader
  penalties: PeerPenalties
  logger: ComponentLogger
}

export interface ExchangeServerOptions {
  /**
   * A stream with nothing asked and nothing to send is closed after this long, and a send
   * the peer does not read for this long fails (default STREAM_IDLE_TIMEOUT).
   */
  idleTimeout?: number
}

export class ExchangeServer {
  private readonly log: Logger
  private readonly streams = new Set<Stream>()
  /** Open streams per peer: libp2p's maxInboundStreams counts per connection, and a peer may hold several. */
  private readonly perPeer = new Map<string, number>()
  readonly stats: ServerStats = { streams: 0, blocksSent: 0, bytesSent: 0, violations: 0 }
  private readonly idleTimeout: number

  constructor (private readonly components: ExchangeServerComponents, options: ExchangeServerOptions = {}) {
    this.log = components.logger.forComponent('peerlink:exchange:server')
    this.idleTimeout = options.idleTimeout ?? STREAM_IDLE_TIMEOUT
  }

  async start (): Promise<void> {
    await this.components.libp2p.handle(EXCHANGE_PROTOCOL, (stream, connection) => { void this.serve(stream, connection) }, {
      maxInboundStreams: MAX_INBOUND_STREAMS,
      runOnLimitedConnection: false
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
    if (!this.admit(peer, stream)) return
    const key = peer.toString()
    this.perPeer.set(key, (this.perPeer.get(key) ?? 0) + 1)
    this.streams.add(stream)
    this.stats.streams++
    const inbound = new InboundStream(stream, { peer, blocks: this.components.blocks, stats: this.stats, idleTimeout: this.idleTimeout, log: this.log })
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
      const left = (this.perPeer.get(key) ?? 1) - 1
      if (left > 0) this.perPeer.set(key, left)
      else this.perPeer.delete(key)
    }
  }

  /** Refuses the stream of a banned peer, or of one holding MAX_INBOUND_STREAMS open already. */
  private admit (peer: PeerId, stream: Stream): boolean {
    if (this.components.penalties.isBanned(peer)) {
      stream.abort(new ProtocolError('banned'))
      return false
    }
    const open = this.perPeer.get(peer.toString()) ?? 0
    if (open >= MAX_INBOUND_STREAMS) {
      stream.abort(new PeerUnavailableError(`${open} exchange streams from this peer are open already, the limit is ${MAX_INBOUND_STREAMS}`))
      return false
    }
    return true
  }
}
