// Incoming exchange messages are routed by type through a table of handlers, one per message
// type, each in its own file. A side's table holds the types it accepts: a provider takes
// WANT and CANCEL, a requester HAVE, BLOCK and DONT_HAVE. Each handler checks its own
// type's shape before it acts, so a malformed message never reaches the code that serves.
// A receipt stream (RECEIPT_PROTOCOL) has a table of its own, holding RECEIPT alone.
import { equals } from 'multiformats/bytes'
import type { CID } from 'multiformats/cid'
import { ProtocolError } from '../../errors.js'
import { Message, type Outgoing } from '../wire.js'

export interface MessageHandler<Context> {
  /** Throws ProtocolError when the message lacks a field its type needs or carries one it must not. */
  check: (msg: Message) => void
  handle: (msg: Message, context: Context) => void | Promise<void>
}

/** The handlers of the message types one side accepts. */
export type HandlerTable<Context> = Partial<Record<Message.Type, MessageHandler<Context>>>

/** What the provider's handlers act on: one inbound stream and its queue of blocks to send. */
export interface ServingContext {
  /** Blocks queued and not yet sent. */
  readonly queued: number
  /** Queues the blocks of a request, all under `root` (as the requester names it). */
  enqueue: (id: bigint, cids: CID[], root: CID) => void
  /** Drops the queued blocks of a request. */
  cancel: (id: bigint) => void
  /** Charges `lookups` CID lookups to the peer's work budget; resolves when it may have them. */
  charge: (lookups: number) => Promise<void>
  has: (cids: CID[]) => Promise<boolean[]>
  send: (msg: Outgoing) => Promise<void>
}

/** A request the requester has open, waiting for its answer. */
export type PendingRequest =
  { kind: 'have', count: number, resolve: (has: boolean[]) => void, reject: (err: Error) => void } |
  { kind: 'block', cid: CID, resolve: (bytes: Uint8Array | undefined) => void, reject: (err: Error) => void }

/** What the requester's handlers act on: the requests open on one stream. */
export interface RequestingContext {
  /**
   * The request an answer is for: an open one, or a cancelled one getting the one late answer
   * it may still get. Throws ProtocolError for an id never asked for or answered already.
   */
  claim: (msg: Message) => PendingRequest
  /** Closes a request: its answer has come. */
  settle: (id: bigint) => void
}

const KNOWN_TYPES = new Set(Object.values(Message.Type))

/** Routes a message to its type's handler, after checking the type is known, accepted here, and well formed. */
export async function handleMessage<Context> (table: HandlerTable<Context>, msg: Message, context: Context): Promise<void> {
  if (!KNOWN_TYPES.has(msg.type)) throw new ProtocolError(`unknown message type ${String(msg.type)}`)
  const handler = table[msg.type]
  if (handler === undefined) throw new ProtocolError(`unexpected ${msg.type} message`)
  handler.check(msg)
  await handler.handle(msg, context)
}

/** The shape check of a message type that carries no block bytes. */
export function carriesNoData (msg: Message): void {
  if (msg.data.byteLength !== 0) throw new ProtocolError(`${msg.type} carries data`)
}

/**
 * Settles the block request a BLOCK or DONT_HAVE answers (`bytes` undefined for DONT_HAVE).
 * An answer to a HAVE query, or one naming a block other than the one asked for, is a violation.
 */
export function answerBlockRequest (msg: Message, requests: RequestingContext, bytes: Uint8Array | undefined): void {
  const p = requests.claim(msg)
  if (p.kind !== 'block') throw new ProtocolError(`${msg.type} answering HAVE query ${msg.id}`)
  if (!equals(msg.cid, p.cid.bytes)) throw new ProtocolError(`${msg.type} for request ${msg.id} names a block that was not asked for`)
  requests.settle(msg.id)
  p.resolve(bytes)
}
