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
//
// The young generation: under a fetch's churn (promises, frames, messages) V8 doubles its two
// semi-spaces after collections with many survivors, up to 16 MB each, 32 MB of RSS that the
// node keeps. Held at 8 MB in all (capYoungGeneration), a 512 MiB fetch peaked 23–25 MB lower
// (medians from one and from three providers), its scavenges more frequent but each cheaper
// (about the same time in all). The maximum is a start-up flag; the growth factor is read at
// each growth, so it is held at 1 once the space reaches the cap and let back to V8's 2 below.
import { PerformanceObserver } from 'node:perf_hooks'
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { InvalidArgumentError } from '../errors.js'

/** The old generation may reach (1 + this / 100) times its live size before a full collection. */
export const HEAP_GROWING_PERCENT = 400

/** The young generation's most, both semi-spaces, MB (V8's own: 32). */
export const YOUNG_GENERATION_MB = 8

/** The policy in force: the percents and sizes set here, or 'v8' where V8's own is kept. */
export interface HeapPolicy {
  growingPercent: number | 'v8'
  youngGenerationMb: number | 'v8'
}

/**
 * Applies the heap policy to this process: HEAP_GROWING_PERCENT, or what
 * PEERLINK_HEAP_GROWTH says (a percent 1–2000, or "default" for V8's own factor); and the
 * young generation held at YOUNG_GENERATION_MB, or what PEERLINK_YOUNG_GENERATION says (MB
 * 2–32, or "default"). Both are checked before either is applied.
 */
export function tuneHeap (growth = process.env.PEERLINK_HEAP_GROWTH, young = process.env.PEERLINK_YOUNG_GENERATION): HeapPolicy {
  const percent = setting('PEERLINK_HEAP_GROWTH', growth, HEAP_GROWING_PERCENT, 1, 2000, 'a percent')
  const mb = setting('PEERLINK_YOUNG_GENERATION', young, YOUNG_GENERATION_MB, 2, 32, 'a size in MB')
  if (percent !== 'v8') setFlagsFromString(`--heap-growing-percent=${percent}`)
  if (mb !== 'v8') capYoungGeneration(mb)
  return { growingPercent: percent, youngGenerationMb: mb }
}

function setting (name: string, wanted: string | undefined, fallback: number, min: number, max: number, unit: string): number | 'v8' {
  if (wanted === 'default') return 'v8'
  const n = wanted === undefined || wanted === '' ? fallback : Number(wanted)
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new InvalidArgumentError(`${name} must be ${unit} ${min}..${max} or "default", not "${String(wanted)}"`)
  }
  return n
}

let youngObserver: PerformanceObserver | undefined

/**
 * Holds V8's young generation (new space, both semi-spaces) at about `mb`: after each
 * collection its growth factor is set to 1 when the space has reached `mb`, else to V8's 2.
 * The collections are observed a turn of the event loop late, so a process that allocates
 * heavily without yielding can grow one step past it. A later call replaces the cap.
 */
export function capYoungGeneration (mb: number): void {
  youngObserver?.disconnect()
  let factor = 0
  const check = (): void => {
    const wanted = youngGenerationBytes() >= mb * 1024 * 1024 ? 1 : 2
    if (wanted === factor) return
    factor = wanted
    setFlagsFromString(`--semi-space-growth-factor=${factor}`)
  }
  youngObserver = new PerformanceObserver(check)
  youngObserver.observe({ entryTypes: ['gc'] })
  check()
}

/** The young generation's size now, both semi-spaces, bytes. */
export function youngGenerationBytes (): number {
  return getHeapSpaceStatistics().find(s => s.space_name === 'new_space')?.space_size ?? 0
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
