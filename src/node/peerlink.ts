// The node facade: one object the CLI (and later the API and simulations) drive. It owns the
// repo's blockstore and wires the layers: files over blockstore over hash and erasure.
import { realpath, stat as fsStat, statfs } from 'node:fs/promises'
import { basename, dirname, resolve, sep } from 'node:path'
import { CID } from 'multiformats/cid'
import { LevelBlockstore, type GcResult, type PinInfo, type Usage } from '../blockstore/index.js'
import { BlockNotFoundError, DaemonRequiredError, DiskFullError, InvalidArgumentError, NotPinnedError, QuotaExceededError } from '../errors.js'
import { exportTree, type Resolved, resolvePath, type TreeExportOptions, type TreeImportResult, importPath } from '../files/directory.js'
import { isSafeName } from '../files/format.js'
import { treeBytes } from '../files/fs.js'
import { newKey } from '../files/cipher.js'
import { checkImportOptions, importFile, type ImportOptions } from '../files/importer.js'
import { importPrivateFile, openPrivate, pinnedName, shownName } from '../files/private.js'
import { openedSizes } from '../files/private-directory.js'
import { loadKey, saveKey } from '../repo/keys.js'
import { verifyTree, type VerifyOptions, type VerifyReport } from '../files/verify.js'
import { hashReady } from '../hash/index.js'
import { readConfig, repoPaths, type RepoConfig } from '../repo/repo.js'
import type { FetchOptions, FetchResult } from './fetch.js'
import type { NetworkInit, PeerLinkNetwork } from './network.js'
import { exportToOutput } from './pack-output.js'
import { loadTarget, parseCid } from './cid.js'
import { storedBytes } from '../files/stored.js'
import { readRange, withResolved, type RangeOptions, type ReadOptions } from './range.js'
import type { Ticket } from './ticket.js'
import { openBooks, type StorageBooks } from '../storage/books.js'
import type { SpreadResult, SpreadStatus } from '../storage/service.js'

/**
 * A root as the library takes it: a CID, or its text. Where a method says so, the text may
 * go on with a path inside the root (`<cid>/photos/cat.jpg`) or be a share ticket (with or
 * without a path).
 */
export type RootRef = CID | string

const toCid = (ref: RootRef): CID => typeof ref === 'string' ? parseCid(ref) : ref

async function toTicket (target: Ticket | RootRef): Promise<Ticket> {
  if (typeof target === 'string') return await loadTarget(target)
  const cid = CID.asCID(target)
  return cid !== null ? { root: cid, addrs: [] } : target as Ticket
}

/** Head-room kept free beyond an import's own estimate (index, nodes, other writers). */
const SPACE_MARGIN = 16 * 1024 * 1024

const mib = (bytes: number): number => Math.ceil(bytes / 1048576)

export interface AddOptions extends ImportOptions {
  /**
   * Add a directory with everything in it (without it, a directory is an InvalidArgumentError).
   * @default false
   */
  recursive?: boolean
  /**
   * Seal the file, or the directory with everything in it, with a fresh key (files/private.ts,
   * files/private-directory.ts), kept in the repo's private.keys; the share link carries it.
   * @default the repo's `add.private`
   */
  private?: boolean
}

/** `key`: a private file's, for its share link (never in the API's JSON but inside that link). */
export type AddResult = TreeImportResult & { provided?: boolean, key?: Uint8Array }

/** One entry of a directory as `list` gives it (a file root gives itself). */
export interface ListEntry {
  name: string
  cid: string
  size: number
  type: 'file' | 'directory'
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
  /** A private root (a file's hash, of ciphertext, is not shown). */
  private?: boolean
}

export interface OpenOptions {
  /**
   * Start the network side too (libp2p host, exchange, DHT); otherwise the node is offline.
   * @default false
   */
  network?: boolean
  /** Overrides of the repo's network config and DHT settings (tests, simulations). */
  networkInit?: Partial<Omit<NetworkInit, 'repo' | 'store'>>
}

export class PeerLinkNode {
  private constructor (readonly repoPath: string, readonly config: RepoConfig, readonly blockstore: LevelBlockstore, private readonly books: StorageBooks, private net?: PeerLinkNetwork) {}

