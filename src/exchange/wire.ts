// Framing for exchange messages on a libp2p stream: varint length prefixes and a hard size
// bound, checked before any bytes are kept. Anything malformed becomes a ProtocolError; the
// caller resets the stream. Each message type's shape is checked by its handler (handlers/).
import type { Stream, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface'
import { pushable } from 'it-pushable'
import { CID } from 'multiformats/cid'
import * as varint from 'uint8-varint'
import { Uint8ArrayList } from 'uint8arraylist'
import { PeerUnavailableError, ProtocolError } from '../errors.js'
import { MAX_MESSAGE_SIZE, MAX_WANT_CIDS, STREAM_IDLE_TIMEOUT } from './constants.js'
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
  bytes?: bigint
  blocks?: bigint
  started?: bigint
  completed?: bigint
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

/** Most bytes a stream may hold unsent before `send` waits: about two blocks. */
const SEND_BUFFER_LIMIT = MAX_MESSAGE_SIZE

/**
 * Sends, then waits while the stream holds more than SEND_BUFFER_LIMIT unsent. libp2p's
 * onDrain is no bound here: it resolves whenever the connection drains, even while this
 * stream's own window is shut, so a sender that waited for it piled a non-reading peer's
 * blocks up in memory (hundreds of MiB per stream). A peer that lets nothing more go out for
 * `stallTimeout` ms fails the send, so it cannot hold the sender forever either.
 */
export async function send (stream: Stream, msg: Outgoing, signal?: AbortSignal, stallTimeout = STREAM_IDLE_TIMEOUT): Promise<void> {
  stream.send(frame(msg))
  if (stream.writeBufferLength <= SEND_BUFFER_LIMIT) return
  signal?.throwIfAborted()
  await new Promise<void>((resolve, reject) => {
    const settle = (err?: Error): void => {
      clearTimeout(timer)
      stream.removeEventListener('idle', onIdle)
      stream.removeEventListener('close', onClose)
      signal?.removeEventListener('abort', onAbort)
      if (err === undefined) resolve()
      else reject(err)
    }
    const onIdle = (): void => { settle() }
    const onClose = (evt: Event): void => { settle((evt as Event & { error?: Error }).error ?? new PeerUnavailableError('the stream closed before its data went out')) }
    const onAbort = (): void => { settle(signal?.reason as Error) }
    // A slow peer is waited for as long as its share of the buffer keeps going out.
    let unsent = stream.writeBufferLength
    const check = (): void => {
      if (stream.writeBufferLength >= unsent) { settle(new PeerUnavailableError(`the peer read nothing for ${stallTimeout / 1000} s`)); return }
      unsent = stream.writeBufferLength
      timer = setTimeout(check, stallTimeout)
    }
    let timer = setTimeout(check, stallTimeout)
    stream.addEventListener('idle', onIdle)
    stream.addEventListener('close', onClose)
    signal?.addEventListener('abort', onAbort)
  })
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
 * or garbage, after resetting the stream.
 */
export async function * readMessages (stream: Stream): AsyncGenerator<Message> {
  yield * readFrames(stream, (f) => Message.decode(f, { limits: { cids: MAX_WANT_CIDS } }))
}

/**
 * The frames of a stream, each decoded by `decode`, for any protocol framed as this one is
 * (the storage protocol's too). The stream is read by hand rather than with for-await:
 * leaving a for-await early awaits the stream iterator's return(), which does not settle
 * while the remote keeps the stream open.
 */
export async function * readFrames<T> (stream: Stream, decode: (frame: Uint8ArrayList) => T): AsyncGenerator<T> {
  const decoder = new FrameDecoder()
  const chunks = listen(stream)
  try {
    for await (const chunk of chunks.output) {
      for (const f of decoder.push(chunk)) {
        let msg: T
        try {
          msg = decode(f)
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
  } finally {
    chunks.stop()
  }
}

/**
 * The stream's bytes as they arrive, ending when its readable end ends. libp2p's own
 * iterator listens only for a remote close still to come: one that arrived before the
 * reading began (a peer that closes at once) left it waiting for ever. The readable end's
 * 'end' event, and its state when reading begins, end this one too.
 */
function listen (stream: Stream): { output: AsyncIterable<Uint8Array | Uint8ArrayList>, stop: () => void } {
  const output = pushable<Uint8Array | Uint8ArrayList>({ objectMode: true })
  const onMessage = (evt: StreamMessageEvent): void => { output.push(evt.data) }
  const onClose = (evt: StreamCloseEvent): void => { output.end(evt.error) }
  const onEnd = (): void => { output.end() }
  stream.addEventListener('message', onMessage)
  stream.addEventListener('close', onClose)
  stream.addEventListener('remoteCloseWrite', onEnd)
  stream.addEventListener('end', onEnd)
  if (stream.readableEnded) output.end()
  return {
    output,
    stop: () => {
      stream.removeEventListener('message', onMessage)
      stream.removeEventListener('close', onClose)
      stream.removeEventListener('remoteCloseWrite', onEnd)
      stream.removeEventListener('end', onEnd)
    }
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
