// Framed bodies: how a streamed reply's failure reaches its client after the bytes have begun
// (the status line went out with the first of them). A client that sends
// `Accept: application/vnd.peerlink.frames` gets the body as frames, each a type byte, a
// 4-byte big-endian length and that many bytes: 'D' data, then either 'Z' (the end, empty) or
// 'E' (the error, its JSON ErrorBody). Any other client (curl, a browser) gets the bare bytes,
// and a failure mid-way aborts the connection: a transfer cut short, as HTTP has it, never a
// clean end over truncated data. Trailers would say the same, but fetch() cannot read them.
import { ApiError } from '../errors.js'
import type { ErrorBody } from './shapes.js'

export const FRAMES_TYPE = 'application/vnd.peerlink.frames'

const DATA = 0x44
const ERROR = 0x45
const END = 0x5a
const HEADER = 5

function header (type: number, length: number): Uint8Array {
  const h = new Uint8Array(HEADER)
  h[0] = type
  new DataView(h.buffer).setUint32(1, length)
  return h
}

/** The source's bytes as frames, ending with the end frame or with its failure as an error frame. */
export async function * encodeFrames (source: AsyncIterable<Uint8Array>, toBody: (err: Error) => ErrorBody): AsyncGenerator<Uint8Array> {
  try {
    for await (const piece of source) {
      if (piece.byteLength === 0) continue
      yield header(DATA, piece.byteLength)
      yield piece
    }
  } catch (err) {
    const json = new TextEncoder().encode(JSON.stringify(toBody(err as Error)))
    yield header(ERROR, json.byteLength)
    yield json
    return
  }
  yield header(END, 0)
}

/** The data of a framed body; an error frame is thrown as `toError` makes it, a cut-off body as an ApiError. */
export async function * decodeFrames (body: AsyncIterable<Uint8Array>, toError: (b: ErrorBody) => Error): AsyncGenerator<Uint8Array> {
  const pending = new ByteQueue()
  let frame: { type: number, length: number } | undefined
  for await (const chunk of body) {
    pending.push(chunk)
    while (true) {
      if (frame === undefined && pending.length >= HEADER) {
        const h = pending.take(HEADER)
        frame = { type: h[0], length: new DataView(h.buffer, h.byteOffset).getUint32(1) }
      }
      if (frame === undefined || pending.length < frame.length) break
      const { type, length } = frame
      const payload = pending.take(length)
      frame = undefined
      if (type === DATA) yield payload
      else if (type === ERROR) throw toError(JSON.parse(new TextDecoder().decode(payload)) as ErrorBody)
      else if (type === END) return
      else throw new ApiError(`the daemon's reply has a frame of unknown type 0x${type.toString(16)}`)
    }
  }
  throw new ApiError('the daemon\'s reply broke off before its end (did it stop?)')
}

/** Bytes as they arrive, taken in frames: each frame's bytes are copied once, when whole. */
class ByteQueue {
  private parts: Uint8Array[] = []
  length = 0

  push (chunk: Uint8Array): void {
    this.parts.push(chunk)
    this.length += chunk.byteLength
  }

  take (n: number): Uint8Array {
    if (this.parts[0]?.byteLength >= n) return this.shift(n)
    const out = new Uint8Array(n)
    for (let at = 0; at < n;) {
      const piece = this.shift(Math.min(n - at, this.parts[0].byteLength))
      out.set(piece, at)
      at += piece.byteLength
    }
    return out
  }

  private shift (n: number): Uint8Array {
    const first = this.parts[0]
    const piece = first.subarray(0, n)
    if (n === first.byteLength) this.parts.shift()
    else this.parts[0] = first.subarray(n)
    this.length -= n
    return piece
  }
}