  /** Opens an existing repo (RepoNotFoundError if there is none, RepoLockedError if in use). */
  static async open (repoPath: string, options: OpenOptions = {}): Promise<PeerLinkNode> {
    const config = await readConfig(repoPath)
    await hashReady() // the fallback hash core's WASM, when the addon is missing
    const store = new LevelBlockstore(repoPaths(repoPath).blocks)
    await store.open()
    // Opened online or not: a gc without the daemon keeps leased blocks too.
    const books = await openBooks(repoPath, store).catch(async (err) => { await store.close(); throw err })
    const node = new PeerLinkNode(repoPath, config, store, books)
    if (options.network === true) {
      try {
        const storage = { ...books, offer: config.storage.offer, interval: config.storage.repairInterval, repairRate: config.storage.repairRate }
        // Loaded here: an offline command (add, cat, ls) never loads libp2p.
        const { PeerLinkNetwork } = await import('./network.js')
        node.net = await PeerLinkNetwork.start({ repo: repoPath, network: config.network, store, dhtPath: repoPaths(repoPath).dht, storage, ...options.networkInit })
      } catch (err) {
        await store.close()
        throw err
      }
    }
    return node
  }

  /** The network side; DaemonRequiredError when the node was opened offline. */
  get network (): PeerLinkNetwork {
    if (this.net === undefined) throw new DaemonRequiredError('this network operation', this.repoPath)
    return this.net
  }

  get online (): boolean { return this.net !== undefined }

  async stop (): Promise<void> {
    await this.net?.stop()
    this.net = undefined
    await this.blockstore.close()
  }

  /**
   * Fetches a root (a CID, a share ticket, or the text of either, with or without a path inside
   * the root) from the network into the repo, and to `output` if given. With a path, the file
   * or directory it leads to is what is fetched and pinned.
   */
  async fetch (target: Ticket | RootRef, options: FetchOptions = {}): Promise<FetchResult> {
    const ticket = await toTicket(target)
    const started = Date.now()
    options = { ...this.treeLimits(), ...options }
    if (await this.blockstore.isPinned(ticket.root)) {
      // Held whole already: no network, only the output.
      const r = await resolvePath(this.blockstore, ticket.root, ticket.path ?? [], { signal: options.signal, key: ticket.key })
      if (options.output !== undefined) {
        await this.checkSpace(r.node.size, undefined, options.output)
        await exportToOutput(this.blockstore, this.blockstore, { root: r.cid, node: r.node, output: options.output }, { ...options, key: r.key })
      }
      if (!await this.blockstore.isPinned(r.cid)) await this.blockstore.pin(r.cid, { name: pinnedName(r.node, r.name), size: r.node.size, type: r.node.type })
      const name = shownName(r.cid, r.node, r.key, r.name)
      return { cid: r.cid.toString(), name, type: r.node.type, size: r.node.size, fetchedBlocks: 0, fetchedBytes: 0, parityComputed: 0, rebuiltChunks: 0, providers: [], provided: false, ms: Date.now() - started }
    }
    return await this.network.fetch(ticket, {
      ...options,
      checkSpace: async (bytes, erasure) => {
        // A retry after an interruption (a full disk, Ctrl-C) needs room only for what is missing.
        const have = await storedBytes(this.blockstore, ticket.root, options)
        await this.checkSpace(bytes, { k: erasure?.k ?? this.config.import.k, m: erasure?.m ?? this.config.import.m, have }, options.output)
      }
    })
  }

  /**
   * Refuses a path inside the repo, or a directory that holds it: the identity key and the API
   * token must never be shared. Compared as real paths, so links and `..` do not get round it.
   */
  private async refuseRepoPaths (path: string): Promise<void> {
    const [target, repo] = await Promise.all([realpath(path), realpath(this.repoPath)])
    const inside = (child: string, parent: string): boolean => child === parent || child.startsWith(parent.endsWith(sep) ? parent : parent + sep)
    if (inside(target, repo)) throw new InvalidArgumentError(`${path} is inside the repo ${this.repoPath}: its identity key and API token must never be shared`)
    if (inside(repo, target)) throw new InvalidArgumentError(`${path} holds the repo ${this.repoPath}: its identity key and API token must never be shared (add what is beside the repo, not the directory around it)`)
  }

  /** The repo's bounds on what one export writes (`export` in config.json). */
  private treeLimits (): { maxEntries: number, maxBytes?: number } {
    const e = this.config.export
    return { maxEntries: e.maxEntries, ...(e.maxBytes > 0 ? { maxBytes: e.maxBytes } : {}) }
  }

