// WANT, requester to provider: which of these blocks of a root do you hold (have_only), or
// send them. Blocks are queued for the stream's sender, up to MAX_QUEUED_BLOCKS at once; a
// query's lookups are charged to the peer's work budget first.
import { ProtocolError } from '../../errors.js'
import { MAX_QUEUED_BLOCKS } from '../constants.js'
import { Message, parseCid, toBitfield } from '../wire.js'
import type { MessageHandler, ServingContext } from './handler.js'

export const want: MessageHandler<ServingContext> = {
  check (msg) {
    if (msg.cids.length === 0) throw new ProtocolError('WANT names no CIDs')
    if (msg.root.byteLength === 0) throw new ProtocolError('WANT names no root')
    if (msg.data.byteLength !== 0 || msg.cid.byteLength !== 0) throw new ProtocolError('WANT carries block fields')
  },

  async handle (msg, stream) {
    // A query waits for its peer's budget before its CIDs are parsed, so a peer held back
    // holds its raw message, not thousands of parsed CIDs, while it waits.
    if (msg.haveOnly) await stream.charge(msg.cids.length)
    const cids = msg.cids.map((c, i) => parseCid(c, `WANT CID ${i}`))
    const root = parseCid(msg.root, 'WANT root')
    if (msg.haveOnly) {
      const has = await stream.has(cids)
      await stream.send({ type: Message.Type.HAVE, id: msg.id, root: msg.root, bitfield: toBitfield(has) })
      return
    }
    if (stream.queued + cids.length > MAX_QUEUED_BLOCKS) {
      throw new ProtocolError(`${stream.queued + cids.length} blocks wanted at once, the limit is ${MAX_QUEUED_BLOCKS}`, 'flood')
    }
    stream.enqueue(msg.id, cids, root)
  }
}
