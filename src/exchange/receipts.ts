// Completion receipts, both sides. A fetcher that has stored and pinned a whole root tells
// each provider that served it blocks what it got from that provider, one RECEIPT on a fresh
// stream of RECEIPT_PROTOCOL (the connection has authenticated the peer). Best effort: a
// provider gone, or one that predates receipts (it refuses the protocol at negotiation), is
// skipped, and each send is bounded by RECEIPT_TIMEOUT. Receipts go out in the background
// once the fetch's result is known; `stop` waits for those still on their way.
// A provider takes one receipt per stream into its share records (share-records.ts).
import type { ComponentLogger, Libp2p, Logger, PeerId, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { CID } from 'multiformats/cid'
import { PeerUnavailableError, ProtocolError } from '../errors.js'
import { RECEIPT_PROTOCOL, RECEIPT_TIMEOUT } from './constants.js'
import { handleMessage, RECEIPT_HANDLERS } from './handlers/index.js'
import type { Offence } from './penalties.js'
import type { ShareRecords } from './share-records.js'
import { Message, readMessages, send } from './wire.js'

export interface ReceiptServiceComponents {
  libp2p: Pick<Libp2p, 'handle' | 'unhandle' | 'dialProtocol'>
  records: ShareRecords
  /** A malformed receipt costs its sender as any protocol violation does. */
  penalise: (peer: PeerId, offence: Offence, why: string) => void
  logger: ComponentLogger
}

/** What a fetch reports to one provider. */
export interface ServedBy { peer: string, bytes: number, blocks: number }

/** Receipt streams one peer may hold open at once (each carries one message). */
const MAX_RECEIPT_STREAMS = 4

export class ReceiptService {
  private readonly log: Logger
  private readonly sending = new Set<Promise<void>>()
  private readonly stopping = new AbortController()

  constructor (private readonly components: ReceiptServiceComponents) {
    this.log = components.logger.forComponent('peerlink:exchange:receipts')
  }

  async start (): Promise<void> {
    await this.components.libp2p.handle(RECEIPT_PROTOCOL, (stream, connection) => { void this.take(stream, connection.remotePeer) }, {
      maxInboundStreams: MAX_RECEIPT_STREAMS,
      runOnLimitedConnection: false
    })
  }

  /** Stops taking receipts, and waits (at most RECEIPT_TIMEOUT) for those being sent. */
  async stop (): Promise<void> {
    await this.components.libp2p.unhandle(RECEIPT_PROTOCOL)
    await Promise.allSettled([...this.sending])
    this.stopping.abort()
  }

  /**
   * Sends each provider that served blocks its receipt, in the background: returns at once.
   * `started` and `completed` are the fetch's, in ms since the epoch.
   */
  send (root: CID, providers: ServedBy[], started: number, completed: number): void {
    for (const p of providers) {
      if (p.blocks === 0) continue
      const sent = this.sendOne(root, p, started, completed).catch((err: Error) => {
        this.log('no receipt to %s: %s', p.peer, err.message)
      }).finally(() => { this.sending.delete(sent) })
      this.sending.add(sent)
    }
  }

  private async sendOne (root: CID, p: ServedBy, started: number, completed: number): Promise<void> {
    const signal = AbortSignal.any([AbortSignal.timeout(RECEIPT_TIMEOUT), this.stopping.signal])
    const stream = await this.components.libp2p.dialProtocol(peerIdFromString(p.peer), RECEIPT_PROTOCOL, { signal })
    try {
      await send(stream, {
        type: Message.Type.RECEIPT,
        root: root.bytes,
        bytes: BigInt(p.bytes),
        blocks: BigInt(p.blocks),
        started: BigInt(started),
        completed: BigInt(completed)
      }, signal, RECEIPT_TIMEOUT)
      await stream.close({ signal })
    } catch (err) {
      stream.abort(err as Error)
      throw err
    }
  }

  /** Takes the one receipt a stream carries, within RECEIPT_TIMEOUT. */
  private async take (stream: Stream, peer: PeerId): Promise<void> {
    const timer = setTimeout(() => { stream.abort(new PeerUnavailableError(`no receipt within ${RECEIPT_TIMEOUT / 1000} s`)) }, RECEIPT_TIMEOUT)
    const context = {
      receipt: (root: string, r: Parameters<ShareRecords['receipt']>[2]) => {
        if (!this.components.records.receipt(peer.toString(), root, r)) this.log('ignoring a receipt from %p for %s: it was sent nothing of it', peer, root)
      }
    }
    try {
      let taken = 0
      for await (const msg of readMessages(stream)) {
        if (++taken > 1) throw new ProtocolError('more than one RECEIPT on a stream')
        await handleMessage(RECEIPT_HANDLERS, msg, context)
      }
      await stream.close()
    } catch (err) {
      if (err instanceof ProtocolError) this.components.penalise(peer, err.offence, err.message)
      stream.abort(err as Error)
    } finally {
      clearTimeout(timer)
    }
  }
}
