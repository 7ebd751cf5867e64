// The provider side of the exchange: answers WANTs on inbound streams from the blockstore.
// Each stream has one queue of requested blocks (bounded) served in order with
// backpressure; CANCEL drops queued entries. Any violation resets the stream and costs the
// peer penalty points; a banned peer's streams are refused and its connections closed.
import type { ComponentLogger, Connection, Libp2p, Logger, PeerId, Stream } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import { BlockNotFoundError, PeerUnavailableError, ProtocolError } from '../errors.js'
import { EXCHANGE_PROTOCOL, MAX_INBOUND_STREAMS, MAX_QUEUED_BLOCKS, STREAM_IDLE_TIMEOUT } from './constants.js'
import type { Offence, PeerPenalties } from './penalties.js'
import { checkShape, Message, parseCid, readMessages, send, toBitfield } from './wire.js'

/** What a provider serves blocks from. */
export interface BlockReader {
  get (cid: CID, options?: { signal?: AbortSignal }): Promise<Uint8Array>
  hasMany (cids: CID[], options?: { signal?: AbortSignal }): Promise<boolean[]>
}

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

export interface ServerStats { streams: number, blocksSent: number, bytesSent: number, violations: number }

const FROM_REQUESTER = new Set([Message.Type.WANT, Message.Type.CANCEL])

/** Blocks read from the store ahead of the one being sent, per stream. */
const SERVE_READ_AHEAD = 4

/** A requested block waiting to be sent, with its read once started. */
interface Queued { id: bigint, cid: CID, bytes?: Promise<Uint8Array | undefined> }

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
    if (this.components.penalties.isBanned(peer)) {
      stream.abort(new ProtocolError('banned'))
      return
    }
    const key = peer.toString()
    const open = this.perPeer.get(key) ?? 0
    if (open >= MAX_INBOUND_STREAMS) {
      stream.abort(new PeerUnavailableError(`${open} exchange streams from this peer are open already, the limit is ${MAX_INBOUND_STREAMS}`))
      return
    }
    this.perPeer.set(key, open + 1)
    this.streams.add(stream)
    this.stats.streams++
    const queue: Queued[] = []
    let wake: (() => void) | undefined
    let done = false
    const controller = new AbortController()
    // libp2p 3 keeps a muxed stream open however long it is silent, so silence is timed here:
    // nothing heard and nothing left to send for idleTimeout ends the stream.
    let lastActive = Date.now()
    const idle = setInterval(() => {
      if (queue.length > 0 || wake === undefined || Date.now() - lastActive < this.idleTimeout) return
      this.log('closing the idle stream from %p', peer)
      stream.abort(new PeerUnavailableError(`nothing asked for ${this.idleTimeout / 1000} s`))
    }, Math.max(50, this.idleTimeout / 4))
    idle.unref()
    const read = (q: Queued): Promise<Uint8Array | undefined> => {
      if (q.bytes === undefined) {
        q.bytes = this.components.blocks.get(q.cid, { signal: controller.signal }).catch((err: Error) => {
          if (err instanceof BlockNotFoundError) return undefined
          throw err
        })
        q.bytes.catch(() => {}) // a cancelled entry's read may fail unobserved
      }
      return q.bytes
    }
    const sender = (async () => {
      while (true) {
        const next = queue.shift()
        if (next === undefined) {
          if (done) return
          await new Promise<void>(resolve => { wake = resolve })
          wake = undefined
          continue
        }
        // Reads run ahead of the sends, so the disk and the socket work at the same time.
        for (let i = 0; i < Math.min(queue.length, SERVE_READ_AHEAD); i++) void read(queue[i])
        const bytes = await read(next)
        if (bytes === undefined) {
          await send(stream, { type: Message.Type.DONT_HAVE, id: next.id, cid: next.cid.bytes }, controller.signal, this.idleTimeout)
        } else {
          await send(stream, { type: Message.Type.BLOCK, id: next.id, cid: next.cid.bytes, data: bytes }, controller.signal, this.idleTimeout)
          this.stats.blocksSent++
          this.stats.bytesSent += bytes.byteLength
        }
        lastActive = Date.now()
      }
    })()
    // A read failure while serving (storage, not the peer) ends the stream rather than leaving
    // the requester waiting on answers that will never come.
    sender.catch((err: Error) => {
      if (!controller.signal.aborted) {
        this.log('serving %p failed: %s', peer, err.message)
        stream.abort(err)
      }
    })
    try {
      for await (const msg of readMessages(stream)) {
        lastActive = Date.now()
        checkShape(msg, FROM_REQUESTER)
        if (msg.type === Message.Type.CANCEL) {
          for (let i = queue.length - 1; i >= 0; i--) if (queue[i].id === msg.id) queue.splice(i, 1)
          continue
        }
        const cids = msg.cids.map((c, i) => parseCid(c, `WANT CID ${i}`))
        parseCid(msg.root, 'WANT root')
        if (msg.haveOnly) {
          const has = await this.components.blocks.hasMany(cids)
          await send(stream, { type: Message.Type.HAVE, id: msg.id, root: msg.root, bitfield: toBitfield(has) }, controller.signal, this.idleTimeout)
          continue
        }
        if (queue.length + cids.length > MAX_QUEUED_BLOCKS) {
          throw new ProtocolError(`${queue.length + cids.length} blocks wanted at once, the limit is ${MAX_QUEUED_BLOCKS}`, 'flood')
        }
        for (const cid of cids) queue.push({ id: msg.id, cid })
        wake?.()
      }
      done = true
      wake?.()
      await sender
      await stream.close()
    } catch (err) {
      done = true
      controller.abort()
      wake?.()
      if (err instanceof ProtocolError) {
        this.penalise(peer, err.offence, err.message)
        stream.abort(err)
      } else {
        this.log('stream from %p ended: %s', peer, (err as Error).message)
        stream.abort(err as Error)
      }
    } finally {
      clearInterval(idle)
      this.streams.delete(stream)
      const left = (this.perPeer.get(key) ?? 1) - 1
      if (left > 0) this.perPeer.set(key, left)
      else this.perPeer.delete(key)
    }
  }
}
