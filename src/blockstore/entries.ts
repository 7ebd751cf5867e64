// The index entries of the LevelDB blockstore (level.ts): a tag byte, then the block's bytes
// (inline), its size (a loose file) or its size and place (in a pack, packs.ts); and the
// typed errors storage failures become.
import { DiskFullError, RepoLockedError, StorageError } from '../errors.js'
import type { Block } from './blockstore.js'
import { entryPacked } from './packs.js'

/** Blocks at least this large are stored as files; smaller ones (DAG nodes) inside the index. */
export const FILE_THRESHOLD = 64 * 1024
export const INLINE = 0
export const EXTERNAL = 1

export function entryInline (bytes: Uint8Array): Uint8Array {
  const v = new Uint8Array(bytes.byteLength + 1)
  v[0] = INLINE
  v.set(bytes, 1)
  return v
}

export function entryExternal (size: number): Uint8Array {
  const v = new Uint8Array(5)
  v[0] = EXTERNAL
  new DataView(v.buffer).setUint32(1, size, true)
  return v
}

export function entrySize (v: Uint8Array): number {
  return v[0] !== INLINE ? new DataView(v.buffer, v.byteOffset, v.byteLength).getUint32(1, true) : v.byteLength - 1
}

export function entryFor (b: Block): Uint8Array {
  if (b.bytes.byteLength < FILE_THRESHOLD) return entryInline(b.bytes)
  return b.place !== undefined ? entryPacked(b.bytes.byteLength, b.place) : entryExternal(b.bytes.byteLength)
}

/** The block without its place: stored loose (a repair never writes into a pack another file may link). */
export const loose = (b: Block): Block => ({ cid: b.cid, bytes: b.bytes })

export function storageError (path: string, err: unknown, opening = false): Error {
  if (err instanceof Error && 'exitCode' in err) return err
  const e = err as { code?: string, cause?: { code?: string, message?: string }, message?: string }
  const text = `${e.message ?? ''} ${e.cause?.message ?? ''}`
  if (e.code === 'LEVEL_LOCKED' || e.cause?.code === 'LEVEL_LOCKED' || (/\block\b/i.test(text) && /LOCK|Resource temporarily unavailable/.test(text))) {
    return new RepoLockedError(path)
  }
  if (e.code === 'ENOSPC' || /ENOSPC|No space left/i.test(text)) return new DiskFullError(path, { cause: err, opening })
  return new StorageError(`blockstore at ${path}: ${e.message ?? String(err)}`, { cause: err })
}
