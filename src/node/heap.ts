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
//
// The price: after an attack the heap's limit stays where the attack left it, and nothing
// collects the blocks that died in the old generation until traffic grows it again (the
// provider kept ~115 MB over its baseline 60 s after an attack, bench:abuse). So once the
// node has been busy and then quiet for RECLAIM_QUIET, it runs one full collection itself
// (reclaimAfterLoad), which frees the dead buffers and sets the limit from the live heap.
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
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

/** Quiet time after a busy spell before the node collects. */
export const RECLAIM_QUIET = 5000

/** How often the node looks whether it has been busy. */
const RECLAIM_TICK = 1000

let gc: (() => void) | undefined

/** Runs a full (mark-compact) collection now, without the process having been started with --expose-gc. */
export function collectGarbage (): void {
  if (gc === undefined) {
    setFlagsFromString('--expose-gc')
    gc = runInNewContext('gc') as () => void
  }
  gc()
}

export interface ReclaimOptions {
  /** Quiet time after a busy spell before collecting (default RECLAIM_QUIET). */
  quiet?: number
  /** How often `activity` is read (default RECLAIM_TICK). */
  tick?: number
  /** What collects (default collectGarbage). */
  collect?: () => void
}

/**
 * Runs one full collection each time the node has been busy, then quiet for `quiet` ms.
 * `activity` is anything that changes while the node works (streams served, bytes sent).
 * Returns the function that stops it.
 */
export function reclaimAfterLoad (activity: () => string, options: ReclaimOptions = {}): () => void {
  const quiet = options.quiet ?? RECLAIM_QUIET
  const collect = options.collect ?? collectGarbage
  let last = activity()
  let busyAt: number | undefined
  const timer = setInterval(() => {
    const now = Date.now()
    const a = activity()
    if (a !== last) {
      last = a
      busyAt = now
    } else if (busyAt !== undefined && now - busyAt >= quiet) {
      busyAt = undefined
      collect()
    }
  }, options.tick ?? RECLAIM_TICK)
  timer.unref()
  return () => { clearInterval(timer) }
}
