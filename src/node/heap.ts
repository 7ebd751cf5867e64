// How far V8 lets the old generation grow before a full (mark-compact) collection.
//
// Under load V8 sets the old generation's limit to about twice the live heap. A node moving
// blocks keeps each 1 MiB block alive across a few young-generation collections (read
// ahead, queued for the socket, waiting for its write), so the blocks are promoted, and V8
// weighs that Buffer memory against the limit as well: with a 20 MB heap a full collection
// started every 20–30 MB of traffic, the JS heap at about 22 of its ~50 MB limit. A provider
// serving 512 MiB ran about 40 full collections, and V8's marking and sweeping threads took
// more CPU than the provider's own work. With the limit at five times the live heap the
// provider ran none and the fetcher about a third as many (src/README.md, node/: heap policy). Memory
// stays bounded: V8's separate external-memory trigger still collects when unreferenced
// buffers pile up.
//
// The factor is read at every full collection, so unlike the heap-size flags it can be set
// from inside a running process.
import { setFlagsFromString } from 'node:v8'
import { InvalidArgumentError } from '../errors.js'

/** The old generation may reach (1 + this / 100) times its live size before a full collection. */
export const HEAP_GROWING_PERCENT = 400

/** The policy in force: the percent set here, or V8's own adaptive factor. */
export type HeapPolicy = { growingPercent: number } | { growingPercent: 'v8' }

/**
 * Applies the heap policy to this process: HEAP_GROWING_PERCENT, or what
 * PEERLINK_HEAP_GROWTH says (a percent 1–2000, or "default" for V8's own factor).
 */
export function tuneHeap (wanted = process.env.PEERLINK_HEAP_GROWTH): HeapPolicy {
  if (wanted === 'default') return { growingPercent: 'v8' }
  const percent = wanted === undefined || wanted === '' ? HEAP_GROWING_PERCENT : Number(wanted)
  if (!Number.isInteger(percent) || percent < 1 || percent > 2000) {
    throw new InvalidArgumentError(`PEERLINK_HEAP_GROWTH must be a percent 1..2000 or "default", not "${String(wanted)}"`)
  }
  setFlagsFromString(`--heap-growing-percent=${percent}`)
  return { growingPercent: percent }
}
