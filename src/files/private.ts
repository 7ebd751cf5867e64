// Private files: the bytes are sealed (files/cipher.ts) before they are chunked, so every block
// the repo, a provider or a holder stores is ciphertext, named by its CID and verified without
// the key, and parity is computed over ciphertext. The configured chunk size is one sealed
// segment (plaintext segment = chunk size − 16), so a chunk holds exactly one segment and a
// range reads only the segments it touches. The manifest says it is private and carries the
// name and media type sealed; its own name and media type are empty, its size and hash those
// of the ciphertext (the plaintext size follows from it, as GCM adds 16 bytes a segment).
import * as dagCbor from '@ipld/dag-cbor'
import type { CID } from 'multiformats/cid'
import mime from 'mime-types'
import { DecryptionError, InvalidArgumentError, InvalidManifestError, PrivateRootError } from '../errors.js'
import { CIPHER_ALG, TAG_BYTES, openMetadata, openSegment, sealMetadata, sealSegment } from './cipher.js'
import { StripeLocator, exportManifest, readManifest, type BlockSource, type ExportOptions } from './exporter.js'
import type { Manifest, Node, PrivateField } from './format.js'
import { readChunks } from './fs.js'
import type { BufferPool } from './pool.js'
import { checkImportOptions, gather, importFile, rechunk, type ImportOptions, type ImportResult, type ImportTarget } from './importer.js'

/** What the sealed metadata and the ciphertext's size tell the key's holder. */
export interface PrivateView { name: string, mediaType: string, size: number }

/**
 * Imports a file sealed under `key` (one fresh key per file: nonces are segment indexes). The
 * result's name and size are the plaintext's, for the caller; the blocks hold neither.
 */
export async function importPrivateFile (store: ImportTarget, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options: ImportOptions & { key: Uint8Array }): Promise<ImportResult> {
  const { chunkSize } = checkImportOptions(options)
  const segment = chunkSize - TAG_BYTES
  if (segment < 1) throw new InvalidArgumentError(`a private file needs chunks of more than ${TAG_BYTES} bytes`)
  const name = options.name ?? ''
  const mediaType = options.mediaType ?? (mime.lookup(name) || 'application/octet-stream')
  const meta = sealMetadata(options.key, dagCbor.encode({ name, mediaType }))
  const field: PrivateField = { alg: CIPHER_ALG, segment, meta }
  let size = 0
  const counted = (async function * () {
    for await (const piece of source) { size += piece.byteLength; yield piece }
  })()
  const { key, ...rest } = options
  const r = await importFile(store, sealStream(counted, key, segment), { ...rest, name: '', mediaType: '', sealed: field })
  return { ...r, name, size, rootSize: r.size }
}

/** Buffers of readSegments: each a segment read whole, owned by whoever reads it, with room for a tag after it. */
const roomy = new WeakSet<ArrayBufferLike>()

/**
 * A file read in `segment`-byte segments to seal in place: each buffer has room for the tag
 * after the segment, so sealing it allocates and copies nothing (sealStream).
 */
export async function * readSegments (path: string, segment: number, signal?: AbortSignal, pool?: BufferPool): AsyncGenerator<Uint8Array> {
  for await (const piece of readChunks(path, segment, signal, TAG_BYTES, pool)) {
    roomy.add(piece.buffer)
    yield piece
  }
}

/**
 * Plaintext in `segment`-byte segments, each sealed; the last one marked as the last. A
 * segment from readSegments is sealed in place; any other is sealed from the pieces it was
 * read in (views, not copies), so the only copy of the bytes is the cipher's own output.
 */
export async function * sealStream (source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, key: Uint8Array, segment: number): AsyncGenerator<Uint8Array> {
  let held: Uint8Array[] | undefined
  let index = 0
  for await (const pieces of gather(source, segment)) {
    if (held !== undefined) yield sealHeld(key, index++, false, held)
    held = pieces
  }
  if (held !== undefined) yield sealHeld(key, index, true, held)
}

function sealHeld (key: Uint8Array, index: number, last: boolean, pieces: Uint8Array[]): Uint8Array {
  const [only] = pieces
  if (pieces.length === 1 && roomy.has(only.buffer) && only.byteOffset === 0 && only.buffer.byteLength >= only.byteLength + TAG_BYTES) {
    return sealSegment(key, index, last, pieces, new Uint8Array(only.buffer, 0, only.byteLength + TAG_BYTES))
  }
  return sealSegment(key, index, last, pieces)
}

/** The plaintext size of a private file, from its ciphertext's (InvalidManifestError if no plaintext seals to it). */
function plainSize (cid: CID, m: Manifest, p: PrivateField): number {
  const sealed = p.segment + TAG_BYTES
  const segments = Math.ceil(m.size / sealed)
  const tail = m.size - (segments - 1) * sealed
  if (segments > 0 && tail <= TAG_BYTES) throw new InvalidManifestError(`${cid.toString()} is not a valid PeerLink node: its ciphertext size ${m.size} is not that of sealed segments of ${p.segment} bytes`)
  return m.size - segments * TAG_BYTES
}

