// Large block writes that bypass the page cache (O_DIRECT) where the filesystem allows.
//
// Why: a buffered write copies the bytes into page-cache pages, and on a VM whose guest
// memory is handed back to the host (the development VM's Firecracker) every fresh page
// faults on the host first: filling 1 GiB of fresh page cache cost 2.4-2.8 s of system CPU,
// against 0.36 s when the pages were recycled and 0.27 s for the same write with O_DIRECT
// (`dd bs=1M count=1024`, three files kept side by side). A fetch writes each byte it
// receives (chunks into the pack, parity into block files), so that copy was the largest
// part of the fetching daemon's CPU (perf: 32 % of its samples).
//
// O_DIRECT wants the memory, the file offset and the length aligned to the device's block
// size. A block received from the network sits anywhere in memory, so it is copied first
// into a staging buffer carved out of a WebAssembly memory (whose base is page-aligned) and
// written from there; the few staging buffers are reused, so they stay hot and make no
// garbage. An unaligned tail (a file's last chunk) goes through an ordinary descriptor.
// A filesystem that refuses O_DIRECT (tmpfs) gets ordinary writes, found out once.
import { constants } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'

/** Alignment of direct writes: the common page and filesystem block size (a multiple of 512). */
export const ALIGN = 4096

/** Staging buffers at most: the libuv pool runs 4 writes at a time, more would only wait. */
const SLOTS = 4

const WASM_PAGE = 65536

// Node has WebAssembly; the project's TypeScript lib (no DOM) does not declare it.
declare const WebAssembly: { Memory: new (descriptor: { initial: number }) => { buffer: ArrayBuffer } }

/** A write of `bytes` at `position` of one file. */
export interface WriteAt { bytes: Uint8Array, position: number }

export class DirectWriter {
  /** False once a filesystem refused O_DIRECT (or DIRECT_IO is unknown here). */
  private direct = directAllowed()
  private readonly free: Uint8Array[] = []
  private made = 0
  private readonly waiting: Array<() => void> = []

  /**
   * Writes each of `writes` into the file at `path`, opened with `flags` (O_WRONLY or O_RDWR,
   * O_CREAT and so on): the aligned part of each write directly, the rest buffered.
   */
  async write (path: string, flags: number, writes: WriteAt[], mode = 0o644): Promise<void> {
    const file = new WriteTarget(this, path, flags, mode)
    try {
      await this.writeTo(file, writes)
    } finally {
      await file.close()
    }
  }

  /** As `write`, through a file's descriptors that stay open for the next writes until it is closed. */
  async writeTo (file: WriteTarget, writes: WriteAt[]): Promise<void> {
    const direct = this.direct && writes.some(w => alignedHead(w) > 0) ? await file.direct() : undefined
    const heads = writes.map(w => direct !== undefined ? alignedHead(w) : 0)
    const buffered = heads.some((h, i) => h < writes[i].bytes.byteLength) ? await file.buffered() : undefined
    await Promise.all(writes.map(async (w, i) => {
      if (heads[i] > 0) await this.writeStaged(direct as FileHandle, w.bytes.subarray(0, heads[i]), w.position)
      if (heads[i] < w.bytes.byteLength) await writeFully(buffered as FileHandle, w.bytes.subarray(heads[i]), w.position + heads[i])
    }))
  }

  /** Writes `bytes` as a new file (refused if `path` exists). */
  async create (path: string, bytes: Uint8Array): Promise<void> {
    await this.write(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, [{ bytes, position: 0 }])
  }

  /** A descriptor with O_DIRECT; undefined once the filesystem refused it. */
  async openDirect (path: string, flags: number, mode: number): Promise<FileHandle | undefined> {
    if (!this.direct) return undefined
    const fd = await openDirect(path, flags, mode)
    if (fd === undefined) this.direct = false
    return fd
  }

