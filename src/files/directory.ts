// Directories: a directory node maps names to the roots of files and subdirectories.
import { mkdir, readdir, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { CID } from 'multiformats/cid'
import { FileExistsError, InvalidArgumentError, InvalidManifestError, PathNotFoundError, TreeLimitError, UnsafePathError } from '../errors.js'
import { readRoot, type BlockSource, type ExportOptions } from './exporter.js'
import { FORMAT_VERSION, MAX_DIRECTORY_ENTRIES, MAX_TREE_ENTRIES, encodeNode, isSafeName, type DirectoryEntry, type DirectoryNode, type Manifest } from './format.js'
import { checkParent, exists, readChunks, tempBeside, writeAtomically } from './fs.js'
import { STRIPES_IN_FLIGHT, checkImportOptions, importFile, type ImportOptions, type ImportTarget } from './importer.js'
import { TAG_BYTES, deriveKey } from './cipher.js'
import { exportContent, importPrivateFile, readSegments } from './private.js'
import { BufferPool } from './pool.js'
import { openDirectory, sealDirectory, type PlainEntry } from './private-directory.js'

export interface TreeImportResult {
  cid: CID
  name: string
  size: number
  /** The size its root node gives: a private root's is of its ciphertext. */
  rootSize: number
  /** Bytes of every block written for it: its files' chunks, parity and nodes, its directory nodes. */
  stored: number
  type: 'file' | 'directory'
  files: number
  /** Paths that are neither files nor directories (symlinks, sockets…), left out. */
  skipped: string[]
  release: () => void
}

/** `key`: seal the file with it (files/private.ts), or the directory and all under it (files/private-directory.ts). */
export async function importPath (store: ImportTarget, path: string, kind: 'file' | 'directory', name: string, options: ImportOptions & { key?: Uint8Array } = {}): Promise<TreeImportResult> {
  const { chunkSize, k, m } = checkImportOptions(options)
  // The stripes in memory at once (those stored, the one read), every file of a tree in turn.
  const { key, pool = new BufferPool(chunkSize, (STRIPES_IN_FLIGHT + 1) * (k + m) + 2), ...rest } = options
  if (kind === 'file') {
    // A private file is read in its segments, each sealed in place (readSegments).
    const r = key !== undefined
      ? await importPrivateFile(store, readSegments(path, chunkSize - TAG_BYTES, options.signal, pool), { ...rest, name, key, pool })
      : await importFile(store, readChunks(path, chunkSize, options.signal, 0, pool), { ...rest, name, pool })
    return { cid: r.cid, name, size: r.size, rootSize: r.rootSize, stored: r.stored, type: 'file', files: 1, skipped: [], release: r.release }
  }
  const releases: Array<() => void> = []
  const skipped: string[] = []
  try {
    const dirents = (await readdir(path, { withFileTypes: true })).sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
    if (dirents.length > MAX_DIRECTORY_ENTRIES) throw new InvalidArgumentError(`${path} has ${dirents.length} entries; a directory may hold at most ${MAX_DIRECTORY_ENTRIES}`)
    const entries: PlainEntry[] = []
    let size = 0
    let stored = 0
    let files = 0
    for (const d of dirents) {
      const child = join(path, d.name)
      if (!d.isFile() && !d.isDirectory()) { skipped.push(child); continue }
      // Each entry of a private directory is sealed under a key of its own (private-directory.ts).
      const childKey = key !== undefined ? deriveKey(key, entries.length) : undefined
      const r = await importPath(store, child, d.isFile() ? 'file' : 'directory', d.name, { ...rest, key: childKey, pool })
      releases.push(r.release)
      skipped.push(...r.skipped)
      entries.push({ name: d.name, cid: r.cid, size: r.rootSize, type: r.type, plainSize: r.size })
      size += r.size
      stored += r.stored
      files += r.files
    }
    const tree: DirectoryNode = key !== undefined
      ? sealDirectory(key, name, entries)
      : { peerlink: FORMAT_VERSION, type: 'directory', name, size, entries: entries.map(({ plainSize, ...e }) => e) }
    const node = encodeNode(tree)
    if (store.hold !== undefined) releases.push(store.hold([node.cid]))
    await store.putMany([node], { signal: options.signal })
    stored += node.bytes.byteLength
    return { cid: node.cid, name, size, rootSize: tree.size, stored, type: 'directory', files, skipped, release: () => { for (const r of releases) r() } }
  } catch (err) {
    for (const r of releases) r()
    throw err
  }
}

export interface TreeExportOptions extends ExportOptions {
  /**
   * Replace what is at the output path.
   * @default false
   */
  force?: boolean
  /**
   * Most files and directories the export writes.
   * @default 1000000
   */
  maxEntries?: number
  /**
   * Most bytes the export writes.
   * @default no limit (the free space is checked against the root's size)
   */
  maxBytes?: number
  /**
   * Puts a public file of the tree at `path` some other way than by writing its bytes there
   * (the node links the file's pack); without it, every file is written.
   */
  placeFile?: (root: CID, node: Manifest, path: string) => Promise<void>
}

/**
 * What an export may still write. A tree's size is checked at every node it reaches (a
 * directory's against its entries when decoded, an entry's against its own root here), so the
 * root's size is what the whole tree writes: checked against maxBytes before anything is
 * written. Entries are counted as directories are reached, each repeat of a child again.
 */
class TreeBudget {
  private entries = 0
  private readonly maxEntries: number
  private readonly maxBytes: number

  constructor (private readonly root: CID, options: TreeExportOptions) {
    this.maxEntries = options.maxEntries ?? MAX_TREE_ENTRIES
    this.maxBytes = options.maxBytes ?? Infinity
    if (!(this.maxEntries >= 0) || !(this.maxBytes >= 0)) throw new InvalidArgumentError('maxEntries and maxBytes must not be negative')
  }

  /** The root's claimed size, before anything is written. */
  start (node: Manifest | DirectoryNode): void {
    if (node.size > this.maxBytes) throw new TreeLimitError('bytes', this.maxBytes, this.root.toString())
    this.take(node.type === 'directory' ? node.entries.length : 0)
  }

  /** A directory's entries, before any of them is written. */
  take (entries: number): void {
    this.entries += entries
    if (this.entries > this.maxEntries) throw new TreeLimitError('entries', this.maxEntries, this.root.toString())
  }
}

/** Throws TreeLimitError when a root claims more bytes than `options.maxBytes` allows (a file's export). */
export function checkRootSize (root: CID, node: Manifest | DirectoryNode, options: TreeExportOptions): void {
  new TreeBudget(root, options).start(node)
}

/** A directory entry's root, which must be what the entry says: its type and its size. */
async function readEntry (source: BlockSource, e: DirectoryEntry, options: ExportOptions): Promise<Manifest | DirectoryNode> {
  const node = await readRoot(source, e.cid, options)
  if (node.type !== e.type || node.size !== e.size) {
    throw new InvalidManifestError(`directory entry "${e.name}" claims a ${e.type} of ${e.size} bytes, but its root ${e.cid.toString()} is a ${node.type} of ${node.size} bytes`)
  }
  return node
}

/** A file or directory root reached by a path inside another root. */
export interface Resolved {
  cid: CID
  node: Manifest | DirectoryNode
  /** The last name on the path (the root's own name for an empty path). */
  name: string
  /** Its key: the link's for the root, derived along the path inside a private directory. */
  key?: Uint8Array
  /** A directory's plaintext size and its entries' (a private one's, opened; else its own). */
  sizes?: { size: number, entries: number[] }
}

/**
 * Walks a path of names from `root`, one directory node per name, each entry's root checked
 * against what the entry says. Only the nodes on the path are read (so through a network
 * source only they are fetched). A missing name, or a name under a file, is PathNotFoundError.
 */
export async function resolvePath (source: BlockSource, root: CID, path: string[], options: { signal?: AbortSignal, key?: Uint8Array } = {}): Promise<Resolved> {
  let here = opened(root, await readRoot(source, root, options), '', options.key, path.length > 0)
  here.name = here.node.name
  for (let i = 0; i < path.length; i++) {
    const node = here.node
    const whole = [root.toString(), ...path].join('/')
    const where = `${i === 0 ? 'the root ' : ''}"${i === 0 ? node.name : path.slice(0, i).join('/')}" (${here.cid.toString()})`
    if (node.type !== 'directory') throw new PathNotFoundError(whole, `${where} is a file, not a directory`)
    const at = node.entries.findIndex(e => e.name === path[i])
    if (at < 0) throw new PathNotFoundError(whole, `no "${path[i]}" in the directory ${where}`)
    const entry = node.entries[at]
    const key = node.private !== undefined ? deriveKey(here.key as Uint8Array, at) : here.key
    here = opened(entry.cid, await readEntry(source, entry, options), entry.name, key, i < path.length - 1)
  }
  return here
}

/**
 * A root reached under `name` with `key`, a private directory opened when the key is there;
 * one a path goes through (`through`) must open, so without its key it is PrivateRootError.
 */
function opened (cid: CID, node: Manifest | DirectoryNode, name: string, key: Uint8Array | undefined, through: boolean): Resolved {
  if (node.type === 'file' || (node.private !== undefined && key === undefined && !through)) return { cid, node, name, key }
  const o = openDirectory(cid, node, key)
  return { cid, node: o.node, name, key, sizes: { size: o.size, entries: o.sizes } }
}

/**
 * Writes the file or directory tree under `root` to `outPath`. Every name is checked before
 * anything of its directory is created: '/', '..', '.', NUL and empty names are refused. A
 * directory is written into a temporary directory beside `outPath` and renamed into place
 * when whole, as a file is: an interrupted export leaves nothing at `outPath`. With `force`
 * the tree replaces whatever was there (an old directory's other files do not stay).
 */
export async function exportTree (source: BlockSource, root: CID, outPath: string, options: TreeExportOptions = {}): Promise<{ files: number, bytes: number }> {
  const read = await readRoot(source, root, options)
  const budget = new TreeBudget(root, options)
  budget.start(read)
  if (read.type === 'file') {
    const bytes = await writeAtomically(outPath, exportContent(source, root, options), options)
    return { files: 1, bytes }
  }
  const node = openDirectory(root, read, options.key).node
  if (options.force !== true && await exists(outPath)) throw new FileExistsError(outPath)
  await checkParent(outPath)
  checkEntries(root, node.entries)
  const tmp = await tempBeside(outPath)
  try {
    await mkdir(tmp)
    const r = await exportEntries(source, node, tmp, budget, options)
    await moveTreeIntoPlace(tmp, outPath, options.force === true)
    return r
  } catch (err) {
    await rm(tmp, { recursive: true, force: true })
    throw err
  }
}

function checkEntries (root: CID, entries: DirectoryEntry[]): void {
  for (const e of entries) if (!isSafeName(e.name)) throw new UnsafePathError(e.name)
  const names = new Set<string>()
  for (const e of entries) {
    if (names.has(e.name)) throw new InvalidManifestError(`directory ${root.toString()} names "${e.name}" twice`)
    names.add(e.name)
  }
}

/**
 * The entries of a directory (a private one opened with `options.key`) into `dir` (made
 * fresh, inside the export's temporary one), each entry of a private one with its own key.
 */
async function exportEntries (source: BlockSource, dirNode: DirectoryNode, dir: string, budget: TreeBudget, options: TreeExportOptions): Promise<{ files: number, bytes: number }> {
  let files = 0
  let bytes = 0
  for (const [i, e] of dirNode.entries.entries()) {
    const path = join(dir, e.name)
    const read = await readEntry(source, e, options)
    const entryOptions = dirNode.private !== undefined ? { ...options, key: deriveKey(options.key as Uint8Array, i) } : options
    if (read.type === 'file') {
      if (options.placeFile !== undefined && read.private === undefined) {
        await options.placeFile(e.cid, read, path)
        bytes += read.size
      } else {
        bytes += await writeAtomically(path, exportContent(source, e.cid, entryOptions), { ...options, force: true, fresh: true })
      }
      files++
      continue
    }
    const node = openDirectory(e.cid, read, entryOptions.key).node
    checkEntries(e.cid, node.entries)
    budget.take(node.entries.length)
    await mkdir(path)
    const r = await exportEntries(source, node, path, budget, entryOptions)
    files += r.files
    bytes += r.bytes
  }
  return { files, bytes }
}

/** Renames the finished tree to `path`; with `force`, what was there goes only once it is in place. */
async function moveTreeIntoPlace (tmp: string, path: string, force: boolean): Promise<void> {
  const there = await exists(path)
  if (there && !force) throw new FileExistsError(path)
  if (!there) {
    await rename(tmp, path).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOTEMPTY' || err.code === 'EEXIST' || err.code === 'ENOTDIR') throw new FileExistsError(path)
      throw err
    })
    return
  }
  const old = await tempBeside(path)
  await rename(path, old)
  await rename(tmp, path)
  await rm(old, { recursive: true, force: true })
}
