// The file DAG, as dag-cbor blocks:
//
//   manifest (root) --stripes--> [index nodes] --> stripe nodes --> data chunks + parity
//
// manifest:  { peerlink: 1, type: 'file', name, mediaType, size, chunkSize,
//              hash: { alg: 'blake3', digest }, erasure: { scheme, k, m },
//              stripeCount, stripes: { depth, fanout, links }, private?: { alg, segment, meta } }
//            (a private file's name and media type are empty, its size and hash those of its
//            ciphertext; meta seals the real ones: files/private.ts)
// index:     { peerlink: 1, type: 'index', depth, links }       depth 0: links are stripes
// stripe:    { peerlink: 1, type: 'stripe', index, shardSize, data: CID[], parity: CID[] }
// directory: { peerlink: 1, type: 'directory', name, size, entries: [{ name, cid, size, type }],
//              private?: { alg, meta } }
//            (a private directory's names are all empty, its sizes those of its entries' roots
//            (ciphertext); meta seals the names and plaintext sizes: files/private-directory.ts)
//
// Nodes are decoded from untrusted bytes, so every field is checked before use.
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { InvalidManifestError } from '../errors.js'
import { cidOf } from '../hash/index.js'
import { MAX_BLOCK_SIZE } from '../limits.js'
import { MAX_CHUNK_SIZE, MAX_DIRECTORY_ENTRIES, MAX_STRIPE_SHARDS } from './defaults.js'

export { DEFAULT_CHUNK_SIZE, DEFAULT_K, DEFAULT_M, isSafeName, MAX_CHUNK_SIZE, MAX_DIRECTORY_ENTRIES, MAX_STRIPE_SHARDS, MAX_TREE_ENTRIES, MIN_CHUNK_SIZE } from './defaults.js'

export const FORMAT_VERSION = 1
export const ERASURE_SCHEME = 'reed-solomon/cauchy/gf256-11d'

/** Budget per link in a node, so a full node stays within one chunk (and far within 2 MiB). */
const BYTES_PER_LINK = 64

export interface StripeList { depth: number, fanout: number, links: CID[] }

export interface Manifest {
  peerlink: 1
  type: 'file'
  name: string
  mediaType: string
  size: number
  chunkSize: number
  hash: { alg: 'blake3', digest: Uint8Array }
  erasure: { scheme: string, k: number, m: number }
  stripeCount: number
  stripes: StripeList
  private?: PrivateField
}

/** How a private file is sealed: `segment` plaintext bytes per sealed segment, `meta` the sealed metadata. */
export interface PrivateField { alg: 'aes-256-gcm', segment: number, meta: Uint8Array }

export interface IndexNode { peerlink: 1, type: 'index', depth: number, links: CID[] }

export interface StripeNode {
  peerlink: 1
  type: 'stripe'
  index: number
  shardSize: number
  data: CID[]
  parity: CID[]
}

export interface DirectoryEntry { name: string, cid: CID, size: number, type: 'file' | 'directory' }
export interface DirectoryNode { peerlink: 1, type: 'directory', name: string, size: number, entries: DirectoryEntry[], private?: SealedDirectory }

/** A private directory's sealed names and sizes (files/private-directory.ts). */
export interface SealedDirectory { alg: 'aes-256-gcm', meta: Uint8Array }

export type Node = Manifest | IndexNode | StripeNode | DirectoryNode

export function defaultFanout (chunkSize: number): number {
  return Math.max(2, Math.floor(chunkSize / BYTES_PER_LINK))
}

export function encodeNode (node: Node): { cid: CID, bytes: Uint8Array } {
  const bytes = dagCbor.encode(node)
  if (bytes.byteLength > MAX_BLOCK_SIZE) throw new InvalidManifestError(`a ${node.type} node would be ${bytes.byteLength} bytes, over the block limit`)
  return { cid: cidOf(bytes, dagCbor.code), bytes }
}

// ---- validation of decoded nodes ----

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array)
const isNat = (v: unknown, max = Number.MAX_SAFE_INTEGER): v is number => Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) <= max

function fail (cid: CID, what: string): never {
  throw new InvalidManifestError(`${cid.toString()} is not a valid PeerLink node: ${what}`)
}

function cidList (cid: CID, v: unknown, what: string, max: number, codec?: number): CID[] {
  if (!Array.isArray(v) || v.length > max) fail(cid, `${what} must be a list of at most ${max} links`)
  return v.map(x => {
    const c = CID.asCID(x)
    if (c == null || (codec !== undefined && c.code !== codec)) fail(cid, `${what} holds something that is not a ${codec === raw.code ? 'raw' : 'dag-cbor'} link`)
    return c
  })
}

