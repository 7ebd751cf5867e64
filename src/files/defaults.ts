// The file format's version, erasure scheme and size rules, apart from the codecs in
// format.ts: the repo's config and the CLI read the defaults without loading the hasher
// (native addon or WASM) and dag-cbor that encoding a node needs.

export const FORMAT_VERSION = 1
export const ERASURE_SCHEME = 'reed-solomon/cauchy/gf256-11d'
export const MIN_CHUNK_SIZE = 64 * 1024
export const MAX_CHUNK_SIZE = 2 * 1024 * 1024
export const DEFAULT_CHUNK_SIZE = 1024 * 1024
export const DEFAULT_K = 10
export const DEFAULT_M = 4
/** The largest k + m a file may use. */
export const MAX_STRIPE_SHARDS = 255
