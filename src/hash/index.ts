// CID and multihash helpers over the BLAKE3 core, and block verification.
//
// Every block that enters PeerLink from outside passes verifyBlock or verifyBlocks: its
// bytes are hashed and matched to its CID's multihash before anything stores them.
import { createHash } from 'node:crypto'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import * as Digest from 'multiformats/hashes/digest'
import { from } from 'multiformats/hashes/hasher'
import { CustomProgressEvent, type ProgressEvent } from 'progress-events'
import {
  BlockTooLargeError, HashMismatchError, InvalidArgumentError, InvalidDigestError,
  UnsupportedHashError
} from '../errors.js'
import { MAX_BLOCK_SIZE } from '../limits.js'
import { chooseCore, lazily } from '../native.js'
import type { HashCore, HashCoreInfo, IncrementalHasher } from './core.js'
import { createFallbackCore } from './fallback.js'
import { loadNativeCore } from './native.js'

export type { HashCoreInfo, IncrementalHasher } from './core.js'

export const BLAKE3_CODE = 0x1e
export const SHA256_CODE = 0x12
export const DIGEST_LENGTH = 32
/** Blocks up to this size are hashed on the calling thread; larger ones on a worker. */
const SYNC_LIMIT = 64 * 1024
/** Blocks handed to the native core in one call, so an abort is seen between calls. */
const BATCH_SLICE = 64

/**
 * The core, chosen by the first call that hashes (not at import): the native addon, loaded
 * synchronously, or the fallback (PEERLINK_HASH_CORE=native|wasm forces one).
 */
const core: () => HashCore = lazily(() => chooseCore('PEERLINK_HASH_CORE', 'wasm', () => loadNativeCore(), createFallbackCore))

export interface HashOptions {
  signal?: AbortSignal
  /** Threads for a batch; default: every core. */
  threads?: number
  onProgress?: (event: ProgressEvent<'hash:batch', { done: number, total: number }>) => void
}

/** Which core and SIMD level are hashing, and how many threads a batch may use. */
export function hashInfo (): HashCoreInfo {
  return core().info()
}

/**
 * Chooses the core now and waits until it runs at full speed. Optional: every call works
 * without it. With the native core it returns at once; with the fallback it waits for the
 * WASM instance, which sync calls (cidOf, hashBlock, a new hasher) use from then on instead
 * of the slower pure-JavaScript BLAKE3. A node calls it when it starts.
 */
export async function hashReady (options: { signal?: AbortSignal } = {}): Promise<HashCoreInfo> {
  options.signal?.throwIfAborted()
  await core().ready()
  options.signal?.throwIfAborted()
  return core().info()
}

/**
 * Use this SIMD level from now on (portable, sse41, avx2, avx512). Returns false when the
 * CPU lacks it or the WASM core is in use; throws for a name that is no level at all.
 */
export function setSimdLevel (level: string): boolean {
  if (!['portable', 'sse41', 'avx2', 'avx512'].includes(level)) {
    throw new InvalidArgumentError(`unknown SIMD level "${level}": use portable, sse41, avx2 or avx512`)
  }
  return core().setSimd(level)
}

function checkBytes (bytes: unknown, what = 'block'): Uint8Array {
  if (!(bytes instanceof Uint8Array)) {
    throw new InvalidArgumentError(`${what} must be a Uint8Array or Buffer, not ${describe(bytes)}`)
  }
  return bytes
}

function checkBlock (bytes: unknown): Uint8Array {
  const b = checkBytes(bytes)
  if (b.byteLength > MAX_BLOCK_SIZE) throw new BlockTooLargeError(b.byteLength, MAX_BLOCK_SIZE)
  return b
}

function checkCid (cid: unknown): CID {
  const c = CID.asCID(cid)
  if (c == null) throw new InvalidArgumentError(`expected a CID, got ${describe(cid)}`)
  return c
}

function describe (v: unknown): string {
  if (v === null) return 'null'
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object'
  return typeof v
}

/** Every core's threads, asked once: info() builds its whole report (0.06 s of a 1 GiB fetch when asked per batch). */
const allThreads = lazily(() => core().info().threads)

function threadsOf (options: HashOptions): number {
  const t = options.threads ?? allThreads()
  if (!Number.isInteger(t) || t < 1 || t > 64) throw new InvalidArgumentError(`threads must be an integer from 1 to 64, not ${t}`)
  return t
}

/** BLAKE3-256 as a multiformats hasher: `CID.createV1(raw.code, blake3.digest(bytes))`. */
export const blake3 = from({
  name: 'blake3',
  code: BLAKE3_CODE,
  encode: (input: Uint8Array) => core().hashSync(checkBytes(input, 'input'))
})

/** An incremental BLAKE3-256 hasher for streams of any length (memory stays bounded). */
export function createBlake3Hasher (): IncrementalHasher {
  const h = core().createHasher()
  return {
    update (data) { h.update(checkBytes(data, 'data')); return this },
    digest: () => h.digest()
  }
}

/** BLAKE3-256 digest of one block, on the calling thread. */
export function hashBlock (bytes: Uint8Array): Uint8Array {
  return core().hashSync(checkBlock(bytes))
}

/** The CIDv1 (BLAKE3-256) of a block; raw codec unless another is given. */
export function cidOf (bytes: Uint8Array, codec: number = raw.code): CID {
  return CID.createV1(codec, Digest.create(BLAKE3_CODE, core().hashSync(checkBlock(bytes))))
}

