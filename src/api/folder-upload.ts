// A folder's files in one request body, as the page sends a folder picked or dropped: for
// each file a 4-byte big-endian header length, the header as JSON `{ path, size }` (the path
// relative to the folder, `/`-separated), then exactly `size` bytes. The files are written
// under a fresh directory as they arrive, so the tree can be added as `add -r` adds one:
// every name is checked, and nothing is held in memory beyond one piece of the body.
import { mkdir, open } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { DiskFullError, InvalidArgumentError, UploadTooLargeError } from '../errors.js'
import { isSafeName } from '../files/format.js'

/** The body's content type. */
export const FOLDER_TYPE = 'application/x-peerlink-folder'

/** Bounds on what one folder upload may hold. */
export const MAX_FOLDER_FILES = 10_000
const MAX_HEADER_BYTES = 16 * 1024
const MAX_DEPTH = 32

export interface FolderHeader { path: string, size: number }

/** Reads exact byte counts from a stream of pieces of any size. */
class Pieces {
  private buf: Uint8Array = new Uint8Array(0)
  private readonly it: AsyncIterator<Uint8Array>
  received = 0

  constructor (body: AsyncIterable<Uint8Array>, private readonly limit: number) { this.it = body[Symbol.asyncIterator]() }

  /** The next piece (what was left over first), or undefined at the end of the body. */
  async next (): Promise<Uint8Array | undefined> {
    if (this.buf.byteLength > 0) {
      const b = this.buf
      this.buf = new Uint8Array(0)
      return b
    }
    const r = await this.it.next()
    if (r.done === true) return undefined
    this.received += r.value.byteLength
    if (this.received > this.limit) throw new UploadTooLargeError(this.limit)
    return r.value
  }

  /** Gives back the part of a piece that was not used. */
  unread (rest: Uint8Array): void { this.buf = rest }

  /** Exactly n bytes; undefined when the body ends before any (the end of the list). */
  async take (n: number): Promise<Uint8Array | undefined> {
    const out = new Uint8Array(n)
    let fill = 0
    while (fill < n) {
      const piece = await this.next()
      if (piece === undefined) {
        if (fill === 0) return undefined
        throw new InvalidArgumentError(`the folder upload ended ${n - fill} bytes short of a header`)
      }
      const used = Math.min(piece.byteLength, n - fill)
      out.set(piece.subarray(0, used), fill)
      fill += used
      if (used < piece.byteLength) this.unread(piece.subarray(used))
    }
    return out
  }
}

/** A header's path as safe names, or a clear refusal. */
export function checkHeader (h: unknown): FolderHeader & { names: string[] } {
  const { path, size } = (h ?? {}) as Partial<FolderHeader>
  if (typeof path !== 'string' || !Number.isSafeInteger(size) || (size as number) < 0) {
    throw new InvalidArgumentError('a folder upload\'s file header needs a path (a string) and a size (a whole number of bytes)')
  }
  const names = path.split('/')
  if (names.length > MAX_DEPTH || !names.every(isSafeName)) {
    throw new InvalidArgumentError(`${JSON.stringify(path.slice(0, 300))} is not a usable path in a folder: at most ${MAX_DEPTH} names, each 1 to 255 characters, not '.' or '..', without '\\' or NUL`)
  }
  return { path, size: size as number, names }
}

/** Writes the body's files under `dir`; resolves to the count of files and bytes written. */
export async function receiveFolder (body: AsyncIterable<Uint8Array>, dir: string, limit: number, signal?: AbortSignal): Promise<{ files: number, bytes: number }> {
  const pieces = new Pieces(body, limit)
  const seen = new Set<string>()
  let bytes = 0
  for (;;) {
    signal?.throwIfAborted()
    const len = await pieces.take(4)
    if (len === undefined) break
    const n = new DataView(len.buffer).getUint32(0)
    if (n === 0 || n > MAX_HEADER_BYTES) throw new InvalidArgumentError(`a folder upload's file header of ${n} bytes (1 to ${MAX_HEADER_BYTES} allowed)`)
    const raw = await pieces.take(n)
    let parsed: unknown
    try { parsed = JSON.parse(new TextDecoder().decode(raw)) } catch { throw new InvalidArgumentError('a folder upload\'s file header is not JSON') }
    const h = checkHeader(parsed)
    if (seen.has(h.path)) throw new InvalidArgumentError(`${JSON.stringify(h.path)} comes twice in the folder upload`)
    if (seen.size >= MAX_FOLDER_FILES) throw new InvalidArgumentError(`a folder upload holds at most ${MAX_FOLDER_FILES} files`)
    seen.add(h.path)
    await writeFile(pieces, join(dir, ...h.names), h.size)
    bytes += h.size
  }
  return { files: seen.size, bytes }
}

/** `size` bytes of the body into a new file at `path`. */
async function writeFile (pieces: Pieces, path: string, size: number): Promise<void> {
  let fh
  try {
    await mkdir(dirname(path), { recursive: true })
    fh = await open(path, 'wx')
  } catch (err) {
    throw new InvalidArgumentError(`a name in the folder upload is both a file and a folder, or comes twice (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
  }
  try {
    let left = size
    while (left > 0) {
      const piece = await pieces.next()
      if (piece === undefined) throw new InvalidArgumentError(`the folder upload ended ${left} bytes short of a file`)
      const used = Math.min(piece.byteLength, left)
      if (used < piece.byteLength) pieces.unread(piece.subarray(used))
      await fh.write(piece.subarray(0, used)).catch((err: NodeJS.ErrnoException) => {
        // The temporary directory's filesystem (TMPDIR) is full: said as the repo's would be.
        throw err.code === 'ENOSPC' || err.code === 'EDQUOT' ? new DiskFullError(dirname(path), { cause: err }) : err
      })
      left -= used
    }
  } finally {
    await fh.close()
  }
}
