// The cipher of private files: AES-256-GCM (node:crypto, AES-NI where the CPU has it) with one
// fresh random key per add. A file is sealed in fixed segments, each with its 16-byte tag
// appended; the nonce is the segment's index, so no nonce repeats under a key, a segment
// cannot be moved, and the last one is marked so that cutting the file short is seen. The
// sealed metadata (name, media type, plaintext size) has a nonce space of its own. A private
// directory's entries each get a key of their own derived from the directory's (deriveKey),
// so one key opens a whole tree and no key seals two things under one nonce.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto'
import { InvalidArgumentError } from '../errors.js'

export const CIPHER_ALG = 'aes-256-gcm'
export const KEY_BYTES = 32
export const TAG_BYTES = 16
const NONCE_BYTES = 12

/** The first byte of a nonce: which kind of sealed thing it is for. */
const SEGMENT = 0
const LAST_SEGMENT = 1
const METADATA = 2

export function newKey (): Uint8Array {
  return new Uint8Array(randomBytes(KEY_BYTES))
}

/**
 * The key of entry `index` of a private directory sealed under `key`: HKDF-SHA256 with the
 * index in its info, so siblings' keys differ from each other and from their parent's.
 */
export function deriveKey (key: Uint8Array, index: number): Uint8Array {
  checkKey(key)
  if (!Number.isSafeInteger(index) || index < 0) throw new InvalidArgumentError(`no directory entry ${index}`)
  return new Uint8Array(hkdfSync('sha256', key, new Uint8Array(0), `peerlink/directory-entry/${index}`, KEY_BYTES))
}

function nonce (kind: number, index: number): Buffer {
  const n = Buffer.alloc(NONCE_BYTES)
  n[0] = kind
  n.writeBigUInt64BE(BigInt(index), 4)
  return n
}

function checkKey (key: Uint8Array): void {
  if (key.byteLength !== KEY_BYTES) throw new InvalidArgumentError(`a private share's key is ${KEY_BYTES} bytes, not ${key.byteLength}`)
}

function seal (key: Uint8Array, iv: Buffer, plain: Uint8Array): Uint8Array {
  checkKey(key)
  const c = createCipheriv(CIPHER_ALG, key, iv)
  const out = Buffer.allocUnsafe(plain.byteLength + TAG_BYTES)
  const body = c.update(plain)
  body.copy(out, 0)
  let at = body.byteLength
  const rest = c.final()
  rest.copy(out, at)
  at += rest.byteLength
  c.getAuthTag().copy(out, at)
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength)
}

/** The plaintext, or undefined when the bytes do not authenticate under the key. */
function open (key: Uint8Array, iv: Buffer, sealed: Uint8Array): Uint8Array | undefined {
  checkKey(key)
  if (sealed.byteLength < TAG_BYTES) return undefined
  const d = createDecipheriv(CIPHER_ALG, key, iv)
  d.setAuthTag(sealed.subarray(sealed.byteLength - TAG_BYTES))
  const body = d.update(sealed.subarray(0, sealed.byteLength - TAG_BYTES))
  try {
    d.final()
  } catch {
    return undefined
  }
  return new Uint8Array(body.buffer, body.byteOffset, body.byteLength)
}

export function sealSegment (key: Uint8Array, index: number, last: boolean, plain: Uint8Array): Uint8Array {
  return seal(key, nonce(last ? LAST_SEGMENT : SEGMENT, index), plain)
}

export function openSegment (key: Uint8Array, index: number, last: boolean, sealed: Uint8Array): Uint8Array | undefined {
  return open(key, nonce(last ? LAST_SEGMENT : SEGMENT, index), sealed)
}

export function sealMetadata (key: Uint8Array, plain: Uint8Array): Uint8Array {
  return seal(key, nonce(METADATA, 0), plain)
}

export function openMetadata (key: Uint8Array, sealed: Uint8Array): Uint8Array | undefined {
  return open(key, nonce(METADATA, 0), sealed)
}

/** Segments a plaintext of `size` bytes is sealed in, and their sealed length together. */
export function sealedLength (size: number, segment: number): { segments: number, bytes: number } {
  const segments = Math.ceil(size / segment)
  return { segments, bytes: size + segments * TAG_BYTES }
}

/** A key as a link carries it: base64url, 43 characters. */
export function keyToText (key: Uint8Array): string {
  return Buffer.from(key).toString('base64url')
}

export function keyFromText (text: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]{43}$/.test(text)) throw new InvalidArgumentError('the key in the link (k=) is not one: a key is 43 base64url characters (A-Z, a-z, 0-9, - and _); copy the whole link')
  return new Uint8Array(Buffer.from(text, 'base64url'))
}
