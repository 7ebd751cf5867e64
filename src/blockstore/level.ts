// The LevelDB blockstore (classic-level) in a repo directory.
//
// Layout, one LevelDB with three sublevels:
//   b/<cid bytes>  -> block bytes
//   p/<cid string> -> pin record (JSON)
//   m/usage        -> { bytes, blocks } of everything stored
// Every write goes through one queue, so the usage record stays exact, and every multi-block
// write is one atomic LevelDB batch.
import { ClassicLevel } from 'classic-level'
import { CID } from 'multiformats/cid'
import { BlockNotFoundError, DiskFullError, RepoLockedError, StorageError } from '../errors.js'
import type { AbortOptions, Block, Blockstore, PinInfo } from './blockstore.js'
import { links } from './links.js'

export interface Usage { bytes: number, blocks: number }

interface PinRecord { name: string, size: number, type: string, added: number }

export interface GcResult { removedBlocks: number, removedBytes: number, kept: number }

/** Size of one delete batch during garbage collection. */
const GC_BATCH = 1024

function storageError (path: string, err: unknown): Error {
  const e = err as { code?: string, cause?: { code?: string, message?: string }, message?: string }
  const text = `${e.message ?? ''} ${e.cause?.message ?? ''}`
  if (e.code === 'LEVEL_LOCKED' || e.cause?.code === 'LEVEL_LOCKED' || /\block\b/i.test(text) && /LOCK|Resource temporarily unavailable/.test(text)) {
    return new RepoLockedError(path)
  }
  if (/ENOSPC|No space left/i.test(text)) return new DiskFullError(path, { cause: err })
  return new StorageError(`blockstore at ${path}: ${e.message ?? String(err)}`, { cause: err })
}

export class LevelBlockstore implements Blockstore {
  private readonly db: ClassicLevel<Uint8Array, Uint8Array>
  private readonly blocks
  private readonly pins
  private readonly meta
  private queue: Promise<unknown> = Promise.resolve()
  /** Blocks of writes still in progress (not yet pinned): garbage collection spares them. */
  private readonly held = new Map<string, number>()

  constructor (readonly path: string) {
    this.db = new ClassicLevel<Uint8Array, Uint8Array>(path, { keyEncoding: 'view', valueEncoding: 'view' })
    this.blocks = this.db.sublevel<Uint8Array, Uint8Array>('b', { keyEncoding: 'view', valueEncoding: 'view' })
    this.pins = this.db.sublevel<string, PinRecord>('p', { keyEncoding: 'utf8', valueEncoding: 'json' })
    this.meta = this.db.sublevel<string, Usage>('m', { keyEncoding: 'utf8', valueEncoding: 'json' })
  }

  async open (): Promise<void> {
    try {
      await this.db.open()
    } catch (err) {
      throw storageError(this.path, err)
    }
  }

  async close (): Promise<void> {
    await this.queue.catch(() => {})
    await this.db.close()
  }

