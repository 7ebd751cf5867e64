// The blockstore in a repo directory: a LevelDB index (classic-level) plus one file per
// large block.
//
//   <dir>/index/  LevelDB with three sublevels:
//                   b/<cid bytes>  -> 0x00 + block bytes   (small blocks, inline)
//                                     0x01 + u32 LE size   (large blocks, in data/)
//                                     0x02 + u32 LE size + place (large blocks, in packs/)
//                   p/<cid string> -> pin record (JSON)
//                   m/usage        -> { bytes, blocks } of everything stored
//   <dir>/data/<last 2 chars>/<cid>  the bytes of each large block stored loose
//   <dir>/packs/<name>               a file's chunks at their offsets (packs.ts)
//
// Large blocks stay out of LevelDB because it writes every value to its log and then rewrites
// it at each compaction level, and holds whole batches in memtables: with 1 MiB chunks an
// import was compaction-bound and used most of a gigabyte of memory. A block exists once its
// index entry does: files are written first (each under a temporary name, then renamed, so
// none is ever seen half-written), then the entries of a whole batch commit in one
// atomic LevelDB write, so a crash leaves at worst unindexed files, which gc removes. As with
// LevelDB's default writes, nothing is fsynced: a killed process loses nothing; a power cut
// may lose the newest blocks, which verify then finds and rebuilds from parity.
import { randomBytes } from 'node:crypto'
import { mkdir, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { BlockNotFoundError } from '../errors.js'
import type { AbortOptions, Block, Blockstore, PinInfo, PutOptions } from './blockstore.js'
import { Holds } from './holds.js'
import { links } from './links.js'
import { EXTERNAL, entryFor, entrySize, FILE_THRESHOLD, INLINE, loose, storageError } from './entries.js'
import { checkPlacement, entryPacked, Packs, PACKED, placementOf } from './packs.js'

export interface Usage { bytes: number, blocks: number }

interface PinRecord { name: string, size: number, type: string, added: number }

export interface GcResult { removedBlocks: number, removedBytes: number, kept: number }

/** Index entries deleted per batch during garbage collection. */
const GC_BATCH = 1024
export { FILE_THRESHOLD } from './entries.js'
export class LevelBlockstore implements Blockstore {
  private readonly db: ClassicLevel<Uint8Array, Uint8Array>
  private readonly blocks
  private readonly pins
  private readonly meta
  private readonly dataDir: string
  readonly packs: Packs
  private readonly madeDirs = new Set<string>()
  private queue: Promise<unknown> = Promise.resolve()
  /** Puts whose files are written, waiting to be indexed together. */
  private indexQueue: Array<{ blocks: Block[], done: PromiseWithResolvers<void> }> = []
  /** Blocks of writes still in progress (not yet pinned, or files not yet indexed): gc spares them. */
  private readonly held = new Holds()
  /**
   * What `m/usage` holds, read once at open: every write of it goes through `serial`, so this
   * copy is its value, and an index commit does not wait in libuv's pool (behind block writes
   * and hashing) just to read it.
   */
  private used: Usage = { bytes: 0, blocks: 0 }

  constructor (readonly path: string) {
    this.dataDir = join(path, 'data')
    this.packs = new Packs(path)
    this.db = new ClassicLevel<Uint8Array, Uint8Array>(join(path, 'index'), { keyEncoding: 'view', valueEncoding: 'view' })
    this.blocks = this.db.sublevel<Uint8Array, Uint8Array>('b', { keyEncoding: 'view', valueEncoding: 'view' })
    this.pins = this.db.sublevel<string, PinRecord>('p', { keyEncoding: 'utf8', valueEncoding: 'json' })
    this.meta = this.db.sublevel<string, Usage>('m', { keyEncoding: 'utf8', valueEncoding: 'json' })
  }

  async open (): Promise<void> {
    try {
      await mkdir(this.dataDir, { recursive: true })
      await this.db.open()
      this.used = (await this.meta.get('usage')) ?? { bytes: 0, blocks: 0 }
    } catch (err) {
      throw storageError(this.path, err, true)
    }
  }

  async close (): Promise<void> {
    await this.queue.catch(() => {})
    await this.packs.close()
    await this.db.close()
  }

  /** Runs index writes one at a time, mapping storage failures to typed errors. */
  private async serial<T> (fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn)
    this.queue = run.catch(() => {})
    try {
      return await run
    } catch (err) {
      throw storageError(this.path, err)
    }
  }

  async usage (): Promise<Usage> { return { ...this.used } }

  /** Writes a batch that ends with the new usage, and takes that usage as the current one once it is written. */
  private async writeWithUsage (batch: ReturnType<ClassicLevel<Uint8Array, Uint8Array>['batch']>, usage: Usage): Promise<void> {
    batch.put('usage', usage, { sublevel: this.meta })
    await batch.write()
    this.used = usage
  }

  private fileOf (id: string): string { return join(this.dataDir, id.slice(-2), id) }

  /**
   * Writes large blocks' files in parallel; on failure removes what it wrote. Each is written
   * under a temporary name and renamed into place, so a block's file is whole or absent: the
   * index may already name it (a repair, or a put racing another for the same block), and a
   * kill in the middle of writing it in place would leave that entry pointing at a short file.
   */
  private async writeFiles (blocks: Block[]): Promise<void> {
    const written: string[] = []
    const large = blocks.filter(b => b.bytes.byteLength >= FILE_THRESHOLD)
    try {
      // Bytes written into a pack are not removed on failure: nothing indexes them yet, and
      // the pack may hold other blocks; gc removes a pack nothing names.
      await this.packs.write(large.flatMap(b => b.place !== undefined ? [{ bytes: b.bytes, place: b.place }] : []))
      await Promise.all(large.filter(b => b.place === undefined).map(async (b) => {
        const id = b.cid.toString()
        const dir = join(this.dataDir, id.slice(-2))
        if (!this.madeDirs.has(dir)) { await mkdir(dir, { recursive: true }); this.madeDirs.add(dir) }
        const file = this.fileOf(id)
        const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`
        try {
          await this.packs.writer.create(tmp, b.bytes)
          await rename(tmp, file)
        } catch (err) {
          await unlink(tmp).catch(() => {})
          throw err
        }
        written.push(file)
      }))
    } catch (err) {
      await Promise.all(written.map(async f => await unlink(f).catch(() => {})))
      throw storageError(this.path, err)
    }
  }

  /** The bytes an index entry stands for; undefined when its file is gone. */
  private async resolve (id: string, entry: Uint8Array | undefined): Promise<Uint8Array | undefined> {
    if (entry === undefined) return undefined
    if (entry[0] === INLINE) return entry.subarray(1)
    try {
      if (entry[0] === PACKED) {
        const { size, ...place } = placementOf(entry)
        return await this.packs.read(place, size)
      }
      return await readFile(this.fileOf(id))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw storageError(this.path, err)
    }
  }

  async put (cid: CID, bytes: Uint8Array, options: AbortOptions = {}): Promise<void> {
    await this.putMany([{ cid, bytes }], options)
  }

  /** Stores blocks not yet present: their files first, then every index entry in one batch. */
  async putMany (blocks: Block[], options: PutOptions = {}): Promise<void> {
    options.signal?.throwIfAborted()
    if (blocks.length === 0) return
    for (const b of blocks) if (b.place !== undefined) checkPlacement(b.place)
    const present = options.absent === true ? blocks.map(() => false) : await this.blocks.hasMany(blocks.map(b => b.cid.bytes))
    const seen = new Set<string>()
    const fresh = blocks.filter((b, i) => {
      const id = b.cid.toString()
      if (present[i] || seen.has(id)) return false
      seen.add(id)
      return true
    })
    if (fresh.length === 0) return
    const release = this.hold(fresh.map(b => b.cid))
    // Its packs stay from gc until the entries naming them are in.
    const releasePacks = this.packs.hold(fresh.flatMap(b => b.place !== undefined ? [b.place.pack] : []))
    try {
      await this.writeFiles(fresh)
      await this.index(fresh)
    } finally {
      release()
      releasePacks()
    }
  }

  /**
   * Adds index entries for blocks whose files are written. Concurrent puts (a fetch stores
   * many blocks at once) wait together and commit in one LevelDB batch, instead of one
   * read-check-write turn each through the serial queue.
   */
  private async index (blocks: Block[]): Promise<void> {
    const waiting = { blocks, done: Promise.withResolvers<void>() }
    this.indexQueue.push(waiting)
    if (this.indexQueue.length === 1) {
      this.serial(async () => {
        const group = this.indexQueue
        this.indexQueue = []
        try {
          await this.commit(group.flatMap(g => g.blocks))
        } catch (err) {
          for (const g of group) g.done.reject(storageError(this.path, err))
          return
        }
        for (const g of group) g.done.resolve()
      }).catch(() => {})
    }
    await waiting.done.promise
  }

  private async commit (blocks: Block[]): Promise<void> {
    const usage = await this.usage()
    const present = await this.blocks.hasMany(blocks.map(b => b.cid.bytes)) // a racing put of the same block
    const batch = this.db.batch()
    const seen = new Set<string>()
    blocks.forEach((b, i) => {
      const id = b.cid.toString()
      if (present[i] || seen.has(id)) return
      seen.add(id)
      batch.put(b.cid.bytes, entryFor(b), { sublevel: this.blocks })
      usage.bytes += b.bytes.byteLength
      usage.blocks++
    })
    await this.writeWithUsage(batch, usage)
  }

  /** Writes blocks over whatever is stored under their CIDs (repair of damaged blocks). */
  async replaceMany (placed: Block[], options: AbortOptions = {}): Promise<void> {
    options.signal?.throwIfAborted()
    if (placed.length === 0) return
    const blocks = placed.map(loose)
    const release = this.hold(blocks.map(b => b.cid))
    try {
      await this.writeFiles(blocks)
      await this.serial(async () => {
        const old = await this.blocks.getMany(blocks.map(b => b.cid.bytes))
        const usage = await this.usage()
        const batch = this.db.batch()
        blocks.forEach((b, i) => {
          const before = old[i]
          batch.put(b.cid.bytes, entryFor(b), { sublevel: this.blocks })
          usage.bytes += b.bytes.byteLength - (before !== undefined ? entrySize(before) : 0)
          if (before === undefined) usage.blocks++
        })
        await this.writeWithUsage(batch, usage)
      })
    } finally {
      release()
    }
  }

  async get (cid: CID, options: AbortOptions = {}): Promise<Uint8Array> {
    options.signal?.throwIfAborted()
    const id = cid.toString()
    const bytes = await this.resolve(id, await this.blocks.get(cid.bytes))
    if (bytes === undefined) throw new BlockNotFoundError(id)
    return bytes
  }

  async * getMany (cids: Iterable<CID>, options: AbortOptions = {}): AsyncGenerator<{ cid: CID, bytes: Uint8Array | undefined }> {
    const list = [...cids]
    for (let i = 0; i < list.length; i += 64) {
      options.signal?.throwIfAborted()
      const slice = list.slice(i, i + 64)
      const entries = await this.blocks.getMany(slice.map(c => c.bytes))
      const values = await Promise.all(slice.map(async (c, j) => await this.resolve(c.toString(), entries[j])))
      for (let j = 0; j < slice.length; j++) yield { cid: slice[j], bytes: values[j] }
    }
  }

  async has (cid: CID, options: AbortOptions = {}): Promise<boolean> {
    options.signal?.throwIfAborted()
    return await this.blocks.has(cid.bytes)
  }

  async hasMany (cids: CID[], options: AbortOptions = {}): Promise<boolean[]> {
    options.signal?.throwIfAborted()
    if (cids.length === 0) return []
    return await this.blocks.hasMany(cids.map(c => c.bytes))
  }

  /** Every CID the index holds, in key order (for checks of the whole store). */
  async * cids (options: AbortOptions = {}): AsyncGenerator<CID> {
    for await (const key of this.blocks.keys()) {
      options.signal?.throwIfAborted()
      yield CID.decode(key)
    }
  }

  async delete (cid: CID, options: AbortOptions = {}): Promise<void> {
    options.signal?.throwIfAborted()
    await this.serial(async () => {
      const entry = await this.blocks.get(cid.bytes)
      if (entry === undefined) return
      const usage = await this.usage()
      usage.bytes -= entrySize(entry)
      usage.blocks--
      await this.writeWithUsage(this.db.batch().del(cid.bytes, { sublevel: this.blocks }), usage)
      if (entry[0] === EXTERNAL) await rm(this.fileOf(cid.toString()), { force: true })
    })
  }

  /**
   * Makes pack `name` exactly `size` bytes holding these blocks at these offsets, flushed, and
   * returns its path (for an output to link). Blocks stored elsewhere (loose, inline, in
   * another pack, or a chunk repeated within one file) are copied in, one at a time; the
   * index is unchanged. Throws BlockNotFoundError for a block the repo lacks.
   */
  async completePack (name: string, chunks: Array<{ cid: CID, offset: number }>, size: number, options: AbortOptions = {}): Promise<string> {
    checkPlacement({ pack: name, offset: size })
    const release = this.packs.hold([name])
    try {
      await this.fillPack(name, chunks, options)
      await this.packs.finish(name, size)
    } finally {
      release()
    }
    return this.packs.path(name)
  }

  private async fillPack (name: string, chunks: Array<{ cid: CID, offset: number }>, options: AbortOptions): Promise<void> {
    for (let i = 0; i < chunks.length; i += GC_BATCH) {
      const slice = chunks.slice(i, i + GC_BATCH)
      const entries = await this.blocks.getMany(slice.map(c => c.cid.bytes))
      for (const [j, { cid, offset }] of slice.entries()) {
        options.signal?.throwIfAborted()
        const entry = entries[j]
        const at = entry?.[0] === PACKED ? placementOf(entry) : undefined
        if (at?.pack === name && at.offset === offset) continue
        const bytes = await this.resolve(cid.toString(), entry)
        if (bytes === undefined) throw new BlockNotFoundError(cid.toString())
        await this.packs.write([{ bytes, place: { pack: name, offset } }])
      }
    }
  }

  /** The packs index entries name (for checks of the whole store). */
  async packsInUse (): Promise<Set<string>> {
    const used = new Set<string>()
    for await (const entry of this.blocks.values()) if (entry[0] === PACKED) used.add(placementOf(entry).pack)
    return used
  }

  /**
   * Where a large block's bytes are on disk: its own file (offset 0) or a pack at an offset;
   * undefined when it is absent or inside the index. For checks and for tests that damage blocks.
   */
  async locate (cid: CID): Promise<{ path: string, offset: number, size: number } | undefined> {
    const entry = await this.blocks.get(cid.bytes)
    if (entry === undefined || entry[0] === INLINE) return undefined
    if (entry[0] === EXTERNAL) return { path: this.fileOf(cid.toString()), offset: 0, size: entrySize(entry) }
    const { size, pack, offset } = placementOf(entry)
    return { path: this.packs.path(pack), offset, size }
  }

  /**
   * Writes bytes into a pack at offsets, leaving the index as it is: chunks rebuilt from
   * parity and checked against their CIDs, put right where an output will be linked.
   */
  async writePack (name: string, blocks: Array<{ bytes: Uint8Array, offset: number }>): Promise<void> {
    if (blocks.length === 0) return
    for (const b of blocks) checkPlacement({ pack: name, offset: b.offset })
    try {
      await this.packs.write(blocks.map(b => ({ bytes: b.bytes, place: { pack: name, offset: b.offset } })))
    } catch (err) {
      throw storageError(this.path, err)
    }
  }

  /**
   * Renames pack `from` to `to` (an import's pack, once its root is known), moving the index
   * entries of `cids` that are in it: the new name is linked first, the entries move in one
   * batch, then the old name goes, so a kill at any point leaves every entry's pack there
   * (gc removes the name nothing uses). Nothing moves when `to` exists already.
   */
  async renamePack (from: string, to: string, cids: CID[]): Promise<void> {
    checkPlacement({ pack: from, offset: 0 })
    checkPlacement({ pack: to, offset: 0 })
    const release = this.packs.hold([from, to])
    try {
      if (!await this.packs.link(from, to)) return
      await this.serial(async () => {
        const entries = await this.blocks.getMany(cids.map(c => c.bytes))
        const batch = this.db.batch()
        entries.forEach((entry, i) => {
          const at = entry?.[0] === PACKED ? placementOf(entry) : undefined
          if (at?.pack === from) batch.put(cids[i].bytes, entryPacked(at.size, { pack: to, offset: at.offset }), { sublevel: this.blocks })
        })
        await batch.write()
      })
      await this.packs.remove(from)
    } catch (err) {
      throw storageError(this.path, err)
    } finally {
      release()
    }
  }

  /**
   * Keeps these blocks, and whatever held DAG nodes link to, from garbage collection until
   * the returned release is called.
   */
  hold (cids: CID[]): () => void {
    return this.held.hold(cids.map(c => c.toString()))
  }

  // ---- pins ----

  async pin (cid: CID, info: Omit<PinInfo, 'cid' | 'added'>): Promise<void> {
    await this.serial(async () => {
      await this.pins.put(cid.toString(), { name: info.name, size: info.size, type: info.type, added: Date.now() })
    })
  }

  async unpin (cid: CID): Promise<boolean> {
    return await this.serial(async () => {
      const key = cid.toString()
      if ((await this.pins.get(key)) === undefined) return false
      await this.pins.del(key)
      return true
    })
  }

  async isPinned (cid: CID): Promise<boolean> {
    return await this.pins.has(cid.toString())
  }

  async listPins (): Promise<PinInfo[]> {
    const out: PinInfo[] = []
    for await (const [key, rec] of this.pins.iterator()) out.push({ cid: CID.parse(key), ...rec })
    return out.sort((a, b) => a.added - b.added)
  }

  /**
   * Every block reachable from a pin or a held node, found by following links. A held node
   * keeps what it links to as a pin would: a fetch holds its root from the start, so what an
   * interrupted fetch of that root stored stays while the root is not pinned yet. Blocks that
   * are missing or undecodable end that branch of the walk; they do not stop the collection.
   */
  private async reachable (options: AbortOptions): Promise<Set<string>> {
    const marked = new Set<string>()
    const held = [...this.held.keys()].map(id => CID.parse(id)).filter(c => c.code !== raw.code)
    const stack: CID[] = [...(await this.listPins()).map(p => p.cid), ...held]
    while (stack.length > 0) {
      options.signal?.throwIfAborted()
      const cid = stack.pop() as CID
      const key = cid.toString()
      if (marked.has(key)) continue
      marked.add(key)
      if (cid.code === raw.code) continue // no links: no need to read it
      const bytes = await this.resolve(key, await this.blocks.get(cid.bytes))
      if (bytes === undefined) continue
      try {
        for (const l of links(cid, bytes)) if (!marked.has(l.toString())) stack.push(l)
      } catch {
        // A corrupt node: its own CID stays marked; verify reports it.
      }
    }
    return marked
  }

  /** Deletes every block no pin reaches (index entries in atomic batches, then their files). */
  async gc (options: AbortOptions = {}): Promise<GcResult> {
    return await this.serial(async () => {
      const marked = await this.reachable(options)
      const usage = await this.usage()
      let removedBlocks = 0
      let removedBytes = 0
      let pending: Array<{ key: Uint8Array, entry: Uint8Array }> = []
      // Packs a kept block is in, and those named after a held root (a fetch writing it).
      const usedPacks = new Set<string>(this.held.keys())
      const flush = async (): Promise<void> => {
        if (pending.length === 0) return
        const batch = this.db.batch()
        for (const { key, entry } of pending) {
          batch.del(key, { sublevel: this.blocks })
          usage.bytes -= entrySize(entry)
          usage.blocks--
          removedBytes += entrySize(entry)
        }
        await this.writeWithUsage(batch, { ...usage })
        // Files go after their entries: a crash in between leaves only orphan files.
        await Promise.all(pending.map(async ({ key, entry }) => {
          if (entry[0] === EXTERNAL) await rm(this.fileOf(CID.decode(key).toString()), { force: true })
        }))
        removedBlocks += pending.length
        pending = []
      }
      for await (const [key, entry] of this.blocks.iterator()) {
        options.signal?.throwIfAborted()
        const id = CID.decode(key).toString()
        if (marked.has(id) || this.held.has(id)) {
          if (entry[0] === PACKED) usedPacks.add(placementOf(entry).pack)
          continue
        }
        pending.push({ key, entry })
        if (pending.length >= GC_BATCH) await flush()
      }
      await flush()
      // Files that no index entry names: an import died after writing them, before its batch,
      // or while writing one under its temporary name (<cid>.<random>.tmp).
      for (const shard of await readdir(this.dataDir).catch(() => [] as string[])) {
        options.signal?.throwIfAborted()
        const names = (await readdir(join(this.dataDir, shard)).catch(() => [] as string[])).filter(n => !this.held.has(n.split('.', 1)[0]))
        const cids = names.map(n => { try { return CID.parse(n) } catch { return undefined } })
        const indexed = await this.blocks.hasMany(cids.map(c => c?.bytes ?? new Uint8Array(0)))
        for (const [i, name] of names.entries()) {
          if (cids[i] !== undefined && indexed[i]) continue
          const file = join(this.dataDir, shard, name)
          removedBytes += await stat(file).then(s => s.size, () => 0)
          await rm(file, { force: true })
          removedBlocks++
        }
      }
      // A pack goes when no kept block is in it (its blocks' bytes are counted above); an
      // output linked to it keeps its own name.
      await this.packs.removeUnused(usedPacks)
      return { removedBlocks, removedBytes, kept: usage.blocks }
    })
  }
}
