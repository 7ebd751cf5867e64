// Framing and checks for exchange messages on a libp2p stream: varint length prefixes, a
// hard size bound before any bytes are kept, and a shape check per message type. Anything
// malformed becomes a ProtocolError; the caller resets the stream.
import type { Stream } from '@libp2p/interface'
import { CID } from 'multiformats/cid'
import * as varint from 'uint8-varint'
import { Uint8ArrayList } from 'uint8arraylist'
import { ProtocolError } from '../errors.js'
import { MAX_MESSAGE_SIZE, MAX_WANT_CIDS } from './constants.js'
import { Message } from './pb/message.js'

export { Message }

/** A message to send: its type and the fields that type uses. */
export interface Outgoing {
  type: Message.Type
  id?: bigint
  root?: Uint8Array
  cids?: Uint8Array[]
  haveOnly?: boolean
  bitfield?: Uint8Array
  cid?: Uint8Array
  data?: Uint8Array
}

/** Encodes one message with its length prefix, without copying a block's bytes. */
export function frame (msg: Outgoing): Uint8ArrayList {
  const data = msg.data
  const head = Message.encode({ ...msg, data: undefined } as unknown as Message)
  if (data === undefined || data.byteLength === 0) return new Uint8ArrayList(varint.encode(head.byteLength), head)
  // Field 8 (data), wire type 2: tag 0x42, varint length, bytes. Protobuf allows a field to
  // follow the others, so the block goes out as it is.
  const dataHead = new Uint8ArrayList(Uint8Array.of(0x42), varint.encode(data.byteLength))
  const size = head.byteLength + dataHead.byteLength + data.byteLength
  return new Uint8ArrayList(varint.encode(size), head, dataHead, data)
}

/** Sends, waiting for the stream to drain when its buffer is full. */
export async function send (stream: Stream, msg: Outgoing, signal?: AbortSignal): Promise<void> {
  if (!stream.send(frame(msg))) await stream.onDrain({ signal })
}

/** Longest varint a length prefix below MAX_MESSAGE_SIZE can take. */
const MAX_PREFIX_BYTES = varint.encodingLength(MAX_MESSAGE_SIZE)

/**
 * Splits bytes into frames. A length over the limit is refused as soon as its prefix is
 * read, before any of its bytes are kept; a stream that ends inside a frame is truncated.
 */
export class FrameDecoder {
  private readonly buffer = new Uint8ArrayList()

  /** Throws if the stream ended inside a frame. */
  end (): void {
    if (this.buffer.byteLength > 0) throw new ProtocolError(`truncated frame: the stream ended ${this.buffer.byteLength} bytes into a message`)
  }

  * push (chunk: Uint8Array | Uint8ArrayList): Generator<Uint8ArrayList> {
    this.buffer.append(chunk)
    while (this.buffer.byteLength > 0) {
      let length: number
      try {
        length = varint.decode(this.buffer)
      } catch {
        if (this.buffer.byteLength >= MAX_PREFIX_BYTES) throw new ProtocolError('bad frame: malformed length prefix')
        return // the prefix is still arriving
      }
      if (length > MAX_MESSAGE_SIZE) throw new ProtocolError(`bad frame: ${length} bytes, the limit is ${MAX_MESSAGE_SIZE}`)
      const head = varint.encodingLength(length)
      if (this.buffer.byteLength < head + length) return
      const frame = this.buffer.sublist(head, head + length)
      this.buffer.consume(head + length)
      yield frame
    }
  }

}

/**
 * Decoded messages from a stream; throws ProtocolError on a frame over the limit, truncation
 * or garbage, after resetting the stream. The stream is read by hand rather than with
 * for-await: leaving a for-await early awaits the stream iterator's return(), which does not
 * settle while the remote keeps the stream open.
 */
export async function * readMessages (stream: Stream): AsyncGenerator<Message> {
  const decoder = new FrameDecoder()
  const chunks = stream[Symbol.asyncIterator]()
  try {
    while (true) {
      const next = await chunks.next()
      if (next.done === true) break
      for (const f of decoder.push(next.value)) {
        let msg: Message
        try {
          msg = Message.decode(f, { limits: { cids: MAX_WANT_CIDS } })
        } catch (err) {
          throw new ProtocolError(`undecodable message: ${(err as Error).message}`)
        }
        yield msg
      }
    }
    decoder.end()
  } catch (err) {
    if (err instanceof ProtocolError) stream.abort(err)
    throw err
  }
}

export function parseCid (bytes: Uint8Array, what: string): CID {
  try {
    return CID.decode(bytes)
  } catch (err) {
    throw new ProtocolError(`${what} is not a CID: ${(err as Error).message}`)
  }
}

/** Bit i, least significant bit first, set when `has[i]`. */
export function toBitfield (has: boolean[]): Uint8Array {
  const out = new Uint8Array(Math.ceil(has.length / 8))
  has.forEach((h, i) => { if (h) out[i >> 3] |= 1 << (i & 7) })
  return out
}

/** The inverse of toBitfield; the size must match `count` exactly, spare bits clear. */
export function fromBitfield (bits: Uint8Array, count: number): boolean[] {
  if (bits.byteLength !== Math.ceil(count / 8)) throw new ProtocolError(`HAVE bitfield of ${bits.byteLength} bytes for ${count} CIDs (expected ${Math.ceil(count / 8)})`)
  if (count % 8 !== 0 && (bits[bits.byteLength - 1] >> (count % 8)) !== 0) throw new ProtocolError('HAVE bitfield has bits set past the last CID')
  return Array.from({ length: count }, (_, i) => (bits[i >> 3] & (1 << (i & 7))) !== 0)
}

const KNOWN_TYPES = new Set(Object.values(Message.Type))

/** Checks that a message is a known type, with the fields that type needs and no others. */
export function checkShape (msg: Message, expected: ReadonlySet<Message.Type>): void {
  if (!KNOWN_TYPES.has(msg.type)) throw new ProtocolError(`unknown message type ${String(msg.type)}`)
  if (!expected.has(msg.type)) throw new ProtocolError(`unexpected ${msg.type} message`)
  switch (msg.type) {
    case Message.Type.WANT:
      if (msg.cids.length === 0) throw new ProtocolError('WANT names no CIDs')
      if (msg.root.byteLength === 0) throw new ProtocolError('WANT names no root')
      if (msg.data.byteLength !== 0 || msg.cid.byteLength !== 0) throw new ProtocolError('WANT carries block fields')
      break
    case Message.Type.BLOCK:
      if (msg.cid.byteLength === 0) throw new ProtocolError('BLOCK without a CID')
      break
    case Message.Type.DONT_HAVE:
      if (msg.cid.byteLength === 0) throw new ProtocolError('DONT_HAVE without a CID')
      if (msg.data.byteLength !== 0) throw new ProtocolError('DONT_HAVE carries data')
      break
    default:
      if (msg.data.byteLength !== 0) throw new ProtocolError(`${msg.type} carries data`)
  }
}