export function decodeNode (cid: CID, bytes: Uint8Array): Node {
  if (cid.code !== dagCbor.code) fail(cid, 'it is not dag-cbor (a raw block is a chunk, not a file root)')
  let v: unknown
  try {
    v = dagCbor.decode(bytes)
  } catch (err) {
    fail(cid, `undecodable dag-cbor (${(err as Error).message})`)
  }
  if (!isObj(v) || v.peerlink !== FORMAT_VERSION) fail(cid, 'no PeerLink format version 1 marker')
  switch (v.type) {
    case 'file': return checkManifest(cid, v)
    case 'index': {
      if (!isNat(v.depth, 16)) fail(cid, 'bad index depth')
      return { peerlink: 1, type: 'index', depth: v.depth, links: cidList(cid, v.links, 'index links', MAX_BLOCK_SIZE / 32, dagCbor.code) }
    }
    case 'stripe': {
      if (!isNat(v.index) || !isNat(v.shardSize, MAX_CHUNK_SIZE) || v.shardSize === 0) fail(cid, 'bad stripe index or shard size')
      const data = cidList(cid, v.data, 'stripe data', MAX_STRIPE_SHARDS, raw.code)
      const parity = cidList(cid, v.parity, 'stripe parity', MAX_STRIPE_SHARDS, raw.code)
      if (data.length === 0 || data.length + parity.length > MAX_STRIPE_SHARDS) fail(cid, 'bad stripe shard counts')
      return { peerlink: 1, type: 'stripe', index: v.index, shardSize: v.shardSize, data, parity }
    }
    case 'directory': {
      if (typeof v.name !== 'string' || !isNat(v.size) || !Array.isArray(v.entries) || v.entries.length > MAX_DIRECTORY_ENTRIES) fail(cid, 'bad directory')
      const entries = v.entries.map((e: unknown) => {
        if (!isObj(e) || typeof e.name !== 'string' || !isNat(e.size) || (e.type !== 'file' && e.type !== 'directory')) fail(cid, 'bad directory entry')
        const c = CID.asCID(e.cid)
        if (c == null || c.code !== dagCbor.code) fail(cid, 'directory entry without a dag-cbor link')
        return { name: e.name, cid: c, size: e.size, type: e.type as DirectoryEntry['type'] }
      })
      // A directory's size is what exporting it writes: checked here against its entries, and
      // each entry's against its own root as the tree is walked, a tree cannot claim less.
      const total = entries.reduce((sum: number, e: DirectoryEntry) => sum + e.size, 0)
      if (total !== v.size) fail(cid, `its size ${String(v.size)} is not the sum of its entries' sizes (${total})`)
      const sealed = v.private === undefined ? undefined : checkSealedDirectory(cid, v.private, v.name, entries)
      return { ...(sealed !== undefined ? { private: sealed } : {}), peerlink: 1, type: 'directory', name: v.name, size: v.size, entries }
    }
    default: fail(cid, `unknown node type ${JSON.stringify(v.type)}`)
  }
}

function checkManifest (cid: CID, v: Record<string, unknown>): Manifest {
  if (typeof v.name !== 'string' || typeof v.mediaType !== 'string') fail(cid, 'name and mediaType must be strings')
  if (!isNat(v.size) || !isNat(v.chunkSize, MAX_CHUNK_SIZE) || (v.chunkSize as number) < 1) fail(cid, 'bad size or chunk size')
  const hash = v.hash
  if (!isObj(hash) || hash.alg !== 'blake3' || !(hash.digest instanceof Uint8Array) || hash.digest.byteLength !== 32) fail(cid, 'bad file hash')
  const e = v.erasure
  if (!isObj(e) || e.scheme !== ERASURE_SCHEME || !isNat(e.k) || !isNat(e.m) || (e.k as number) < 1 || (e.k as number) + (e.m as number) > MAX_STRIPE_SHARDS) fail(cid, 'bad erasure parameters')
  const s = v.stripes
  if (!isObj(s) || !isNat(s.depth, 16) || !isNat(s.fanout) || (s.fanout as number) < 2 || !isNat(v.stripeCount)) fail(cid, 'bad stripe list')
  const size = v.size as number
  const chunkSize = v.chunkSize as number
  const k = e.k as number
  const expected = Math.ceil(Math.ceil(size / chunkSize) / k)
  if (v.stripeCount !== expected) fail(cid, `stripe count ${String(v.stripeCount)} does not fit size ${size}`)
  const links = cidList(cid, s.links, 'stripe list', s.fanout as number, dagCbor.code)
  if ((s.fanout as number) ** (s.depth as number) * links.length < expected || (expected > 0 && links.length === 0)) fail(cid, 'stripe list too short for the file')
  return {
    ...(v.private !== undefined ? { private: checkPrivate(cid, v.private) } : {}),
    peerlink: 1,
    type: 'file',
    name: v.name as string,
    mediaType: v.mediaType as string,
    size,
    chunkSize,
    hash: { alg: 'blake3', digest: hash.digest },
    erasure: { scheme: ERASURE_SCHEME, k, m: e.m as number },
    stripeCount: expected,
    stripes: { depth: s.depth as number, fanout: s.fanout as number, links }
  }
}

function checkPrivate (cid: CID, p: unknown): PrivateField {
  if (!isObj(p) || p.alg !== 'aes-256-gcm' || !isNat(p.segment, MAX_CHUNK_SIZE) || p.segment === 0 ||
    !(p.meta instanceof Uint8Array) || p.meta.byteLength > 4096) fail(cid, 'bad private field')
  return { alg: 'aes-256-gcm', segment: p.segment, meta: p.meta }
}

/** A private directory shows no name in the clear: its own and its entries' are sealed in meta. */
function checkSealedDirectory (cid: CID, p: unknown, name: string, entries: DirectoryEntry[]): SealedDirectory {
  if (!isObj(p) || p.alg !== 'aes-256-gcm' || !(p.meta instanceof Uint8Array)) fail(cid, 'bad private field')
  if (name !== '' || entries.some(e => e.name !== '')) fail(cid, 'a private directory names something in the clear')
  return { alg: 'aes-256-gcm', meta: p.meta }
}

/** Bytes of data chunk `i` of a file. */
export function chunkLength (m: Pick<Manifest, 'size' | 'chunkSize'>, i: number): number {
  return Math.max(0, Math.min(m.chunkSize, m.size - i * m.chunkSize))
}

export function chunkCount (m: Pick<Manifest, 'size' | 'chunkSize'>): number {
  return Math.ceil(m.size / m.chunkSize)
}

/** A shard for coding: the block itself, or a short last chunk zero-padded to the shard size. */
export function toShard (bytes: Uint8Array, shardSize: number): Uint8Array {
  if (bytes.byteLength === shardSize) return bytes
  const shard = new Uint8Array(shardSize)
  shard.set(bytes)
  return shard
}
