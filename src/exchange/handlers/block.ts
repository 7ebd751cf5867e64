// BLOCK, provider to requester: the bytes of the one block a request asked for, unverified
// (the session's sink hashes them before they are stored).
import { ProtocolError } from '../../errors.js'
import { answerBlockRequest, type MessageHandler, type RequestingContext } from './handler.js'

export const block: MessageHandler<RequestingContext> = {
  check (msg) {
    if (msg.cid.byteLength === 0) throw new ProtocolError('BLOCK without a CID')
  },
  handle (msg, requests) {
    answerBlockRequest(msg, requests, msg.data)
  }
}
