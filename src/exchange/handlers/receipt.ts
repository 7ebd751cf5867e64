// RECEIPT, fetcher to provider, on its own protocol (RECEIPT_PROTOCOL): the fetch of a root
// has completed, and this is what the fetcher got from this provider. Display only; a count
// past what a number holds exactly is malformed.
import { ProtocolError } from '../../errors.js'
import type { Receipt } from '../share-records.js'
import { parseCid } from '../wire.js'
import type { MessageHandler } from './handler.js'

/** What the provider's receipt handler acts on: where a well-formed receipt goes. */
export interface ReceiptContext {
  receipt: (root: string, receipt: Receipt) => void
}

export const receipt: MessageHandler<ReceiptContext> = {
  check (msg) {
    if (msg.root.byteLength === 0) throw new ProtocolError('RECEIPT names no root')
    if (msg.cids.length > 0 || msg.cid.byteLength > 0 || msg.data.byteLength > 0 || msg.bitfield.byteLength > 0) throw new ProtocolError('RECEIPT carries block fields')
    for (const field of ['bytes', 'blocks', 'started', 'completed'] as const) {
      if (msg[field] > BigInt(Number.MAX_SAFE_INTEGER)) throw new ProtocolError(`RECEIPT ${field} ${msg[field]} is past ${Number.MAX_SAFE_INTEGER}`)
    }
  },
  handle (msg, context) {
    const root = parseCid(msg.root, 'RECEIPT root').toString()
    context.receipt(root, { bytes: Number(msg.bytes), blocks: Number(msg.blocks), started: Number(msg.started), completed: Number(msg.completed) })
  }
}
