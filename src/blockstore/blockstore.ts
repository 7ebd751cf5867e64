// What every blockstore offers. Storage knows nothing of the network or of files: blocks are
// bytes under a CID, plus pins (roots kept with everything they link to).
import type { CID } from 'multiformats/cid'

export interface AbortOptions { signal?: AbortSignal }

export interface PutOptions extends AbortOptions {
  /**
   * The caller found these blocks absent just before (a fetch asks only for blocks the repo
   * lacked), so the store skips its own look-up before writing them; a put racing another of
   * the same block still indexes and counts it once.
   */
  absent?: boolean
}

/** Where a large block goes in a pack (packs.ts): the pack's name and the block's offset in it. */
export interface Placement { pack: string, offset: number }

export interface Block {
  cid: CID
  bytes: Uint8Array
  /** A hint: store the block at this place in a pack rather than loose, if it is stored at all. */
  place?: Placement
}

export interface PinInfo {
  cid: CID
  /** What the user called it (file or directory name). */
  name: string
  /** Bytes of content under the root (file size, or a directory's total). */
  size: number
  /** 'file' or 'directory'. */
  type: string
  /** Milliseconds since the epoch. */
  added: number
}

export interface Blockstore {
  put (cid: CID, bytes: Uint8Array, options?: AbortOptions): Promise<void>
  /** Writes all blocks in one atomic batch: after a crash, all or none are stored. */
  putMany (blocks: Block[], options?: PutOptions): Promise<void>
  get (cid: CID, options?: AbortOptions): Promise<Uint8Array>
  /** Yields every requested block that is present, in order; absent ones yield undefined bytes. */
  getMany (cids: Iterable<CID>, options?: AbortOptions): AsyncGenerator<{ cid: CID, bytes: Uint8Array | undefined }>
  has (cid: CID, options?: AbortOptions): Promise<boolean>
  /** One answer per CID, in order. */
  hasMany (cids: CID[], options?: AbortOptions): Promise<boolean[]>
  delete (cid: CID, options?: AbortOptions): Promise<void>
}