/** Name, media type and size of a private file, opened with `key` (DecryptionError for a wrong key). */
/**
 * The name to show for a resolved root: a private file's sealed name when the key is at hand,
 * else the name it resolved under (a private file's is empty: it is never pinned in the clear).
 */
export function shownName (cid: CID, node: Node, key: Uint8Array | undefined, resolved: string): string {
  return node.type === 'file' && node.private !== undefined && key !== undefined ? openPrivate(cid, node, key).name : resolved
}

/** The name a root is pinned under: none for a private one, whose name is sealed. */
export function pinnedName (node: Node, resolved: string): string {
  return (node.type === 'file' || node.type === 'directory') && node.private !== undefined ? '' : resolved
}

export function openPrivate (cid: CID, m: Manifest, key: Uint8Array | undefined): PrivateView {
  const p = m.private
  if (p === undefined) return { name: m.name, mediaType: m.mediaType, size: m.size }
  if (key === undefined) throw new PrivateRootError(cid.toString())
  const bytes = openMetadata(key, p.meta)
  if (bytes === undefined) throw new DecryptionError(`the key in the link does not open ${cid.toString()}: its sealed metadata (in that manifest block) does not authenticate under it, so the key is wrong or mistyped`)
  let meta: unknown
  try {
    meta = dagCbor.decode(bytes)
  } catch {
    throw new InvalidManifestError(`${cid.toString()} is not a valid PeerLink node: its sealed metadata does not decode`)
  }
  const { name, mediaType } = (meta ?? {}) as { name?: unknown, mediaType?: unknown }
  if (typeof name !== 'string' || typeof mediaType !== 'string') throw new InvalidManifestError(`${cid.toString()} is not a valid PeerLink node: bad sealed metadata`)
  return { name, mediaType, size: plainSize(cid, m, p) }
}

/**
 * The bytes of the file `root` (or `offset`/`length` of them): a public file's as stored, a
 * private one's opened with `options.key`, each segment authenticated whole before any of it
 * is yielded. A private root without a key is PrivateRootError.
 */
export async function * exportContent (source: BlockSource, root: CID, options: ExportOptions = {}): AsyncGenerator<Uint8Array> {
  const manifest = await readManifest(source, root, options)
  if (manifest.private === undefined) {
    yield * exportManifest(source, { root, manifest }, options)
    return
  }
  const key = options.key
  const { size } = openPrivate(root, manifest, key)
  const offset = options.offset ?? 0
  if (!Number.isSafeInteger(offset) || offset < 0) throw new InvalidArgumentError(`offset must be a non-negative integer, not ${offset}`)
  if (options.length !== undefined && (!Number.isSafeInteger(options.length) || options.length < 0)) throw new InvalidArgumentError(`length must be a non-negative integer, not ${options.length}`)
  const end = options.length === undefined ? size : Math.min(size, offset + options.length)
  if (offset >= end) return
  const plain = manifest.private.segment
  const sealed = plain + TAG_BYTES
  const first = Math.floor(offset / plain)
  const segments = Math.ceil(size / plain)
  const from = first * sealed
  const to = Math.min(manifest.size, (Math.floor((end - 1) / plain) + 1) * sealed)
  let i = first
  for await (const bytes of rechunk(exportManifest(source, { root, manifest }, { ...options, offset: from, length: to - from }), sealed)) {
    const opened = openSegment(key as Uint8Array, i, i === segments - 1, bytes)
    if (opened === undefined) {
      const blocks = await segmentBlocks(source, manifest, i, options)
      throw new DecryptionError(`segment ${i} of the private file ${root.toString()} does not authenticate under its key: block ${blocks.join(', ')} holds ciphertext altered before it was named; nothing of that segment was written`)
    }
    const lo = i === first ? offset - i * plain : 0
    const hi = Math.min(opened.byteLength, end - i * plain)
    yield lo === 0 && hi === opened.byteLength ? opened : opened.subarray(lo, hi)
    i++
  }
}

/** The CIDs of the chunks that hold sealed segment `i` (one, when segments fill chunks exactly). */
async function segmentBlocks (source: BlockSource, m: Manifest, i: number, options: { signal?: AbortSignal }): Promise<string[]> {
  const sealed = (m.private as PrivateField).segment + TAG_BYTES
  const lo = i * sealed
  const hi = Math.min(m.size, lo + sealed) - 1
  const locator = new StripeLocator(source, m)
  const k = m.erasure.k
  const out: string[] = []
  for (let c = Math.floor(lo / m.chunkSize); c <= Math.floor(hi / m.chunkSize); c++) {
    const node = await locator.node(Math.floor(c / k), options)
    out.push(node.data[c % k].toString())
  }
  return out
}