  /** Announces a root this repo holds in the DHT. */
  async provide (ref: RootRef, options: { signal?: AbortSignal } = {}): Promise<{ ms: number }> {
    const cid = toCid(ref)
    if (!await this.blockstore.has(cid)) throw new BlockNotFoundError(cid.toString())
    return await this.network.provide(cid, options)
  }

  /** Imports a file (or, with recursive, a directory) and pins it. Nothing is pinned on failure. */
  async add (path: string, options: AddOptions = {}): Promise<AddResult> {
    let st
    try {
      st = await fsStat(path)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      throw new InvalidArgumentError(code === 'ENOENT' ? `${path}: no such file or directory` : code === 'EACCES' ? `${path}: permission denied` : `${path}: ${(err as Error).message}`)
    }
    if (st.isDirectory() && options.recursive !== true) throw new InvalidArgumentError(`${path} is a directory: use -r to add it with everything in it`)
    await this.refuseRepoPaths(path)
    if (!st.isDirectory() && !st.isFile()) throw new InvalidArgumentError(`${path} is neither a file nor a directory`)
    const opts = { chunkSize: this.config.import.chunkSize, k: this.config.import.k, m: this.config.import.m, ...options }
    const { k, m } = checkImportOptions(opts)
    await this.checkSpace(await treeBytes(path), { k, m })
    const key = this.privateKey(options)
    let result: AddResult
    try {
      result = { ...await importPath(this.blockstore, path, st.isDirectory() ? 'directory' : 'file', basename(path), { ...opts, key }), key }
    } catch (err) {
      const e = err as NodeJS.ErrnoException
      if (e.code === 'EISDIR') throw new InvalidArgumentError(`${path} is a directory: use -r to add it`)
      if (e.syscall === 'open' || e.syscall === 'read' || e.syscall === 'scandir') {
        throw new InvalidArgumentError(`cannot read ${e.path ?? path}: ${e.code === 'EACCES' ? 'permission denied' : String(e.code)}`)
      }
      throw err
    }
    return await this.pinAndAnnounce(result)
  }

  /**
   * Imports a file from a byte stream (an upload) and pins it, as `add` does a path. `size`,
   * when known beforehand, is checked against the quota and free space before anything is written.
   */
  async addStream (source: AsyncIterable<Uint8Array>, options: ImportOptions & { name: string, size?: number, private?: boolean }): Promise<AddResult> {
    if (!isSafeName(options.name)) throw new InvalidArgumentError(`${JSON.stringify(options.name.slice(0, 300))} is not a usable file name: 1 to 255 characters, not '.' or '..', without '/', '\\' or NUL`)
    const opts = { chunkSize: this.config.import.chunkSize, k: this.config.import.k, m: this.config.import.m, ...options }
    const { k, m } = checkImportOptions(opts)
    if (options.size !== undefined) await this.checkSpace(options.size, { k, m })
    const key = this.privateKey(options)
    const r = key !== undefined ? await importPrivateFile(this.blockstore, source, { ...opts, key }) : await importFile(this.blockstore, source, opts)
    return await this.pinAndAnnounce({ cid: r.cid, name: r.name, size: r.size, rootSize: r.rootSize, stored: r.stored, type: 'file', files: 1, skipped: [], release: r.release, key })
  }

  /** A fresh key when the file is to be private (asked, or the repo's default). */
  private privateKey (options: { private?: boolean }): Uint8Array | undefined {
    return (options.private ?? this.config.import.private) ? newKey() : undefined
  }

  /** Pins what an import wrote (releasing its hold from gc), then announces it when the node announces. */
  private async pinAndAnnounce (result: AddResult): Promise<AddResult> {
    try {
      // The key is kept before the pin, so no private root is pinned whose key was lost;
      // its name stays sealed, out of the pin record.
      if (result.key !== undefined) await saveKey(this.repoPath, result.cid.toString(), result.key)
      await this.blockstore.pin(result.cid, { name: result.key !== undefined ? '' : result.name, size: result.size, type: result.type })
    } finally {
      result.release()
    }
    if (this.net?.announces === true) {
      // The file is added whether or not the DHT can be reached; the reprovider retries.
      result.provided = await this.net.provide(result.cid).then(() => true, () => false)
    }
    return result
  }

