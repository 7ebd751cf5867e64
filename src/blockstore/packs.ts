// Packs: the data chunks of one file in one data file, each at its offset in the file, so a
// file's bytes are stored once and the pack itself can become an export's output (a hard
// link). The blockstore only sees a pack as a name and offsets: callers that know a block's
// place (the fetch's read-ahead) pass it; every other block is stored loose, as before.
//
//   <dir>/packs/<name>   chunks written in place as they arrive, in any order (sparse until whole)
//
// A pack is written before the index names any of its blocks, so a kill leaves at worst
// bytes nothing indexes yet (rewritten by a resumed fetch at the same place); gc removes a
// pack that no index entry names.
import { constants } from 'node:fs'
import { link, mkdir, open, readdir, rm, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { InvalidArgumentError } from '../errors.js'
import type { Placement } from './blockstore.js'
import { DirectWriter, WriteTarget, type WriteAt } from './direct.js'
import { Holds } from './holds.js'

/** A pack's name is a CID string or another name of letters and digits: nothing that walks paths. */
const PACK_NAME = /^[A-Za-z0-9]{1,128}$/

export function checkPlacement (place: Placement): void {
  if (!PACK_NAME.test(place.pack)) throw new InvalidArgumentError(`a pack name is 1-128 letters and digits, not ${JSON.stringify(place.pack)}`)
  if (!Number.isSafeInteger(place.offset) || place.offset < 0) throw new InvalidArgumentError(`a pack offset is a non-negative integer, not ${place.offset}`)
}

/** Entry tag 2: u32 LE size, f64 LE offset (exact below 2^53), then the pack's name. */
export const PACKED = 2

export function entryPacked (size: number, place: Placement): Uint8Array {
  const name = new TextEncoder().encode(place.pack)
  const v = new Uint8Array(13 + name.byteLength)
  const view = new DataView(v.buffer)
  v[0] = PACKED
  view.setUint32(1, size, true)
  view.setFloat64(5, place.offset, true)
  v.set(name, 13)
  return v
}

export function placementOf (entry: Uint8Array): Placement & { size: number } {
  const view = new DataView(entry.buffer, entry.byteOffset, entry.byteLength)
  return { size: view.getUint32(1, true), offset: view.getFloat64(5, true), pack: new TextDecoder().decode(entry.subarray(13)) }
}

/**
 * Packs whose descriptors stay open between writes, at most: a fetch writes one pack at a
 * time (a directory fetch a few), and each write's open and close cost more than the write's
 * own call. The least recently written beyond this are closed.
 */
const OPEN_PACKS = 4

interface OpenPack { file: WriteTarget, writing: number, idle: Array<() => void> }

export class Packs {
  readonly dir: string
  private made = false
  /** Packs being written or renamed, until their index entries are in: gc leaves them. */
  private readonly busy = new Holds()
  /** Open packs, least recently written first. */
  private readonly files = new Map<string, OpenPack>()

  constructor (root: string, readonly writer = new DirectWriter()) {
    this.dir = join(root, 'packs')
  }

  path (pack: string): string {
    return join(this.dir, pack)
  }

  /** Marks packs busy (see `busy`) until the returned release is called. */
  hold (names: Iterable<string>): () => void {
    return this.busy.hold(names)
  }

  /** Gives pack `from` the name `to` as well; false when `from` is absent or `to` exists. */
  async link (from: string, to: string): Promise<boolean> {
    try {
      await link(this.path(from), this.path(to))
      return true
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'ENOENT' || code === 'EEXIST') return false
      throw err
    }
  }

  async remove (name: string): Promise<void> {
    await this.closeFile(name)
    await rm(this.path(name), { force: true })
  }

  /** Writes each block's bytes at its place, all of one pack through one open file. */
  async write (blocks: Array<{ bytes: Uint8Array, place: Placement }>): Promise<void> {
    if (!this.made) { await mkdir(this.dir, { recursive: true }); this.made = true }
    const byPack = new Map<string, typeof blocks>()
    for (const b of blocks) {
      const list = byPack.get(b.place.pack)
      if (list === undefined) byPack.set(b.place.pack, [b])
      else list.push(b)
    }
    const release = this.hold(byPack.keys())
    try {
      // Read-write, made if absent, never truncated: other chunks may be in it already.
      await Promise.all([...byPack].map(async ([name, list]) => {
        await this.writeOpen(name, list.map(b => ({ bytes: b.bytes, position: b.place.offset })))
      }))
    } finally {
      release()
    }
    await this.closeOver(OPEN_PACKS)
  }

  /** Writes into pack `name` through its open descriptors, opening them first if need be. */
  private async writeOpen (name: string, writes: WriteAt[]): Promise<void> {
    // Read-write, made if absent, never truncated: other chunks may be in it already.
    const f = this.files.get(name) ?? { file: new WriteTarget(this.writer, this.path(name), constants.O_RDWR | constants.O_CREAT), writing: 0, idle: [] }
    this.files.delete(name)
    this.files.set(name, f)
    f.writing++
    try {
      await this.writer.writeTo(f.file, writes)
    } finally {
      if (--f.writing === 0) for (const wake of f.idle.splice(0)) wake()
    }
  }

  /** Closes pack `name`'s descriptors once the writes under way are done; a later write opens it anew. */
  private async closeFile (name: string): Promise<void> {
    const f = this.files.get(name)
    if (f === undefined) return
    this.files.delete(name)
    while (f.writing > 0) await new Promise<void>(resolve => f.idle.push(resolve))
    await f.file.close()
  }

  /** Closes the least recently written packs not being written, until at most `keep` are open. */
  private async closeOver (keep: number): Promise<void> {
    const idle = [...this.files].filter(([, f]) => f.writing === 0).map(([name]) => name)
    await Promise.all(idle.slice(0, Math.max(0, this.files.size - keep)).map(async name => { await this.closeFile(name) }))
  }

  /** Closes every open pack (when the blockstore closes). */
  async close (): Promise<void> {
    await Promise.all([...this.files.keys()].map(async name => { await this.closeFile(name) }))
  }

  /** The bytes at a place; undefined when the pack is gone or too short (truncated from outside). */
  async read (place: Placement, size: number): Promise<Uint8Array | undefined> {
    let fh: FileHandle
    try {
      fh = await open(this.path(place.pack), 'r')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw err
    }
    try {
      const bytes = new Uint8Array(size)
      let got = 0
      while (got < size) {
        const { bytesRead } = await fh.read(bytes, got, size - got, place.offset + got)
        if (bytesRead === 0) return undefined
        got += bytesRead
      }
      return bytes
    } finally {
      await fh.close()
    }
  }

  /** Sets the pack's length to `size` (made empty if absent) and flushes it to the disk. */
  async finish (name: string, size: number): Promise<void> {
    if (!this.made) { await mkdir(this.dir, { recursive: true }); this.made = true }
    await this.closeFile(name)
    const fh = await open(this.path(name), constants.O_RDWR | constants.O_CREAT, 0o644)
    try {
      await fh.truncate(size)
      await fh.datasync()
    } finally {
      await fh.close()
    }
  }

  /** Removes every pack not in `keep` and not being written; how many it removed. */
  async removeUnused (keep: Set<string>): Promise<number> {
    let removed = 0
    for (const name of await readdir(this.dir).catch(() => [] as string[])) {
      if (keep.has(name) || this.busy.has(name)) continue
      await this.closeFile(name)
      await rm(this.path(name), { force: true })
      removed++
    }
    return removed
  }
}
