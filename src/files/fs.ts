// Files on disk: chunked reads and all-or-nothing writes.
import { randomBytes } from 'node:crypto'
import { constants } from 'node:fs'
import { copyFile, link, open, readdir, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { ALIGN, openDirect, stagingBuffer, writeFully } from '../blockstore/direct.js'
import { DiskFullError, FileExistsError, InvalidArgumentError } from '../errors.js'
import type { BufferPool } from './pool.js'

/**
 * Reads a file as chunks of exactly `size` bytes (the last may be short), each a buffer of its
 * own, from `pool` when given (of size + room bytes each) or fresh; with `room`, each buffer has
 * that many bytes more after the chunk, for its owner to write into (files/private.ts seals a
 * segment in place, its tag after it).
 */
export async function * readChunks (path: string, size: number, signal?: AbortSignal, room = 0, pool?: BufferPool): AsyncGenerator<Uint8Array> {
  if (pool !== undefined && pool.bytes !== size + room) throw new InvalidArgumentError(`a pool of ${pool.bytes}-byte buffers cannot hold ${size + room}-byte reads`)
  const fh = await open(path, 'r')
  try {
    for (;;) {
      signal?.throwIfAborted()
      const buf = pool !== undefined ? pool.take() : room > 0 ? Buffer.allocUnsafeSlow(size + room) : Buffer.allocUnsafe(size)
      let fill = 0
      while (fill < size) {
        const { bytesRead } = await fh.read(buf, fill, size - fill, null)
        if (bytesRead === 0) break
        fill += bytesRead
      }
      if (fill > 0) yield fill === size && room === 0 ? buf : buf.subarray(0, fill)
      if (fill < size) return
    }
  } finally {
    await fh.close()
  }
}

/** Bytes of a file, or of every file under a directory; what cannot be read counts 0. */
export async function treeBytes (path: string): Promise<number> {
  const st = await stat(path).catch(() => undefined)
  if (st === undefined) return 0
  if (st.isFile()) return st.size
  if (!st.isDirectory()) return 0
  let sum = 0
  for (const e of await readdir(path).catch(() => [] as string[])) sum += await treeBytes(join(path, e))
  return sum
}

export async function exists (path: string): Promise<boolean> {
  return await stat(path).then(() => true, () => false)
}

/** Bytes written ahead of the disk by writeAtomically. */
const WRITE_BEHIND_BYTES = 8 * 1024 * 1024
/**
 * Bytes written between flushes of the temporary file to the disk while the rest is still
 * coming. Without them the whole file waited in the page cache and the closing sync of a
 * 1 GiB fetch held its end for 0.6-0.8 s.
 */
const FLUSH_EVERY_BYTES = 64 * 1024 * 1024
/** Past this many bytes an output goes on with direct writes (O_DIRECT), in slabs of SLAB bytes. */
const DIRECT_AFTER_BYTES = 8 * 1024 * 1024
const SLAB = 4 * 1024 * 1024
/** Slabs kept for the next output; any more are dropped when written. */
const KEPT_SLABS = 4
const slabs: Uint8Array[] = []

/**
 * Writes a stream to `path` through a temporary file in the same directory, renamed into
 * place only when every byte is written and synced: a failure leaves no partial file.
 *
 * The first DIRECT_AFTER_BYTES go through the page cache, one write at a time, in order,
 * while the source produces the next pieces; what is written is flushed in the background
 * every FLUSH_EVERY_BYTES (one flush at a time), so the closing sync finds little left to
 * do. Parallel writes to one file gained nothing: a buffered write holds the file's lock
 * (ext4 and most Linux filesystems), so the others only spun on it. Past that, where the
 * filesystem allows O_DIRECT, the bytes are gathered into page-aligned slabs of SLAB bytes
 * and each slab is written directly (in order, at most two queued), the unaligned tail through the
 * page cache: filling fresh page-cache pages costs this VM about ten times the system CPU of
 * a direct write (blockstore/direct.ts), and an output is the one write of a fetch that
 * still went through them (src/README.md, files/: output files).
 * `fresh`: the directory was made by this export, so no earlier temp files are looked for.
 */
export async function writeAtomically (path: string, source: AsyncIterable<Uint8Array>, options: { force?: boolean, signal?: AbortSignal, fresh?: boolean } = {}): Promise<number> {
  await checkOutput(path, options.force === true)
  const tmp = await tempBeside(path, options.fresh)
  const fh = await open(tmp, 'wx', 0o644).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOSPC') throw new DiskFullError(dirname(path), { cause: err })
    if (err.code === 'EACCES' || err.code === 'EPERM' || err.code === 'EROFS') {
      throw new InvalidArgumentError(`cannot write in ${dirname(path)}: ${err.code === 'EROFS' ? 'the filesystem is read-only' : 'permission denied'}`)
    }
    throw err
  })
  const out = new OutputWriter(fh, tmp)
  try {
    for await (const piece of source) {
      options.signal?.throwIfAborted()
      await out.write(piece)
    }
    await out.finish()
    await moveIntoPlace(tmp, path, options.force === true)
    return out.written
  } catch (err) {
    await out.abort()
    await unlink(tmp).catch(() => {})
    if ((err as NodeJS.ErrnoException).code === 'ENOSPC') throw new DiskFullError(dirname(path), { cause: err })
    throw err
  }
}