  /**
   * Refuses an import or fetch that cannot fit before writing anything: past the
   * storage quota, or beyond the free space of the repo's filesystem (content, parity and
   * head-room, when `store` gives the erasure parameters) and of the output's (the content),
   * the two counted together when they share a filesystem. Running out half-way fails
   * cleanly too, but only after the work. A directory is estimated with the repo's k and m.
   * `have` is what the repo holds of it already (a resumed fetch), not asked for again.
   */
  private async checkSpace (bytes: number, store?: { k: number, m: number, have?: number }, output?: string): Promise<void> {
    const needs: Array<{ path: string, bytes: number, what: string }> = []
    if (store !== undefined) {
      // Content and parity, less what is stored.
      const stored = Math.max(0, Math.ceil(bytes * (store.k + store.m) / store.k) - (store.have ?? 0))
      await this.checkQuota(stored)
      needs.push({ path: this.repoPath, bytes: stored + SPACE_MARGIN, what: `store ${mib(bytes)} MiB` })
    }
    // The output is written beside its final path (a temporary file, then renamed).
    if (output !== undefined) needs.push({ path: dirname(resolve(output)), bytes, what: `write ${mib(bytes)} MiB to ${output}` })
    const byDevice = new Map<number, { path: string, bytes: number, what: string[] }>()
    for (const n of needs) {
      const dev = (await fsStat(n.path).catch(() => undefined))?.dev
      if (dev === undefined) continue // a missing directory fails on its own when written
      const d = byDevice.get(dev) ?? { path: n.path, bytes: 0, what: [] }
      d.bytes += n.bytes
      d.what.push(n.what)
      byDevice.set(dev, d)
    }
    for (const d of byDevice.values()) {
      const fs = await statfs(d.path).catch(() => undefined)
      if (fs === undefined) continue
      const free = fs.bavail * fs.bsize
      if (free < d.bytes) {
        throw new DiskFullError(d.path, { cause: new Error(`needs about ${mib(d.bytes)} MiB free to ${d.what.join(' and ')}, has ${Math.floor(free / 1048576)} MiB`) })
      }
    }
  }

  /** Refuses growth by `needed` bytes (content plus parity, estimated) past the repo's storage quota. */
  private async checkQuota (needed: number): Promise<void> {
    const quota = this.config.storage.quota
    if (quota === 0) return
    const used = (await this.blockstore.usage()).bytes
    if (used + needed > quota) throw new QuotaExceededError(needed, quota, used)
  }

  /**
   * A share ticket for a root: its CID plus this node's peer id and listen addresses, so a
   * receiver can fetch without a DHT lookup. Needs the node online.
   */
  ticket (ref: RootRef): string {
    return this.network.ticket(toCid(ref))
  }

  /** The share link of a root: its ticket, with the key when this repo added it privately. */
  async link (ref: RootRef): Promise<string> {
    const cid = toCid(ref)
    return this.network.ticket(cid, await loadKey(this.repoPath, cid.toString()))
  }

  /**
   * A file's bytes (or `offset`/`length` of them), streamed stripe by stripe, rebuilt from
   * parity where needed. `ref` may name a path inside a root, or be a ticket. A root the repo
   * lacks is read from its providers on an online node: only the stripes the range touches
   * (and the nodes above them) come, are stored, and are not pinned.
   */
  async * cat (ref: Ticket | RootRef, options: RangeOptions = {}): AsyncGenerator<Uint8Array> {
    yield * readRange(this.blockstore, this.net, await toTicket(ref), options)
  }

  /** Writes a file or directory (a root, or a path inside one) from the repo to `outPath`. */
  async exportTo (ref: RootRef, outPath: string, options: Omit<TreeExportOptions, 'onStripe'> = {}): Promise<{ files: number, bytes: number }> {
    const { root, path, key } = await toTicket(ref)
    const r = await resolvePath(this.blockstore, root, path ?? [], { signal: options.signal, key })
    return await exportTree(this.blockstore, r.cid, outPath, { ...this.treeLimits(), key: r.key, ...options })
  }

  /**
   * Describes a root, or what a path inside one leads to. On an online node a root the repo
   * lacks is asked of its providers: only the nodes on the path come (stored, not pinned).
   */
  async stat (ref: Ticket | RootRef, options: ReadOptions = {}): Promise<StatResult> {
    const ticket = await toTicket(ref)
    return await withResolved(this.blockstore, this.net, ticket, options, async (r) => await this.describe(r))
  }

