// Export: walk the DAG from the root, verify every block, and stream the file's bytes in
// order. A missing or corrupt data chunk is rebuilt from its stripe's parity and checked
// against the chunk's CID before use. Byte ranges read only the stripes they touch.
import type { CID } from 'multiformats/cid'
import type { Placement } from '../blockstore/blockstore.js'
import { CustomProgressEvent, type ProgressEvent } from 'progress-events'
import { ReedSolomonCodec } from '../erasure/reed-solomon.js'
import { BlockNotFoundError, DataLossError, InvalidArgumentError, InvalidManifestError } from '../errors.js'
import { verifyBlock, verifyBlocks } from '../hash/index.js'
import { chunkLength, decodeNode, toShard, type DirectoryNode, type IndexNode, type Manifest, type Node, type StripeNode } from './format.js'

/** Where blocks are read from: the local blockstore, or a network fetch session. */
export interface BlockSource {
  get (cid: CID, options?: { signal?: AbortSignal }): Promise<Uint8Array>
  /** `verified` marks bytes the source has already hashed and matched to their CID. */
  getMany (cids: Iterable<CID>, options?: { signal?: AbortSignal }): AsyncGenerator<{ cid: CID, bytes: Uint8Array | undefined, verified?: boolean }>
  /** A hint that these blocks will be read soon (a network source starts fetching them). */
  prefetch? (cids: CID[], options?: { urgent?: boolean }): void
  /** Blocks of read-ahead that keep the source's links busy now (a network source: what its providers' pipes hold). */
  readAhead? (): number
  /**
   * A hint of where data chunks belong: in the pack named after their file's root, at their
   * offset in the file. A source that stores what it fetches stores them there (packs.ts).
   */
  place? (cids: CID[], places: Placement[]): void
}

/** Where the data chunks of stripe `stripe` belong: the pack of the file's root, at their offsets. */
function chunkPlaces (root: CID, manifest: Manifest, stripe: number, count: number): Placement[] {
  const pack = root.toString()
  return Array.from({ length: count }, (_, i) => ({ pack, offset: (stripe * manifest.erasure.k + i) * manifest.chunkSize }))
}

/**
 * Blocks of read-ahead a prefetching source is given, beyond the stripe being read. Fetched
 * blocks wait in memory until the export reaches them: 64 held a 1 GiB fetch's peak RSS at
 * 306-340 MB, 24 at 270-297 MB, at the same speed within the noise (1 and 3 providers).
 */
export const READ_AHEAD_BLOCKS = 24

/**
 * Most blocks of read-ahead, when the source asks for more than READ_AHEAD_BLOCKS (many
 * providers, or slow ones beside a fast one; a network source holds a bounded part of what
 * came early in memory and reads the rest back from the repo).
 */
export const MAX_READ_AHEAD_BLOCKS = 256

/** Stripes of read-ahead for a source that asks for `depth` blocks of it, at k chunks a stripe. */
export function readAheadStripes (depth: number, k: number): number {
  return Math.ceil(Math.min(MAX_READ_AHEAD_BLOCKS, Math.max(READ_AHEAD_BLOCKS, depth)) / k)
}

export type ExportProgressEvents =
  ProgressEvent<'files:export:progress', { bytes: number, total: number }> |
  ProgressEvent<'files:export:repaired', { stripe: number, chunks: number[], parityUsed: number }>

export interface ExportOptions {
  /**
   * First byte of the file to return.
   * @default 0
   */
  offset?: number
  /**
   * Most bytes to return.
   * @default to the end of the file
   */
  length?: number
  /** The key of a private root (files/private.ts); a public one ignores it. */
  key?: Uint8Array
  signal?: AbortSignal
  onProgress?: (event: ExportProgressEvents) => void
  /**
   * Called with every stripe read whole (all its data chunks, verified or rebuilt), before
   * its bytes are yielded; a fetch uses it to store what it rebuilt and the parity it computes.
   */
  onStripe?: (manifest: Manifest, node: StripeNode, chunks: Map<number, Uint8Array>) => Promise<void>
}

/** Reads, verifies and decodes a DAG node. */
export async function readNode (source: BlockSource, cid: CID, options: { signal?: AbortSignal } = {}): Promise<Node> {
  const bytes = await source.get(cid, options)
  await verifyBlock(cid, bytes, options)
  return decodeNode(cid, bytes)
}

export async function readManifest (source: BlockSource, cid: CID, options: { signal?: AbortSignal } = {}): Promise<Manifest> {
  const node = await readNode(source, cid, options)
  if (node.type !== 'file') throw new InvalidManifestError(`${cid.toString()} is a PeerLink ${node.type} node, not a file`)
  return node
}