/** The writes of one output (writeAtomically): in order, buffered and then direct. */
class OutputWriter {
  written = 0
  // Writes wait for the write before them, with at most WRITE_BEHIND_BYTES queued (two
  // slabs once direct); after a failed write the rest are not attempted.
  private readonly inflight: Array<{ promise: Promise<void>, bytes: number }> = []
  private last: Promise<void> = Promise.resolve()
  private pending = 0
  private flushing: Promise<void> | undefined
  private unflushed = 0
  /** Once direct: the descriptor, the slab being filled and the file position it starts at. */
  private direct: { fd: FileHandle, slab?: Uint8Array, fill: number, at: number } | undefined
  private tried = false

  constructor (private readonly fh: FileHandle, private readonly tmp: string) {}

  async write (piece: Uint8Array): Promise<void> {
    if (this.direct === undefined && !this.tried && this.written + piece.byteLength > DIRECT_AFTER_BYTES) {
      this.tried = true
      const fd = await openDirect(this.tmp, constants.O_WRONLY)
      if (fd !== undefined) {
        // Up to the next aligned position through the page cache, the rest in slabs.
        const head = Math.min(piece.byteLength, (ALIGN - this.written % ALIGN) % ALIGN)
        if (head > 0) await this.buffered(piece.subarray(0, head))
        this.direct = { fd, fill: 0, at: this.written }
        await this.gather(this.direct, piece.subarray(head))
        return
      }
    }
    if (this.direct !== undefined) await this.gather(this.direct, piece)
    else await this.buffered(piece)
  }

  /** Writes what is left, waits for every write, syncs and closes. */
  async finish (): Promise<void> {
    const d = this.direct
    if (d?.slab !== undefined && d.fill > 0) {
      const { slab, fill, at } = d
      const aligned = fill - fill % ALIGN
      if (aligned > 0) await this.writeSlab(d, slab, aligned, at)
      if (aligned < fill) {
        const tail = slab.slice(aligned, fill)
        await this.queue(async () => { await writeFully(this.fh, tail, at + aligned) }, tail.byteLength)
      }
      d.slab = undefined
    }
    for (const w of this.inflight.splice(0)) await w.promise
    await this.flushing
    await d?.fd.close()
    await this.fh.datasync()
    await this.fh.close()
  }

  /** Waits for what was started and closes, after a failure. */
  async abort (): Promise<void> {
    await Promise.allSettled([...this.inflight.map(w => w.promise), this.flushing])
    await this.direct?.fd.close().catch(() => {})
    await this.fh.close().catch(() => {})
  }

  private async queue (write: () => Promise<void>, bytes: number): Promise<void> {
    this.last = this.last.then(write)
    const w = { promise: this.last, bytes }
    w.promise.catch(() => {}) // awaited in order, by this or finish
    this.inflight.push(w)
    this.pending += bytes
    while (this.pending > (this.direct !== undefined ? 2 * SLAB : WRITE_BEHIND_BYTES)) {
      const oldest = this.inflight.shift() as typeof w
      await oldest.promise
      this.pending -= oldest.bytes
    }
  }

  private async buffered (piece: Uint8Array): Promise<void> {
    const position = this.written
    this.written += piece.byteLength
    this.unflushed += piece.byteLength
    if (this.unflushed >= FLUSH_EVERY_BYTES && this.flushing === undefined) {
      this.unflushed = 0
      this.flushing = this.fh.datasync().finally(() => { this.flushing = undefined })
      this.flushing.catch(() => {}) // awaited before the closing sync
    }
    await this.queue(async () => { await writeFully(this.fh, piece, position) }, piece.byteLength)
  }

  /** Copies the piece into slabs, writing each slab as it fills. */
  private async gather (d: NonNullable<OutputWriter['direct']>, piece: Uint8Array): Promise<void> {
    let off = 0
    while (off < piece.byteLength) {
      d.slab ??= slabs.pop() ?? stagingBuffer(SLAB)
      const n = Math.min(SLAB - d.fill, piece.byteLength - off)
      d.slab.set(piece.subarray(off, off + n), d.fill)
      d.fill += n
      off += n
      this.written += n
      if (d.fill === SLAB) {
        const { slab, at } = d
        d.slab = undefined
        d.fill = 0
        d.at += SLAB
        await this.writeSlab(d, slab, SLAB, at)
      }
    }
  }

