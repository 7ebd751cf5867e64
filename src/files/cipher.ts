// The cipher of private files: AES-256-GCM (node:crypto, AES-NI where the CPU has it) with one
// fresh random key per add. A file is sealed in fixed segments, each with its 16-byte tag
// appended; the nonce is the segment's index, so no nonce repeats under a key, a segment
// cannot be moved, and the last one is marked so that cutting the file short is seen. The
// sealed metadata (name, media type, plaintext size) has a nonce space of its own. A private
// directory's entries each get a key of their own derived from the directory's (deriveKey),
// so one key opens a whole tree and no key seals two things under one nonce.
//
// The cipher runs through the native addon when it loads (the OpenSSL Node is built with):
// a segment is sealed from the pieces it was read in straight into one buffer, the tag after
// it, and opened into one buffer, where node:crypto returns a fresh buffer from each update and
// final that must be joined. On a 1 MiB segment that is about 3 GB/s against 1.1 on one core
// here. PEERLINK_PRIVATE_CIPHER=node chooses node:crypto; =native requires the addon.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto'
import { InvalidArgumentError, NativeAddonError } from '../errors.js'
import { chooseCore, lazily, loadAddon } from '../native.js'

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

/** Seals the concatenated pieces (ciphertext, then the tag, in one buffer) and opens them. */
export interface CipherCore {
  name: 'native' | 'node'
  /** Into `into` when given: the plaintext's length + the tag's, and the one piece's own memory or apart from the pieces. */
  seal (key: Uint8Array, iv: Buffer, plain: Uint8Array[], into?: Uint8Array): Uint8Array
  /** The plaintext, or undefined when the bytes do not authenticate. */
  open (key: Uint8Array, iv: Buffer, body: Uint8Array, tag: Uint8Array): Uint8Array | undefined
}

const NO_AD = new Uint8Array(0)

function nativeCore (): CipherCore {
  const binding = loadAddon()
  if (typeof binding.aeadSeal !== 'function') throw new NativeAddonError('native addon has no AES-256-GCM')
  const core: CipherCore = {
    name: 'native',
    seal: (key, iv, plain, into) => binding.aeadSeal(key, iv, NO_AD, plain, CIPHER_ALG, into),
    open (key, iv, body, tag) {
      const out = Buffer.allocUnsafeSlow(body.byteLength)
      return binding.aeadOpen(key, iv, NO_AD, [body], tag, out, CIPHER_ALG) ? new Uint8Array(out.buffer, out.byteOffset, out.byteLength) : undefined
    }
  }
  // An addon built before AES-256-GCM took the cipher's name ignores it: check it seals AES.
  const probe = core.seal(new Uint8Array(KEY_BYTES), Buffer.alloc(NONCE_BYTES), [new Uint8Array(1)])
  if (!Buffer.from(probe).equals(nodeCore.seal(new Uint8Array(KEY_BYTES), Buffer.alloc(NONCE_BYTES), [new Uint8Array(1)]))) {
    throw new NativeAddonError('native addon has no AES-256-GCM (rebuild it: npm run build:native)')
  }
  return core
}

const nodeCore: CipherCore = {
  name: 'node',
  seal (key, iv, plain, into) {
    const c = createCipheriv(CIPHER_ALG, key, iv)
    const parts = plain.map(p => c.update(p))
    parts.push(c.final(), c.getAuthTag())
    if (into === undefined) {
      const out = Buffer.concat(parts)
      return new Uint8Array(out.buffer, out.byteOffset, out.byteLength)
    }
    let at = 0
    for (const p of parts) { into.set(p, at); at += p.byteLength }
    return into
  },
  open (key, iv, body, tag) {
    const d = createDecipheriv(CIPHER_ALG, key, iv)
    d.setAuthTag(tag)
    const out = d.update(body)
    try {
      d.final()
    } catch {
      return undefined
    }
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength)
  }
}

const native = lazily(nativeCore)
const core = lazily(() => chooseCore('PEERLINK_PRIVATE_CIPHER', 'node', native, () => nodeCore))

/** The core private files are sealed and opened with: 'native' or 'node'. */
export function cipherCore (): CipherCore['name'] {
  return core().name
}

/** Each core by name, to check one against the other (the chosen one seals and opens). */
export const cipherCores: Record<'native' | 'node', () => CipherCore> = { native, node: () => nodeCore }

function seal (key: Uint8Array, iv: Buffer, plain: Uint8Array | Uint8Array[], into?: Uint8Array): Uint8Array {
  checkKey(key)
  const pieces = plain instanceof Uint8Array ? [plain] : plain
  if (into !== undefined && into.byteLength !== pieces.reduce((n, p) => n + p.byteLength, 0) + TAG_BYTES) {
    throw new InvalidArgumentError('a sealed segment goes into a buffer as long as its plaintext and tag')
  }
  return core().seal(key, iv, pieces, into)
}

/** The plaintext, or undefined when the bytes do not authenticate under the key. */
function open (key: Uint8Array, iv: Buffer, sealed: Uint8Array): Uint8Array | undefined {
  checkKey(key)
  if (sealed.byteLength < TAG_BYTES) return undefined
  return core().open(key, iv, sealed.subarray(0, sealed.byteLength - TAG_BYTES), sealed.subarray(sealed.byteLength - TAG_BYTES))
}

/**
 * Seals one segment, given whole or as the pieces it was read in, into a new buffer or into
 * `into` (plaintext length + TAG_BYTES: the one piece's own memory, sealing it in place, or apart).
 */
export function sealSegment (key: Uint8Array, index: number, last: boolean, plain: Uint8Array | Uint8Array[], into?: Uint8Array): Uint8Array {
  return seal(key, nonce(last ? LAST_SEGMENT : SEGMENT, index), plain, into)
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