export async function readRoot (source: BlockSource, cid: CID, options: { signal?: AbortSignal } = {}): Promise<Manifest | DirectoryNode> {
  const node = await readNode(source, cid, options)
  if (node.type !== 'file' && node.type !== 'directory') throw new InvalidManifestError(`${cid.toString()} is a PeerLink ${node.type} node, not a file or directory root`)
  return node
}

/** Finds stripe nodes by number through the index tree, keeping the last index node of each level. */
export class StripeLocator {
  private readonly cache = new Map<string, IndexNode>()
  constructor (private readonly source: BlockSource, private readonly manifest: Manifest) {}

  async cid (stripe: number, options: { signal?: AbortSignal } = {}): Promise<CID> {
    const { depth, fanout, links } = this.manifest.stripes
    if (stripe < 0 || stripe >= this.manifest.stripeCount) throw new InvalidArgumentError(`no stripe ${stripe}`)
    let span = fanout ** depth
    let list = links
    let rest = stripe
    for (let d = depth; d > 0; d--) {
      const cid = list[Math.floor(rest / span)]
      if (cid === undefined) throw new InvalidManifestError(`index of ${this.manifest.name || 'file'} is too short for stripe ${stripe}`)
      rest %= span
      span /= fanout
      const key = cid.toString()
      let node = this.cache.get(key)
      if (node === undefined) {
        const n = await readNode(this.source, cid, options)
        if (n.type !== 'index' || n.depth !== d - 1) throw new InvalidManifestError(`${key} should be an index node of depth ${d - 1}`)
        node = n
        if (this.cache.size > 64) this.cache.clear()
        this.cache.set(key, node)
      }
      list = node.links
    }
    const cid = list[rest]
    if (cid === undefined) throw new InvalidManifestError(`stripe list is too short for stripe ${stripe}`)
    return cid
  }

  async node (stripe: number, options: { signal?: AbortSignal } = {}): Promise<StripeNode> {
    const cid = await this.cid(stripe, options)
    const node = await readNode(this.source, cid, options)
    const k = this.manifest.erasure.k
    const first = stripe * k
    const chunks = Math.min(k, Math.ceil(this.manifest.size / this.manifest.chunkSize) - first)
    if (node.type !== 'stripe' || node.index !== stripe || node.data.length !== chunks ||
        node.parity.length !== this.manifest.erasure.m || node.shardSize !== chunkLength(this.manifest, first)) {
      throw new InvalidManifestError(`${cid.toString()} is not stripe ${stripe} of this file`)
    }
    return node
  }
}

export type Verified = { bytes: Uint8Array } | { bytes?: undefined, reason: 'missing' | 'corrupt' }

/** Reads blocks and checks each against its CID: the bytes where intact, else why not. */
export async function readVerified (source: BlockSource, cids: CID[], options: { signal?: AbortSignal } = {}): Promise<Verified[]> {
  const out: Verified[] = cids.map(() => ({ reason: 'missing' }))
  const unchecked: Array<{ cid: CID, bytes: Uint8Array, i: number }> = []
  let i = 0
  try {
    for await (const b of source.getMany(cids, options)) {
      if (b.bytes !== undefined && b.verified === true) out[i] = { bytes: b.bytes }
      else if (b.bytes !== undefined) unchecked.push({ cid: cids[i], bytes: b.bytes, i })
      i++
    }
  } catch (err) {
    if (!(err instanceof BlockNotFoundError)) throw err
  }
  const results = await verifyBlocks(unchecked, options)
  results.forEach((r, j) => { out[unchecked[j].i] = r.ok ? { bytes: unchecked[j].bytes } : { reason: 'corrupt' } })
  return out
}

/**
 * The data chunks `wanted` (indexes within the stripe) of one stripe, verified; missing or
 * corrupt ones rebuilt from the rest of the stripe. Returns chunk bytes by index and how many
 * parity blocks the rebuild used.
 */
