// CANCEL, requester to provider: the blocks of a request are no longer wanted. Those still
// queued are dropped; one already on its way is not recalled.
import { carriesNoData, type MessageHandler, type ServingContext } from './handler.js'

export const cancel: MessageHandler<ServingContext> = {
  check: carriesNoData,
  handle (msg, stream) {
    stream.cancel(msg.id)
  }
}
