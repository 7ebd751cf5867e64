// Import: a byte stream becomes chunks, stripes with parity, stripe nodes, index nodes and a
// manifest. Memory is bounded by four stripes (three being stored and the one being read),
// whatever the file size. A file smaller than one stripe gets a geometry of its own
// (smallGeometry), so that it is not stored with parity blocks each as large as a chunk.
import { randomBytes } from 'node:crypto'
import * as raw from 'multiformats/codecs/raw'
import type { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import mime from 'mime-types'
import { CustomProgressEvent, type ProgressEvent } from 'progress-events'
import type { Block } from '../blockstore/blockstore.js'
import { ReedSolomonCodec } from '../erasure/reed-solomon.js'
import { InvalidArgumentError } from '../errors.js'
import type { BufferPool } from './pool.js'
import { BLAKE3_CODE, createBlake3Hasher, hashBlocks } from '../hash/index.js'
import { CID as CIDClass } from 'multiformats/cid'
import {
  DEFAULT_CHUNK_SIZE, DEFAULT_K, DEFAULT_M, ERASURE_SCHEME, FORMAT_VERSION, MAX_CHUNK_SIZE, MAX_STRIPE_SHARDS,
  MIN_CHUNK_SIZE, defaultFanout, encodeNode, toShard, type Manifest, type PrivateField
} from './format.js'

/**
 * Where imported blocks go. `hold` keeps them from garbage collection until pinned. A target
 * with `renamePack` gets the data chunks placed in one pack under a name of the import's own,
 * renamed after the root once the root is known (packs.ts).
 */
export interface ImportTarget {
  putMany (blocks: Block[], options?: { signal?: AbortSignal }): Promise<void>
  hold? (cids: CID[]): () => void
  renamePack? (from: string, to: string, cids: CID[]): Promise<void>
}

export type ImportProgressEvents = ProgressEvent<'files:import:progress', { bytes: number, stripes: number }>

export interface ImportOptions {
  /**
   * The file's name in its manifest (a path's base name when added from disk).
   * @default ''
   */
  name?: string
  /**
   * The media type in its manifest.
   * @default looked up from the name's extension, else 'application/octet-stream'
   */
  mediaType?: string
  /**
   * Bytes per chunk, 64 KiB to 2 MiB (a file smaller than k chunks is cut finer: smallGeometry).
   * @default 1048576 (the repo's `import.chunkSize` when added through a node)
   */
  chunkSize?: number
  /**
   * Data chunks per stripe, 1 to 128.
   * @default 10 (the repo's `import.k`)
   */
  k?: number
  /**
   * Parity blocks per stripe, 0 to 64, with k + m at most 255.
   * @default 4 (the repo's `import.m`)
   */
  m?: number
  /**
   * Links per index node. Small values exercise index nodes.
   * @default what fits in one chunk
   */
  fanout?: number
  /**
   * Lets tests go below the 64 KiB floor users get.
   * @default false
   */
  allowSmallChunks?: boolean
  /**
   * The pool the source's chunks were read into: each chunk, and each parity block (coded into
   * the pool's buffers when they are a shard long), is given back once its stripe is stored.
   */
  pool?: BufferPool
  /** Marks the manifest of a file whose bytes are sealed (files/private.ts sets it). */
  sealed?: PrivateField
  signal?: AbortSignal
  /** Called after each stripe is stored. */
  onProgress?: (event: ImportProgressEvents) => void
}

export interface ImportResult {
  cid: CID
  name: string
  size: number
  /** The size its manifest gives: of the bytes stored, a private file's ciphertext. */
  rootSize: number
  /** Bytes of every block the import wrote: chunks, parity, stripe and index nodes, manifest. */
  stored: number
  stripes: number
  /** Everything the import wrote; the caller releases the hold after pinning. */
  release: () => void
}

export function checkImportOptions (o: ImportOptions): { chunkSize: number, k: number, m: number, fanout: number } {
  const chunkSize = o.chunkSize ?? DEFAULT_CHUNK_SIZE
  const k = o.k ?? DEFAULT_K
  const m = o.m ?? DEFAULT_M
  const min = o.allowSmallChunks === true ? 1 : MIN_CHUNK_SIZE
  if (!Number.isInteger(chunkSize) || chunkSize < min || chunkSize > MAX_CHUNK_SIZE) {
    throw new InvalidArgumentError(`chunk size must be a whole number of bytes from ${MIN_CHUNK_SIZE} (64 KiB) to ${MAX_CHUNK_SIZE} (2 MiB), not ${chunkSize}`)
  }
  if (!Number.isInteger(k) || k < 1 || k > 128) throw new InvalidArgumentError(`k (data chunks per stripe) must be 1 to 128, not ${k}`)
  if (!Number.isInteger(m) || m < 0 || m > 64) throw new InvalidArgumentError(`m (parity blocks per stripe) must be 0 to 64, not ${m}`)
  if (k + m > MAX_STRIPE_SHARDS) throw new InvalidArgumentError(`k + m must be at most ${MAX_STRIPE_SHARDS}`)
  const fanout = o.fanout ?? defaultFanout(chunkSize)
  if (!Number.isInteger(fanout) || fanout < 2 || fanout > defaultFanout(MAX_CHUNK_SIZE)) throw new InvalidArgumentError(`fanout must be 2 to ${defaultFanout(MAX_CHUNK_SIZE)}`)
  return { chunkSize, k, m, fanout }
}

/** The stream cut into runs of exactly `size` bytes (the last may be short), each as views of the pieces it spans. */
export async function * gather (source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, size: number): AsyncGenerator<Uint8Array[]> {
  let run: Uint8Array[] = []
  let fill = 0
  for await (const piece of source) {
    let off = 0
    while (off < piece.byteLength) {
      const n = Math.min(size - fill, piece.byteLength - off)
      run.push(off === 0 && n === piece.byteLength ? piece : piece.subarray(off, off + n))
      fill += n
      off += n
      if (fill === size) { yield run; run = []; fill = 0 }
    }
  }
  if (fill > 0) yield run
}

/**
 * Re-cuts any stream of byte pieces into chunks of exactly `size` bytes (the last may be
 * short): a chunk within one piece is a view of it, one spanning pieces is joined.
 */
export async function * rechunk (source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, size: number): AsyncGenerator<Uint8Array> {
  for await (const run of gather(source, size)) {
    if (run.length === 1) { yield run[0]; continue }
    const chunk = new Uint8Array(run.reduce((n, p) => n + p.byteLength, 0))
    let at = 0
    for (const p of run) { chunk.set(p, at); at += p.byteLength }
    yield chunk
  }
}

/** Builds the stripe list, emitting full index nodes as it goes (lazily: a full level is
 *  only closed when one more link arrives, so exactly `fanout` stripes need no index). */
class IndexBuilder {
  private readonly levels: CID[][] = [[]]
  constructor (private readonly fanout: number, private readonly emit: (b: Block) => Promise<void>) {}

  async push (cid: CID, depth = 0): Promise<void> {
    this.levels[depth] ??= []
    if (this.levels[depth].length === this.fanout) await this.close(depth)
    this.levels[depth].push(cid)
  }

  private async close (depth: number): Promise<void> {
    const node = encodeNode({ peerlink: FORMAT_VERSION, type: 'index', depth, links: this.levels[depth] })
    this.levels[depth] = []
    await this.emit(node)
    await this.push(node.cid, depth + 1)
  }

  async finish (): Promise<{ depth: number, links: CID[] }> {
    for (let d = 0; d < this.levels.length - 1; d++) {
      if (this.levels[d].length > 0) await this.close(d)
    }
    const depth = this.levels.length - 1
    return { depth, links: this.levels[depth] }
  }
}

/** A stripe's data chunks, its parity blocks and, last, the stripe node that links them. */
async function encodeStripe (chunks: Uint8Array[], stripeIndex: number, m: number, codecs: Map<number, ReedSolomonCodec>, options: { signal?: AbortSignal, pool?: BufferPool }): Promise<Block[]> {
  const shardSize = chunks[0].byteLength
  let parity: Uint8Array[] = []
  if (m > 0) {
    let codec = codecs.get(chunks.length)
    if (codec === undefined) { codec = new ReedSolomonCodec(chunks.length, m); codecs.set(chunks.length, codec) }
    const pool = options.pool
    const into = pool?.bytes === shardSize ? Array.from({ length: m }, () => pool.take()) : undefined
    // A short last chunk is zero-padded for coding only; it is stored at its true length.
    parity = await codec.encode(chunks.map(c => toShard(c, shardSize)), { signal: options.signal, into })
  }
  const all = [...chunks, ...parity]
  const digests = await hashBlocks(all, { signal: options.signal })
  const blocks = all.map((bytes, i) => ({ cid: CIDClass.createV1(raw.code, Digest.create(BLAKE3_CODE, digests[i] as Uint8Array<ArrayBuffer>)), bytes }))
  const node = encodeNode({
    peerlink: FORMAT_VERSION,
    type: 'stripe',
    index: stripeIndex,
    shardSize,
    data: blocks.slice(0, chunks.length).map(b => b.cid),
    parity: blocks.slice(chunks.length).map(b => b.cid)
  })
  return [...blocks, node]
}

/** Chunk size, data chunks and parity blocks per stripe. */
export interface Geometry { chunkSize: number, k: number, m: number }

/**
 * Chunks of a file smaller than one stripe are counted in pieces of at least this: each block
 * costs its CID in the stripe node and its entry in the repo's index, 50-80 bytes, and finer
 * chunks pay that more often than they save parity (measured: src/README.md, files/).
 */
export const SMALL_CHUNK_FLOOR = 1024
/** Small-file chunk sizes are whole multiples of this: one cache line, the coder's widest vector. */
const SMALL_CHUNK_ALIGN = 64

const alignUp = (n: number): number => Math.ceil(n / SMALL_CHUNK_ALIGN) * SMALL_CHUNK_ALIGN

/**
 * The geometry of a file of `size` (> 0) bytes smaller than one full stripe of `g`: as many
 * chunks k' as pieces of max(SMALL_CHUNK_FLOOR, size / g.k) make (at most g.k, none over
 * g.chunkSize), evened out so the last is not much shorter, and parity scaled to them,
 * m' = ceil(m × k' / k), at least 1 when m is: the stripe survives at least the same share of
 * lost blocks, with parity blocks no longer than its chunks. It is written as an ordinary
 * manifest with erasure { k: k', m: m' }, so every reader of the format reads, repairs and
 * serves it as it is.
 */
export function smallGeometry (size: number, g: Geometry): Geometry {
  const widest = Math.min(g.chunkSize, Math.max(SMALL_CHUNK_FLOOR, alignUp(Math.ceil(size / g.k))))
  const chunkSize = Math.min(widest, alignUp(Math.ceil(size / Math.ceil(size / widest))))
  const k = Math.ceil(size / chunkSize)
  return { chunkSize, k, m: Math.ceil(g.m * k / g.k) }
}

/**
 * Stripes coded, hashed and written at once. One at a time, a 1 GiB add waited on each
 * stripe's writes before coding the next, its main thread idle more than half the time:
 * 2.1-2.3 s; two at once 1.7-2.0 s, three 1.7-1.8 s (peak RSS 150, 162, 178 MB).
 */
export const STRIPES_IN_FLIGHT = 3

/**
 * Writes one file's blocks: each stripe is coded, hashed and stored (one atomic batch, its
 * node last) beside the one before while the caller reads the next; index nodes as the
 * stripe list fills, in stripe order. Counts the bytes it writes and holds every block from
 * garbage collection until released.
 */
class StripeWriter {
  stored = 0
  stripes = 0
  private readonly releases: Array<() => void> = []
  private readonly codecs = new Map<number, ReedSolomonCodec>()
  private readonly index: IndexBuilder
  private readonly inFlight: Array<Promise<void>> = []
  /** The import's pack, when the target takes placed chunks, and the chunks placed in it. */
  private readonly pack: string | undefined
  private readonly placed: CID[] = []

  constructor (private readonly target: ImportTarget, fanout: number, private readonly options: ImportOptions) {
    this.index = new IndexBuilder(fanout, async (b) => { await this.put([b]) })
    this.pack = target.renamePack !== undefined ? `import${randomBytes(12).toString('hex')}` : undefined
  }

  async put (blocks: Block[]): Promise<void> {
    if (this.target.hold !== undefined) this.releases.push(this.target.hold(blocks.map(b => b.cid)))
    await this.target.putMany(blocks, { signal: this.options.signal })
    for (const b of blocks) this.stored += b.bytes.byteLength
  }

  /**
   * Queues the next stripe once the one before is stored; `bytes`: the file's bytes up to its
   * end. Its data chunks go at their offsets in the file (`geometry`'s k and chunk size).
   */
  async stripe (chunks: Uint8Array[], geometry: Geometry, bytes: number): Promise<void> {
    const idx = this.stripes++
    while (this.inFlight.length >= STRIPES_IN_FLIGHT) await this.inFlight.shift()
    const before = this.inFlight.at(-1)
    const stored = (async () => {
      const blocks: Block[] = await encodeStripe(chunks, idx, geometry.m, this.codecs, this.options)
      const pack = this.pack
      if (pack !== undefined) {
        for (let i = 0; i < chunks.length; i++) {
          blocks[i].place = { pack, offset: (idx * geometry.k + i) * geometry.chunkSize }
          this.placed.push(blocks[i].cid)
        }
      }
      await this.put(blocks)
      // Stored (copied or written out): the chunks' and parity's memory takes the next stripe.
      for (const b of blocks) this.options.pool?.give(b.bytes)
      // Stripes are coded and written side by side, and listed in their order.
      await before
      await this.index.push(blocks[blocks.length - 1].cid)
      this.options.onProgress?.(new CustomProgressEvent('files:import:progress', { bytes, stripes: idx + 1 }))
    })()
    stored.catch(() => {}) // observed when awaited
    this.inFlight.push(stored)
  }

  async finish (): Promise<{ depth: number, links: CID[] }> {
    while (this.inFlight.length > 0) await this.inFlight.shift()
    return await this.index.finish()
  }

  /** Waits for every stripe still being written, however it ends (before an import that failed lets go of its blocks). */
  async settle (): Promise<void> {
    await Promise.allSettled(this.inFlight.splice(0))
  }

  /** Names the import's pack after the file's root, so a fetch of that root to a file finds it. */
  async namePack (root: CID): Promise<void> {
    if (this.pack !== undefined) await this.target.renamePack?.(this.pack, root.toString(), this.placed)
  }

  release (): void {
    for (const r of this.releases) r()
  }
}

async function recut (chunks: Uint8Array[], size: number): Promise<Uint8Array[]> {
  const out: Uint8Array[] = []
  for await (const c of rechunk(chunks, size)) out.push(c)
  return out
}

export async function importFile (store: ImportTarget, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options: ImportOptions = {}): Promise<ImportResult> {
  const configured = checkImportOptions(options)
  const { chunkSize, k } = configured
  const name = options.name ?? ''
  const mediaType = options.mediaType ?? (mime.lookup(name) || 'application/octet-stream')
  const hasher = createBlake3Hasher()
  const writer = new StripeWriter(store, configured.fanout, options)
  let geometry: Geometry = configured
  let size = 0
  try {
    let current: Uint8Array[] = []
    const flush = async (): Promise<void> => {
      let chunks = current
      current = []
      if (writer.stripes === 0 && size < k * chunkSize) {
        // The whole file is read and smaller than one stripe: it gets a geometry of its own.
        geometry = smallGeometry(size, configured)
        chunks = await recut(chunks, geometry.chunkSize)
      }
      await writer.stripe(chunks, geometry, size)
    }
    for await (const chunk of rechunk(source, chunkSize)) {
      options.signal?.throwIfAborted()
      hasher.update(chunk)
      size += chunk.byteLength
      current.push(chunk)
      if (current.length === k) await flush()
    }
    if (current.length > 0) await flush()
    const list = await writer.finish()
    const manifest: Manifest = {
      peerlink: FORMAT_VERSION,
      type: 'file',
      name,
      mediaType,
      size,
      chunkSize: geometry.chunkSize,
      hash: { alg: 'blake3', digest: hasher.digest() },
      erasure: { scheme: ERASURE_SCHEME, k: geometry.k, m: geometry.m },
      stripeCount: writer.stripes,
      stripes: { depth: list.depth, fanout: configured.fanout, links: list.links },
      ...(options.sealed !== undefined ? { private: options.sealed } : {})
    }
    const root = encodeNode(manifest)
    await writer.put([root])
    await writer.namePack(root.cid)
    return { cid: root.cid, name, size, rootSize: size, stored: writer.stored, stripes: writer.stripes, release: () => { writer.release() } }
  } catch (err) {
    await writer.settle()
    writer.release()
    throw err
  }
}
