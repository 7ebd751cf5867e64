// HAVE, provider to requester: the answer to a have_only WANT, one bit per CID asked about.
// A bitfield of the wrong size, or a HAVE answering a block request, is a violation.
import { ProtocolError } from '../../errors.js'
import { fromBitfield } from '../wire.js'
import { carriesNoData, type MessageHandler, type RequestingContext } from './handler.js'

export const have: MessageHandler<RequestingContext> = {
  check: carriesNoData,
  handle (msg, requests) {
    const p = requests.claim(msg)
    if (p.kind !== 'have') throw new ProtocolError(`HAVE answering block request ${msg.id}`)
    const has = fromBitfield(msg.bitfield, p.count)
    requests.settle(msg.id)
    p.resolve(has)
  }
}