  /** The slab written from its start; it goes back to the kept ones once written. */
  private async writeSlab (d: NonNullable<OutputWriter['direct']>, slab: Uint8Array, bytes: number, at: number): Promise<void> {
    await this.queue(async () => {
      await writeFully(d.fd, slab.subarray(0, bytes), at)
      if (slabs.length < KEPT_SLABS) slabs.push(slab)
    }, bytes)
  }
}

/**
 * Puts the file at `from` at `path` as writeAtomically would, as a hard link where both are on
 * one filesystem (no byte written again; the two names share the file from then on), else
 * as a copy.
 */
export async function linkAtomically (from: string, path: string, options: { force?: boolean } = {}): Promise<void> {
  await checkOutput(path, options.force === true)
  // Already that file (the same root written there before): renaming a link over another
  // link of the same file would do nothing and leave the temporary name behind.
  const [there, source] = await Promise.all([stat(path).catch(() => undefined), stat(from)])
  if (there !== undefined && there.ino === source.ino && there.dev === source.dev) return
  const tmp = await tempBeside(path)
  try {
    await link(from, tmp).catch(async (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EXDEV' && err.code !== 'EPERM' && err.code !== 'ENOTSUP' && err.code !== 'EOPNOTSUPP' && err.code !== 'ENOSYS') throw err
      await copyFile(from, tmp, constants.COPYFILE_EXCL)
    })
    await moveIntoPlace(tmp, path, options.force === true)
  } catch (err) {
    await unlink(tmp).catch(() => {})
    if ((err as NodeJS.ErrnoException).code === 'ENOSPC') throw new DiskFullError(dirname(path), { cause: err })
    throw err
  }
}

/**
 * Renames the finished temp file to `path`. Without `force` it is linked instead, which fails
 * if `path` has appeared since the write began (another fetch, or the user), so nothing is
 * replaced that was not there to check at the start.
 */
export async function moveIntoPlace (tmp: string, path: string, force: boolean): Promise<void> {
  if (force) { await rename(tmp, path); return }
  try {
    await link(tmp, path)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EEXIST') throw new FileExistsError(path)
    // A filesystem without hard links: check, then rename, as close together as it allows.
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw err
    if (await exists(path)) throw new FileExistsError(path)
    await rename(tmp, path)
    return
  }
  await unlink(tmp)
}

/**
 * A fresh temporary name beside `path`, after deleting those of earlier writes to `path`
 * whose process has died (killed mid-write). The writer's pid in the name tells a later
 * write whether this one is still alive.
 */
export async function tempBeside (path: string, fresh = false): Promise<string> {
  if (!fresh) await removeStaleTemps(path) // a directory made by this write has none: not read again per file
  return join(dirname(path), `.${basename(path)}.peerlink-${process.pid}-${randomBytes(6).toString('hex')}.tmp`)
}

async function removeStaleTemps (path: string): Promise<void> {
  const prefix = `.${basename(path)}.peerlink-`
  const names = await readdir(dirname(path)).catch(() => [] as string[])
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue
    const pid = Number(/^(\d+)-[0-9a-f]+\.tmp$/.exec(name.slice(prefix.length))?.[1])
    if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid || processAlive(pid)) continue
    await rm(join(dirname(path), name), { recursive: true, force: true }).catch(() => {}) // a file, or a directory's tree
  }
}

/** Whether a process with this pid exists (a pid can be taken again after its process died). */
export function processAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' // there, but another user's
  }
}

/** The output path must name a regular file (or nothing yet) in a directory that exists. */
export async function checkOutput (path: string, force: boolean): Promise<void> {
  const there = await stat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined
    throw err
  })
  if (there?.isDirectory() === true) throw new InvalidArgumentError(`${path} is a directory: name the file to write`)
  if (there !== undefined && !there.isFile()) throw new InvalidArgumentError(`${path} is not a regular file (a device, pipe or socket): name a file to write`)
  if (there !== undefined && !force) throw new FileExistsError(path)
  await checkParent(path)
}

/** The directory an output goes into must exist: it is not made on a guess. */
export async function checkParent (path: string): Promise<void> {
  const parent = await stat(dirname(path)).catch(() => undefined)
  if (parent === undefined) throw new InvalidArgumentError(`the directory ${dirname(path)} does not exist: make it first`)
  if (!parent.isDirectory()) throw new InvalidArgumentError(`${dirname(path)} is not a directory`)
}