  /**
   * A directory's entries (name, CID, size, type), or a file as its one entry; `ref` and
   * the network as for `stat`.
   */
  async list (ref: Ticket | RootRef, options: ReadOptions = {}): Promise<ListEntry[]> {
    const ticket = await toTicket(ref)
    return await withResolved(this.blockstore, this.net, ticket, options, async ({ cid, node, name, key, sizes }) => {
      if (node.type === 'file' && node.private !== undefined) {
        const { name, size } = openPrivate(cid, node, key)
        return [{ name, cid: cid.toString(), size, type: 'file' }]
      }
      if (node.type === 'file') return [{ name, cid: cid.toString(), size: node.size, type: 'file' }]
      const opened = openedSizes(cid, node, sizes)
      return node.entries.map((e, i) => ({ name: e.name, cid: e.cid.toString(), size: opened.entries[i], type: e.type }))
    })
  }

  /** `key`: a private root's, to open its name, media type and size (PrivateRootError without). */
  private async describe ({ cid, node, name, key, sizes }: Resolved): Promise<StatResult> {
    const pinned = await this.blockstore.isPinned(cid)
    if (node.type === 'directory') {
      const size = openedSizes(cid, node, sizes).size
      return { cid: cid.toString(), type: 'directory', name, size, pinned, entries: node.entries.length, ...(node.private !== undefined ? { private: true } : {}) }
    }
    if (node.private !== undefined) {
      const geometry = { chunkSize: node.chunkSize, k: node.erasure.k, m: node.erasure.m, stripes: node.stripeCount }
      return { cid: cid.toString(), type: 'file', ...openPrivate(cid, node, key), pinned, ...geometry, private: true }
    }
    return {
      cid: cid.toString(),
      type: 'file',
      name,
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

  /** The pinned roots; a root this node spread says so, with its health at the last repair round (daemon). */
  async ls (): Promise<Array<PinInfo & { spread?: string }>> {
    const spread = this.net?.storage.spreadRoots() ?? new Map(this.books.book.list().map(r => [r.root, undefined]))
    return (await this.blockstore.listPins()).map(p => spread.has(p.cid.toString()) ? { ...p, spread: spread.get(p.cid.toString()) ?? 'spread' } : p)
  }

  async rm (ref: RootRef): Promise<void> {
    const cid = toCid(ref)
    if (!await this.blockstore.unpin(cid)) throw new NotPinnedError(cid.toString())
    await this.net?.withdraw(cid)
    // A spread root's leases end with it (holders out of reach let theirs expire).
    if (this.books.book.get(cid.toString()) !== undefined) await this.net?.storage.release(cid)
  }

  /** Drops the leases past their expiry, then deletes every block no pin or lease keeps. */
  async gc (options: { signal?: AbortSignal } = {}): Promise<GcResult> {
    await this.books.leases.expire()
    return await this.blockstore.gc(options)
  }

  /**
   * Spreads a pinned file over the peers that offer space: each stripe's k + m blocks on
   * distinct holders where enough offer room, the DAG nodes copied on several, under leases
   * of `lease` ms (default 30 days) that the daemon renews while the file stays pinned.
   */
  async spread (ref: RootRef, options: { signal?: AbortSignal, lease?: number } = {}): Promise<SpreadResult> {
    return await this.network.storage.spread(toCid(ref), options)
  }

  /** How a root this node spread stands: per stripe the live holders and their blocks. */
  async spreadStatus (ref: RootRef, options: { signal?: AbortSignal } = {}): Promise<SpreadStatus> {
    return await this.network.storage.status(toCid(ref), options)
  }

  /**
   * Checks (and with `repair`, mends) a root's blocks. A root this repo has no trace of is not
   * here (NotPinnedError), not lost; a pinned root whose root block is gone is reported damaged.
   */
  async verify (ref: RootRef, options: VerifyOptions = {}): Promise<VerifyReport> {
    const cid = toCid(ref)
    if (!await this.blockstore.has(cid, options) && !await this.blockstore.isPinned(cid)) throw new NotPinnedError(cid.toString())
    return await verifyTree(this.blockstore, cid, options)
  }

  async usage (): Promise<Usage> {
    return await this.blockstore.usage()
  }
}