  /** Runs writes one at a time, mapping storage failures to typed errors. */
  private async serial<T> (fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn)
    this.queue = run.catch(() => {})
    try {
      return await run
    } catch (err) {
      if (err instanceof Error && 'exitCode' in err) throw err
      throw storageError(this.path, err)
    }
  }

  async usage (): Promise<Usage> {
    return (await this.meta.get('usage')) ?? { bytes: 0, blocks: 0 }
  }

  async put (cid: CID, bytes: Uint8Array, options: AbortOptions = {}): Promise<void> {
    await this.putMany([{ cid, bytes }], options)
  }

  async putMany (blocks: Block[], options: AbortOptions = {}): Promise<void> {
    options.signal?.throwIfAborted()
    if (blocks.length === 0) return
    await this.serial(async () => {
      const keys = blocks.map(b => b.cid.bytes)
      const present = await this.blocks.hasMany(keys)
      const usage = await this.usage()
      const batch = this.db.batch()
      const seen = new Set<string>()
      blocks.forEach((b, i) => {
        const id = b.cid.toString()
        if (present[i] || seen.has(id)) return
        seen.add(id)
        batch.put(keys[i], b.bytes, { sublevel: this.blocks })
        usage.bytes += b.bytes.byteLength
        usage.blocks++
      })
      if (seen.size === 0) { await batch.close(); return }
      batch.put('usage', usage, { sublevel: this.meta })
      await batch.write()
    })
  }

  /** Writes blocks over whatever is stored under their CIDs (repair of damaged blocks). */
  async replaceMany (blocks: Block[], options: AbortOptions = {}): Promise<void> {
    options.signal?.throwIfAborted()
    if (blocks.length === 0) return
    await this.serial(async () => {
      const old = await this.blocks.getMany(blocks.map(b => b.cid.bytes))
      const usage = await this.usage()
      const batch = this.db.batch()
      blocks.forEach((b, i) => {
        batch.put(b.cid.bytes, b.bytes, { sublevel: this.blocks })
        usage.bytes += b.bytes.byteLength - (old[i]?.byteLength ?? 0)
        if (old[i] === undefined) usage.blocks++
      })
      batch.put('usage', usage, { sublevel: this.meta })
      await batch.write()
    })
  }

  async get (cid: CID, options: AbortOptions = {}): Promise<Uint8Array> {
    options.signal?.throwIfAborted()
    const bytes = await this.blocks.get(cid.bytes)
    if (bytes === undefined) throw new BlockNotFoundError(cid.toString())
    return bytes
  }

  async * getMany (cids: Iterable<CID>, options: AbortOptions = {}): AsyncGenerator<{ cid: CID, bytes: Uint8Array | undefined }> {
    const list = [...cids]
    for (let i = 0; i < list.length; i += 64) {
      options.signal?.throwIfAborted()
      const slice = list.slice(i, i + 64)
      const values = await this.blocks.getMany(slice.map(c => c.bytes))
      for (let j = 0; j < slice.length; j++) yield { cid: slice[j], bytes: values[j] }
    }
  }

  async has (cid: CID, options: AbortOptions = {}): Promise<boolean> {
    options.signal?.throwIfAborted()
    return await this.blocks.has(cid.bytes)
  }

  async delete (cid: CID, options: AbortOptions = {}): Promise<void> {
    options.signal?.throwIfAborted()
    await this.serial(async () => {
      const bytes = await this.blocks.get(cid.bytes)
      if (bytes === undefined) return
      const usage = await this.usage()
      usage.bytes -= bytes.byteLength
      usage.blocks--
      await this.db.batch()
        .del(cid.bytes, { sublevel: this.blocks })
        .put('usage', usage, { sublevel: this.meta })
        .write()
    })
  }

  /** Keeps these blocks from garbage collection until the returned release is called. */
  hold (cids: CID[]): () => void {
    const ids = cids.map(c => c.toString())
    for (const id of ids) this.held.set(id, (this.held.get(id) ?? 0) + 1)
    return () => {
      for (const id of ids) {
        const n = (this.held.get(id) ?? 1) - 1
        if (n <= 0) this.held.delete(id)
        else this.held.set(id, n)
      }
    }
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
   * Every block reachable from a pin, found by following links. Blocks that are missing or
   * undecodable end that branch of the walk; they do not stop the collection.
   */
  private async reachable (options: AbortOptions): Promise<Set<string>> {
    const marked = new Set<string>()
    const stack: CID[] = (await this.listPins()).map(p => p.cid)
    while (stack.length > 0) {
      options.signal?.throwIfAborted()
      const cid = stack.pop() as CID
      const key = cid.toString()
      if (marked.has(key)) continue
      marked.add(key)
      const bytes = await this.blocks.get(cid.bytes)
      if (bytes === undefined) continue
      try {
        for (const l of links(cid, bytes)) if (!marked.has(l.toString())) stack.push(l)
      } catch {
        // A corrupt node: its own CID stays marked; verify reports and repairs it.
      }
    }
    return marked
  }

  /** Deletes every block no pin reaches, in atomic batches. */
  async gc (options: AbortOptions = {}): Promise<GcResult> {
    return await this.serial(async () => {
      const marked = await this.reachable(options)
      const usage = await this.usage()
      let removedBlocks = 0
      let removedBytes = 0
      let pending: Uint8Array[] = []
      const flush = async (): Promise<void> => {
        if (pending.length === 0) return
        const values = await this.blocks.getMany(pending)
        const batch = this.db.batch()
        pending.forEach((key, i) => {
          batch.del(key, { sublevel: this.blocks })
          const size = values[i]?.byteLength ?? 0
          usage.bytes -= size
          usage.blocks--
          removedBytes += size
        })
        batch.put('usage', usage, { sublevel: this.meta })
        await batch.write()
        removedBlocks += pending.length
        pending = []
      }
      // Keys only (a snapshot): block bytes are read just for what is deleted.
      for await (const key of this.blocks.keys()) {
        options.signal?.throwIfAborted()
        const id = CID.decode(key).toString()
        if (marked.has(id) || this.held.has(id)) continue
        pending.push(key)
        if (pending.length >= GC_BATCH) await flush()
      }
      await flush()
      return { removedBlocks, removedBytes, kept: usage.blocks }
    })
  }
}
