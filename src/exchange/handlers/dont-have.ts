// DONT_HAVE, provider to requester: it does not hold the block a request asked for.
import { ProtocolError } from '../../errors.js'
import { answerBlockRequest, type MessageHandler, type RequestingContext } from './handler.js'

export const dontHave: MessageHandler<RequestingContext> = {
  check (msg) {
    if (msg.cid.byteLength === 0) throw new ProtocolError('DONT_HAVE without a CID')
    if (msg.data.byteLength !== 0) throw new ProtocolError('DONT_HAVE carries data')
  },
  handle (msg, requests) {
    answerBlockRequest(msg, requests, undefined)
  }
}
