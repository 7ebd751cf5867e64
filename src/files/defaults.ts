// The file format's sizes and defaults, and what a name in a tree may be. Nothing is imported
// here, so the CLI and the repo's config read them without loading the codecs and hashes.

export const MIN_CHUNK_SIZE = 64 * 1024
export const MAX_CHUNK_SIZE = 2 * 1024 * 1024
export const DEFAULT_CHUNK_SIZE = 1024 * 1024
export const DEFAULT_K = 10
export const DEFAULT_M = 4
/** The largest k + m a file may use. */
export const MAX_STRIPE_SHARDS = 255
/** Entries one directory node may hold (its block stays under the block limit). */
export const MAX_DIRECTORY_ENTRIES = 10_000
/** Files and directories one export writes at most, unless told otherwise. */
export const MAX_TREE_ENTRIES = 1_000_000

/** A name safe to create inside a directory: no separators, no '.', '..', NUL or absolute paths. */
export function isSafeName (name: string): boolean {
  return name.length > 0 && name.length <= 255 && name !== '.' && name !== '..' &&
    !name.includes('/') && !name.includes('\\') && !name.includes('\0')
}
