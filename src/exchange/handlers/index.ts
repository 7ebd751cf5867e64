// The handler tables of the two sides of an exchange stream, keyed by message type.
import { Message } from '../wire.js'
import { block } from './block.js'
import { cancel } from './cancel.js'
import { dontHave } from './dont-have.js'
import type { HandlerTable, RequestingContext, ServingContext } from './handler.js'
import { have } from './have.js'
import { receipt, type ReceiptContext } from './receipt.js'
import { want } from './want.js'

export type { ReceiptContext } from './receipt.js'
export { handleMessage, type HandlerTable, type MessageHandler, type PendingRequest, type RequestingContext, type ServingContext } from './handler.js'

/** What a provider accepts from a requester. */
export const PROVIDER_HANDLERS: HandlerTable<ServingContext> = {
  [Message.Type.WANT]: want,
  [Message.Type.CANCEL]: cancel
}

/** What a requester accepts from a provider. */
export const REQUESTER_HANDLERS: HandlerTable<RequestingContext> = {
  [Message.Type.HAVE]: have,
  [Message.Type.BLOCK]: block,
  [Message.Type.DONT_HAVE]: dontHave
}

/** What a provider accepts on a receipt stream. */
export const RECEIPT_HANDLERS: HandlerTable<ReceiptContext> = {
  [Message.Type.RECEIPT]: receipt
}