export async function readStripeChunks (source: BlockSource, manifest: Manifest, node: StripeNode, wanted: number[], options: { signal?: AbortSignal } = {}): Promise<{ chunks: Map<number, Uint8Array>, rebuilt: number[], parityUsed: number }> {
  const first = node.index * manifest.erasure.k
  const chunks = new Map<number, Uint8Array>()
  const lost: number[] = []
  const read = await readVerified(source, wanted.map(i => node.data[i]), options)
  wanted.forEach((i, j) => {
    const bytes = read[j].bytes
    if (bytes !== undefined) chunks.set(i, bytes)
    else lost.push(i)
  })
  if (lost.length === 0) return { chunks, rebuilt: [], parityUsed: 0 }
  const { shards, parityUsed } = await gatherShards(source, node, chunks, new Set(lost), options)
  const kk = node.data.length
  const codec = new ReedSolomonCodec(kk, node.parity.length)
  let rebuilt: Map<number, Uint8Array>
  try {
    rebuilt = await codec.reconstruct(shards, lost, options)
  } catch (err) {
    if ((err as Error).name !== 'NotEnoughShardsError') throw err
    const missing = shards.flatMap((s, i) => s === undefined ? [i < kk ? `data chunk ${first + i} (${node.data[i].toString()})` : `parity ${i - kk} (${node.parity[i - kk].toString()})`] : [])
    throw new DataLossError(`stripe ${node.index} of ${manifest.name || 'the file'} cannot be rebuilt: ${kk + node.parity.length - missing.length} of its ${kk + node.parity.length} blocks are intact, ${kk} are needed; missing or corrupt: ${missing.join(', ')}`, missing)
  }
  for (const i of lost) {
    const bytes = (rebuilt.get(i) as Uint8Array).subarray(0, chunkLength(manifest, first + i))
    try {
      await verifyBlock(node.data[i], bytes, options)
    } catch {
      throw new DataLossError(`chunk ${first + i} rebuilt from parity does not match its CID ${node.data[i].toString()}: the stripe's parity is damaged too`, [node.data[i].toString()])
    }
    chunks.set(i, bytes)
  }
  return { chunks, rebuilt: lost, parityUsed }
}

/**
 * Shards for a rebuild: the chunks already read and verified, then the stripe's other blocks
 * (data first, parity only as far as needed) until k are intact. Nothing is read twice.
 */
async function gatherShards (source: BlockSource, node: StripeNode, known: Map<number, Uint8Array>, lost: Set<number>, options: { signal?: AbortSignal }): Promise<{ shards: Array<Uint8Array | undefined>, parityUsed: number }> {
  const kk = node.data.length
  const all = [...node.data, ...node.parity]
  const shards: Array<Uint8Array | undefined> = new Array(all.length).fill(undefined)
  for (const [i, bytes] of known) shards[i] = toShard(bytes, node.shardSize)
  let have = known.size
  let parityUsed = 0
  const order = [...all.keys()].filter(i => !lost.has(i) && !known.has(i))
  let pos = 0
  while (have < kk && pos < order.length) {
    const batch = order.slice(pos, pos + (kk - have))
    pos += batch.length
    const read = await readVerified(source, batch.map(i => all[i]), options)
    read.forEach((r, j) => {
      if (r.bytes === undefined) return
      const i = batch[j]
      shards[i] = toShard(r.bytes, node.shardSize)
      have++
      if (i >= kk) parityUsed++
    })
  }
  return { shards, parityUsed }
}

/** A file's bytes as stored: a private file's ciphertext (files/private.ts opens it). */
export async function * exportFile (source: BlockSource, root: CID, options: ExportOptions = {}): AsyncGenerator<Uint8Array> {
  yield * exportManifest(source, { root, manifest: await readManifest(source, root, options) }, options)
}

/** The bytes of a file whose manifest was read already (`root` names its pack). */
export async function * exportManifest (source: BlockSource, file: { root: CID, manifest: Manifest }, options: ExportOptions = {}): AsyncGenerator<Uint8Array> {
  const { root, manifest } = file
  const offset = options.offset ?? 0
  if (!Number.isSafeInteger(offset) || offset < 0) throw new InvalidArgumentError(`offset must be a non-negative integer, not ${offset}`)
  const end = options.length === undefined ? manifest.size : Math.min(manifest.size, offset + options.length)
  if (options.length !== undefined && (!Number.isSafeInteger(options.length) || options.length < 0)) throw new InvalidArgumentError(`length must be a non-negative integer, not ${options.length}`)
  if (offset >= end) return
  const { chunkSize } = manifest
  const { k } = manifest.erasure
  const locator = new StripeLocator(source, manifest)
  const firstChunk = Math.floor(offset / chunkSize)
  const lastChunk = Math.floor((end - 1) / chunkSize)
  const lastStripe = Math.floor(lastChunk / k)
  const prefetch = source.prefetch?.bind(source)
  const place = source.place?.bind(source)
  const placeStripe = place === undefined ? undefined : (node: StripeNode): void => { place(node.data, chunkPlaces(root, manifest, node.index, node.data.length)) }
  const ahead = prefetch !== undefined ? new ReadAhead(prefetch, locator, { first: firstChunk, last: lastChunk, k }, () => readAheadStripes(source.readAhead?.() ?? 0, k), options.signal, placeStripe) : undefined
  let sent = 0
  for (let s = Math.floor(firstChunk / k); s <= lastStripe; s++) {
    options.signal?.throwIfAborted()
    ahead?.advance(s)
    const node = await locator.node(s, options)
    placeStripe?.(node)
    const lo = Math.max(firstChunk, s * k) - s * k
    const hi = Math.min(lastChunk, s * k + node.data.length - 1) - s * k
    const wanted = range(lo, hi)
    const { chunks, rebuilt, parityUsed } = await readStripeChunks(source, manifest, node, wanted, options)
    if (rebuilt.length > 0) options.onProgress?.(new CustomProgressEvent('files:export:repaired', { stripe: s, chunks: rebuilt.map(i => s * k + i), parityUsed }))
    if (options.onStripe !== undefined && wanted.length === node.data.length) await options.onStripe(manifest, node, chunks)
    for (const i of wanted) {
      const chunkStart = (s * k + i) * chunkSize
      const bytes = chunks.get(i) as Uint8Array
      const from = Math.max(0, offset - chunkStart)
      const to = Math.min(bytes.byteLength, end - chunkStart)
      const piece = from === 0 && to === bytes.byteLength ? bytes : bytes.subarray(from, to)
      sent += piece.byteLength
      yield piece
    }
    options.onProgress?.(new CustomProgressEvent('files:export:progress', { bytes: sent, total: end - offset }))
  }
}