  /** Copies `bytes` (a multiple of ALIGN long) into a staging buffer and writes it from there. */
  private async writeStaged (fd: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
    const slot = await this.acquire(bytes.byteLength)
    try {
      const staged = slot.subarray(0, bytes.byteLength)
      staged.set(bytes)
      await writeFully(fd, staged, position)
    } finally {
      this.release(slot)
    }
  }

  private async acquire (size: number): Promise<Uint8Array> {
    for (;;) {
      const fit = this.free.findIndex(s => s.byteLength >= size)
      if (fit >= 0) return this.free.splice(fit, 1)[0]
      if (this.made < SLOTS) { this.made++; return stagingBuffer(size) }
      // Every slot is taken, or the free ones are too small for this block: one is replaced.
      if (this.free.length > 0) { this.free.pop(); return stagingBuffer(size) }
      await new Promise<void>(resolve => this.waiting.push(resolve))
    }
  }

  private release (slot: Uint8Array): void {
    this.free.push(slot)
    this.waiting.shift()?.()
  }
}

/**
 * One file's descriptors for writing, each opened when first needed: a direct one for the
 * aligned parts, a buffered one for the rest. Kept open across writes, the file costs one
 * open and one close instead of one per write (about 4 % of a fetching daemon's CPU).
 */
export class WriteTarget {
  private directFd?: Promise<FileHandle | undefined>
  private bufferedFd?: Promise<FileHandle>
  private made = false

  constructor (private readonly writer: DirectWriter, readonly path: string, private readonly flags: number, private readonly mode = 0o644) {}

  async direct (): Promise<FileHandle | undefined> {
    this.directFd ??= this.writer.openDirect(this.path, this.openFlags(), this.mode).then(fd => this.opened(fd), (err) => { this.directFd = undefined; throw err })
    return await this.directFd
  }

  async buffered (): Promise<FileHandle> {
    this.bufferedFd ??= open(this.path, this.openFlags(), this.mode).then(fd => this.opened(fd), (err) => { this.bufferedFd = undefined; throw err })
    return await this.bufferedFd
  }

  /** Closes what was opened; a descriptor that failed to open is not closed. */
  async close (): Promise<void> {
    const fds = await Promise.allSettled([this.bufferedFd, this.directFd])
    this.bufferedFd = this.directFd = undefined
    for (const fd of fds) if (fd.status === 'fulfilled') await fd.value?.close()
  }

  /** The second descriptor must not truncate or refuse the file the first one made. */
  private openFlags (): number {
    return this.made ? this.flags & ~(constants.O_TRUNC | constants.O_EXCL) : this.flags
  }

  private opened<T extends FileHandle | undefined> (fd: T): T {
    if (fd !== undefined) this.made = true
    return fd
  }
}

/** False where O_DIRECT is unknown or PEERLINK_DIRECT_IO=off. */
function directAllowed (): boolean {
  return constants.O_DIRECT !== undefined && process.env.PEERLINK_DIRECT_IO !== 'off'
}

/**
 * `path` opened with O_DIRECT added to `flags`, or undefined where direct writes are off or
 * the filesystem refuses them (EINVAL: tmpfs).
 */
export async function openDirect (path: string, flags: number, mode?: number): Promise<FileHandle | undefined> {
  if (!directAllowed()) return undefined
  try {
    return await open(path, flags | constants.O_DIRECT, mode)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err
    return undefined
  }
}

/** The part of a write that can go direct: from an aligned position, whole ALIGN units. */
function alignedHead (w: WriteAt): number {
  return w.position % ALIGN === 0 ? w.bytes.byteLength - w.bytes.byteLength % ALIGN : 0
}

/** A buffer of at least `size` bytes whose memory starts on a page boundary (for direct writes). */
export function stagingBuffer (size: number): Uint8Array {
  const memory = new WebAssembly.Memory({ initial: Math.ceil(size / WASM_PAGE) })
  return new Uint8Array(memory.buffer)
}

export async function writeFully (fh: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let off = 0
  while (off < bytes.byteLength) {
    const { bytesWritten } = await fh.write(bytes, off, bytes.byteLength - off, position + off)
    off += bytesWritten
  }
}
