// The node facade: one object the CLI (and later the API and simulations) drive. It owns the
// repo's blockstore and wires the layers: files over blockstore over hash and erasure.
import { stat as fsStat, statfs } from 'node:fs/promises'
import { basename } from 'node:path'
import { CID } from 'multiformats/cid'
import { LevelBlockstore, type GcResult, type PinInfo, type Usage } from '../blockstore/index.js'
import { DiskFullError, InvalidArgumentError, InvalidCidError, NotPinnedError } from '../errors.js'
import { exportTree, type TreeImportResult, importPath } from '../files/directory.js'
import { exportFile, readRoot, type ExportOptions } from '../files/exporter.js'
import type { DirectoryNode, Manifest } from '../files/format.js'
import { treeBytes } from '../files/fs.js'
import { checkImportOptions, type ImportOptions } from '../files/importer.js'
import { verifyTree, type VerifyOptions, type VerifyReport } from '../files/verify.js'
import { readConfig, repoPaths, type RepoConfig } from '../repo/repo.js'

export function parseCid (text: string): CID {
  const t = text.trim()
  if (t === '') throw new InvalidCidError(text, 'it is empty')
  try {
    return CID.parse(t)
  } catch (err) {
    throw new InvalidCidError(text, (err as Error).message)
  }
}

/** Head-room kept free beyond an import's own estimate (index, nodes, other writers). */
const SPACE_MARGIN = 16 * 1024 * 1024

export interface AddOptions extends ImportOptions {
  recursive?: boolean
}

export interface StatResult {
  cid: string
  type: 'file' | 'directory'
  name: string
  size: number
  pinned: boolean
  mediaType?: string
  chunkSize?: number
  k?: number
  m?: number
  stripes?: number
  entries?: number
  hash?: string
}

export class PeerLinkNode {
  private constructor (readonly repoPath: string, readonly config: RepoConfig, readonly blockstore: LevelBlockstore) {}

  /** Opens an existing repo (RepoNotFoundError if there is none, RepoLockedError if in use). */
  static async open (repoPath: string): Promise<PeerLinkNode> {
    const config = await readConfig(repoPath)
    const store = new LevelBlockstore(repoPaths(repoPath).blocks)
    await store.open()
    return new PeerLinkNode(repoPath, config, store)
  }

  async stop (): Promise<void> {
    await this.blockstore.close()
  }

  /** Imports a file (or, with recursive, a directory) and pins it. Nothing is pinned on failure. */
  async add (path: string, options: AddOptions = {}): Promise<TreeImportResult> {
    let st
    try {
      st = await fsStat(path)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      throw new InvalidArgumentError(code === 'ENOENT' ? `${path}: no such file or directory` : code === 'EACCES' ? `${path}: permission denied` : `${path}: ${(err as Error).message}`)
    }
    if (st.isDirectory() && options.recursive !== true) throw new InvalidArgumentError(`${path} is a directory: use -r to add it with everything in it`)
    if (!st.isDirectory() && !st.isFile()) throw new InvalidArgumentError(`${path} is neither a file nor a directory`)
    const opts = { chunkSize: this.config.import.chunkSize, k: this.config.import.k, m: this.config.import.m, ...options }
    const { k, m } = checkImportOptions(opts)
    await this.checkSpace(await treeBytes(path), k, m)
    let result: TreeImportResult
    try {
      result = await importPath(this.blockstore, path, st.isDirectory() ? 'directory' : 'file', basename(path), opts)
    } catch (err) {
      const e = err as NodeJS.ErrnoException
      if (e.code === 'EISDIR') throw new InvalidArgumentError(`${path} is a directory: use -r to add it`)
      if (e.syscall === 'open' || e.syscall === 'read' || e.syscall === 'scandir') {
        throw new InvalidArgumentError(`cannot read ${e.path ?? path}: ${e.code === 'EACCES' ? 'permission denied' : String(e.code)}`)
      }
      throw err
    }
    try {
      await this.blockstore.pin(result.cid, { name: result.name, size: result.size, type: result.type })
    } finally {
      result.release()
    }
    return result
  }

  /**
   * Refuses an import the disk cannot hold (file plus parity plus head-room) before writing
   * anything; running out half-way fails cleanly too, but only after the work.
   */
  private async checkSpace (bytes: number, k: number, m: number): Promise<void> {
    const needed = Math.ceil(bytes * (k + m) / k) + SPACE_MARGIN
    const fs = await statfs(this.repoPath).catch(() => undefined)
    if (fs === undefined) return
    const free = fs.bavail * fs.bsize
    if (free < needed) {
      throw new DiskFullError(this.repoPath, { cause: new Error(`needs about ${Math.ceil(needed / 1048576)} MiB free to add ${Math.ceil(bytes / 1048576)} MiB, has ${Math.floor(free / 1048576)} MiB`) })
    }
  }

  cat (cid: CID, options: ExportOptions = {}): AsyncGenerator<Uint8Array> {
    return exportFile(this.blockstore, cid, options)
  }

  async exportTo (cid: CID, outPath: string, options: ExportOptions & { force?: boolean } = {}): Promise<{ files: number, bytes: number }> {
    return await exportTree(this.blockstore, cid, outPath, options)
  }

  async stat (cid: CID, options: { signal?: AbortSignal } = {}): Promise<StatResult> {
    const node: Manifest | DirectoryNode = await readRoot(this.blockstore, cid, options)
    const pinned = await this.blockstore.isPinned(cid)
    if (node.type === 'directory') return { cid: cid.toString(), type: 'directory', name: node.name, size: node.size, pinned, entries: node.entries.length }
    return {
      cid: cid.toString(),
      type: 'file',
      name: node.name,
      size: node.size,
      pinned,
      mediaType: node.mediaType,
      chunkSize: node.chunkSize,
      k: node.erasure.k,
      m: node.erasure.m,
      stripes: node.stripeCount,
      hash: Buffer.from(node.hash.digest).toString('hex')
    }
  }

  async ls (): Promise<PinInfo[]> {
    return await this.blockstore.listPins()
  }

  async rm (cid: CID): Promise<void> {
    if (!await this.blockstore.unpin(cid)) throw new NotPinnedError(cid.toString())
  }

  async gc (options: { signal?: AbortSignal } = {}): Promise<GcResult> {
    return await this.blockstore.gc(options)
  }

  async verify (cid: CID, options: VerifyOptions = {}): Promise<VerifyReport> {
    return await verifyTree(this.blockstore, cid, options)
  }

  async usage (): Promise<Usage> {
    return await this.blockstore.usage()
  }
}