/**
 * Keeps a prefetching source told about the stripes ahead of the one being read: the stripe
 * nodes `2 × depth` stripes deep and ahead of everything else (they are small, and each one
 * is needed before its chunks can be named), their data chunks `depth` stripes deep. Only
 * the chunks of the range being read are named, so a range fetches no chunk it does not
 * return. It runs beside the export and never blocks it; a failure here surfaces when the
 * export itself reads that block.
 */
class ReadAhead {
  private nodesHinted = -1
  private dataHinted = -1
  private running: Promise<void> = Promise.resolve()
  private readonly last: number

  constructor (private readonly prefetch: NonNullable<BlockSource['prefetch']>, private readonly locator: StripeLocator,
    private readonly chunks: { first: number, last: number, k: number }, private readonly depthOf: () => number, private readonly signal?: AbortSignal,
    private readonly place?: (node: StripeNode) => void) {
    this.last = Math.floor(chunks.last / chunks.k)
  }

  advance (current: number): void {
    const depth = this.depthOf()
    const nodes = range(Math.max(current, this.nodesHinted + 1), Math.min(this.last, current + 2 * depth))
    const data = range(Math.max(current, this.dataHinted + 1), Math.min(this.last, current + depth))
    if (nodes.length === 0 && data.length === 0) return
    this.nodesHinted = Math.max(this.nodesHinted, ...nodes)
    this.dataHinted = Math.max(this.dataHinted, ...data)
    this.running = this.running.then(async () => {
      const opts = { signal: this.signal }
      if (nodes.length > 0) this.prefetch(await Promise.all(nodes.map(async t => await this.locator.cid(t, opts))), { urgent: true })
      const { first, last, k } = this.chunks
      for (const t of data) {
        const node = await this.locator.node(t, opts)
        this.place?.(node)
        this.prefetch(node.data.filter((_, i) => t * k + i >= first && t * k + i <= last))
      }
    }).catch(() => {})
  }
}

function range (from: number, to: number): number[] {
  return to < from ? [] : Array.from({ length: to - from + 1 }, (_, i) => from + i)
}

/**
 * The parity blocks of a stripe, computed from its data chunks and checked against the
 * CIDs the stripe node names: what a fetcher stores instead of downloading parity. `into`:
 * buffers of the shard size to code them into.
 */
export async function computeParity (manifest: Manifest, node: StripeNode, chunks: Map<number, Uint8Array>, options: { signal?: AbortSignal, into?: Uint8Array[] } = {}): Promise<Array<{ cid: CID, bytes: Uint8Array }>> {
  if (node.parity.length === 0) return []
  const data = node.data.map((_, i) => {
    const c = chunks.get(i)
    if (c === undefined) throw new InvalidArgumentError(`chunk ${i} of stripe ${node.index} is needed to compute its parity`)
    return toShard(c, node.shardSize)
  })
  const parity = await new ReedSolomonCodec(node.data.length, node.parity.length).encode(data, options)
  const blocks = parity.map((bytes, i) => ({ cid: node.parity[i], bytes }))
  const results = await verifyBlocks(blocks, options)
  const bad = results.findIndex(r => !r.ok)
  if (bad >= 0) throw new DataLossError(`parity ${bad} of stripe ${node.index} of ${manifest.name || 'the file'} computed from verified data does not match its CID ${node.parity[bad].toString()}: the stripe node is inconsistent`, [node.parity[bad].toString()])
  return blocks
}
