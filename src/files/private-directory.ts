// Private directories: the node keeps its entries' CIDs, types and root sizes in the clear (a
// provider, a holder and gc walk the tree without the key, and every block is still named by
// its CID), with every name empty; the names, and the plaintext sizes to show, are sealed in
// its `private.meta` under the directory's key. Entry i is sealed under deriveKey(key, i), a
// file as any private file, a subdirectory as this one: the link's key opens the whole tree,
// the key of a subdirectory only what is under it.
import * as dagCbor from '@ipld/dag-cbor'
import type { CID } from 'multiformats/cid'
import { DecryptionError, InvalidManifestError, PrivateRootError } from '../errors.js'
import { CIPHER_ALG, openMetadata, sealMetadata } from './cipher.js'
import { FORMAT_VERSION, type DirectoryEntry, type DirectoryNode } from './format.js'

/** An entry as the importer made it: its root's size in `size`, the plaintext's in `plainSize`. */
export interface PlainEntry extends DirectoryEntry { plainSize: number }

/** What the key opens of a private directory: its name, and the plaintext sizes of it and its entries. */
export interface OpenedDirectory {
  /** The directory with its names in place (its sizes still those of the roots, as checked). */
  node: DirectoryNode
  size: number
  sizes: number[]
}

/**
 * The plaintext sizes of a directory a path resolved to: opened there when it is private
 * (resolvePath leaves one unopened only without its key: PrivateRootError here).
 */
export function openedSizes (cid: CID, node: DirectoryNode, sizes: { size: number, entries: number[] } | undefined): { size: number, entries: number[] } {
  if (sizes !== undefined) return sizes
  const o = openDirectory(cid, node, undefined)
  return { size: o.size, entries: o.sizes }
}

/** The node of a private directory named `name` holding `entries`, sealed under `key`. */
export function sealDirectory (key: Uint8Array, name: string, entries: PlainEntry[]): DirectoryNode {
  const meta = sealMetadata(key, dagCbor.encode({ name, names: entries.map(e => e.name), sizes: entries.map(e => e.plainSize) }))
  return {
    peerlink: FORMAT_VERSION,
    type: 'directory',
    name: '',
    size: entries.reduce((sum, e) => sum + e.size, 0),
    entries: entries.map(e => ({ name: '', cid: e.cid, size: e.size, type: e.type })),
    private: { alg: CIPHER_ALG, meta }
  }
}

/**
 * A directory as its key's holder sees it: a public one as it is, a private one opened with
 * `key` (PrivateRootError without one, DecryptionError for a wrong one).
 */
export function openDirectory (cid: CID, node: DirectoryNode, key: Uint8Array | undefined): OpenedDirectory {
  if (node.private === undefined) return { node, size: node.size, sizes: node.entries.map(e => e.size) }
  if (key === undefined) throw new PrivateRootError(cid.toString())
  const bytes = openMetadata(key, node.private.meta)
  if (bytes === undefined) throw new DecryptionError(`the key in the link does not open the directory ${cid.toString()}: its sealed names (in that directory block) do not authenticate under it, so the key is wrong or mistyped`)
  let meta: unknown
  try {
    meta = dagCbor.decode(bytes)
  } catch {
    throw new InvalidManifestError(`${cid.toString()} is not a valid PeerLink node: its sealed names do not decode`)
  }
  const { name, names, sizes } = (meta ?? {}) as { name?: unknown, names?: unknown, sizes?: unknown }
  const n = node.entries.length
  if (typeof name !== 'string' || !Array.isArray(names) || !Array.isArray(sizes) || names.length !== n || sizes.length !== n ||
    names.some(x => typeof x !== 'string') || sizes.some(x => !Number.isSafeInteger(x) || x < 0)) {
    throw new InvalidManifestError(`${cid.toString()} is not a valid PeerLink node: its sealed names do not fit its ${n} entries`)
  }
  const entries = node.entries.map((e, i) => ({ ...e, name: names[i] as string }))
  const plain = sizes as number[]
  return { node: { ...node, name, entries }, size: plain.reduce((a, b) => a + b, 0), sizes: plain }
}