/** BLAKE3-256 digests of many blocks, off the event loop and across threads. */
export async function hashBlocks (blocks: Uint8Array[], options: HashOptions = {}): Promise<Uint8Array[]> {
  if (!Array.isArray(blocks)) throw new InvalidArgumentError('blocks must be an array')
  blocks.forEach(checkBlock)
  const threads = threadsOf(options)
  const out: Uint8Array[] = []
  for (let i = 0; i < blocks.length; i += BATCH_SLICE) {
    options.signal?.throwIfAborted()
    out.push(...await core().hashMany(blocks.slice(i, i + BATCH_SLICE), threads))
    options.onProgress?.(new CustomProgressEvent('hash:batch', { done: out.length, total: blocks.length }))
  }
  options.signal?.throwIfAborted()
  return out
}

function expectedDigest (cid: CID): Uint8Array {
  const { code, digest } = cid.multihash
  if (code !== BLAKE3_CODE && code !== SHA256_CODE) throw new UnsupportedHashError(code)
  if (digest.byteLength !== DIGEST_LENGTH) {
    throw new InvalidDigestError(code === BLAKE3_CODE ? 'blake3' : 'sha2-256', digest.byteLength, DIGEST_LENGTH)
  }
  return digest
}

function mismatch (cid: CID, actual: Uint8Array): HashMismatchError {
  return new HashMismatchError(cid.toString(), Buffer.from(actual).toString('hex'))
}

function sha256 (bytes: Uint8Array): Uint8Array {
  return createHash('sha256').update(bytes).digest()
}

/**
 * Throws unless `bytes` hash to `cid`'s multihash (BLAKE3-256 or sha2-256):
 * HashMismatchError, UnsupportedHashError, InvalidDigestError, BlockTooLargeError.
 */
export async function verifyBlock (cid: CID, bytes: Uint8Array, options: HashOptions = {}): Promise<void> {
  const c = checkCid(cid)
  const b = checkBlock(bytes)
  const expected = expectedDigest(c)
  let actual: Uint8Array
  if (c.multihash.code === SHA256_CODE) actual = sha256(b)
  else if (b.byteLength <= SYNC_LIMIT) actual = core().hashSync(b)
  else [actual] = await core().hashMany([b], 1)
  options.signal?.throwIfAborted()
  if (!Buffer.from(actual).equals(expected)) throw mismatch(c, actual)
}

export type VerifyResult = { cid: CID, ok: true } | { cid: CID, ok: false, error: Error }

/**
 * Verifies many blocks at once (BLAKE3 ones across threads, off the event loop). A block
 * that fails is reported in its result, never thrown; invalid arguments are thrown.
 */
export async function verifyBlocks (items: Array<{ cid: CID, bytes: Uint8Array }>, options: HashOptions = {}): Promise<VerifyResult[]> {
  if (!Array.isArray(items)) throw new InvalidArgumentError('items must be an array of { cid, bytes }')
  const threads = threadsOf(options)
  const results: VerifyResult[] = new Array(items.length)
  const wide: number[] = [] // indexes of BLAKE3 blocks, verified in native batches
  items.forEach((item, i) => {
    const cid = checkCid(item?.cid)
    const bytes = checkBlock(item.bytes)
    try {
      const expected = expectedDigest(cid)
      if (cid.multihash.code === BLAKE3_CODE) {
        wide.push(i)
        return
      }
      const actual = sha256(bytes)
      results[i] = Buffer.from(actual).equals(expected) ? { cid, ok: true } : { cid, ok: false, error: mismatch(cid, actual) }
    } catch (error) {
      results[i] = { cid, ok: false, error: error as Error }
    }
  })
  for (let s = 0; s < wide.length; s += BATCH_SLICE) {
    options.signal?.throwIfAborted()
    const slice = wide.slice(s, s + BATCH_SLICE)
    const blocks = slice.map(i => items[i].bytes)
    const digests = await core().hashMany(blocks, threads)
    slice.forEach((i, j) => {
      const cid = items[i].cid
      results[i] = Buffer.from(digests[j]).equals(cid.multihash.digest) ? { cid, ok: true } : { cid, ok: false, error: mismatch(cid, digests[j]) }
    })
    options.onProgress?.(new CustomProgressEvent('hash:batch', { done: s + slice.length, total: wide.length }))
  }
  options.signal?.throwIfAborted()
  return results
}

/** Raw batch verification against expected digests (the benchmark's and exchange's fast path). */
export async function verifyDigests (blocks: Uint8Array[], expected: Uint8Array[], options: HashOptions = {}): Promise<boolean[]> {
  if (!Array.isArray(blocks) || !Array.isArray(expected) || blocks.length !== expected.length) {
    throw new InvalidArgumentError('blocks and expected digests must be arrays of the same length')
  }
  blocks.forEach(checkBlock)
  for (const d of expected) {
    if (!(d instanceof Uint8Array) || d.byteLength !== DIGEST_LENGTH) {
      throw new InvalidDigestError('blake3', d instanceof Uint8Array ? d.byteLength : 0, DIGEST_LENGTH)
    }
  }
  const threads = threadsOf(options)
  const ok: boolean[] = []
  for (let i = 0; i < blocks.length; i += BATCH_SLICE) {
    options.signal?.throwIfAborted()
    ok.push(...await core().verifyMany(blocks.slice(i, i + BATCH_SLICE), expected.slice(i, i + BATCH_SLICE), threads))
    options.onProgress?.(new CustomProgressEvent('hash:batch', { done: ok.length, total: blocks.length }))
  }
  options.signal?.throwIfAborted()
  return ok
}
