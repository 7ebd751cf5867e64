// What a fetch session knows of one provider: its channel, which blocks it holds, what is in
// flight to it, and what it has served.
import type { PeerId } from '@libp2p/interface'
import type { ExchangeChannel } from './channel.js'

export interface Inflight {
  id: bigint
  started: number
  /** Sent when nothing else was in flight there: its wait is a round trip and one service time. */
  idle: boolean
  /** Settled elsewhere while it may have been on the wire: not cancelled, its bytes are duplicates. */
  abandoned?: boolean
}

export interface ProviderState {
  peer: PeerId
  key: string
  channel?: ExchangeChannel
  connecting?: Promise<void>
  /**
   * Why its known addresses did not answer, while it waits to be looked up anew (session.ts,
   * `unpark`); absent once it is looked up or when it never failed.
   */
  parked?: string
  dropped: boolean
  reason?: string
  /** How it failed, when it was dropped. */
  failure?: ProviderFailure
  /** What the provider said it holds (HAVE) or showed it lacks (DONT_HAVE). */
  known: Map<string, boolean>
  /** CIDs asked about in a HAVE not yet answered. */
  asking: Set<string>
  /**
   * Every HAVE it answered said yes, and it refused nothing asked of it on that ground: the
   * blocks it was not asked about (or whose answer is still on its way) are presumed held and
   * asked for at once, with no HAVE. On a slow link a HAVE's answer queues behind the block data
   * the provider is sending (0.1–0.2 s behind one 1 MiB block at 50 Mbit/s), and requests
   * waiting for it left the link idle. Undefined until its first answer; false for good after a
   * "no" or a DONT_HAVE to a presumed request (a block every provider lacks is then found
   * missing one presumed provider at a time).
   */
  holdsAll?: boolean
  inflight: Map<string, Inflight>
  blocks: number
  bytes: number
  /** Bytes it sent of blocks that had come from another provider already. */
  duplicateBytes: number
  /** When its exchange stream opened (absent: not yet). */
  joined?: number
  /** When it was first asked for a block (0: never). */
  firstRequest: number
  /** Moving average of one block's time, from its request to its arrival (queueing included), ms. */
  blockMs: number
  /**
   * The time the provider takes per block once it gets to it, ms, measured while it is kept
   * busy (`timeArrival`). Its link's rate shows here, whatever the depth of its queue.
   */
  serviceMs: number
  /** Arrival times of its blocks since it was last idle, the last SERVICE_RUN of them. */
  run: number[]
  /** When the run began: the request that found it idle was sent (or the block before the run's first arrived). */
  runStart: number
  /** The largest chunk it has sent, bytes: its service time is that of chunks this size. */
  largest: number
  /** Moving average of the round trip: a request sent to it idle took this beyond its service time, ms. */
  rttMs: number
  /** When its last block arrived (0: none yet). */
  lastArrival: number
  /** It stalled and its requests were taken over: given nothing more until a block comes from it. */
  stalled: boolean
  /** Id of the newest request the provider has answered (ids grow with each request). */
  answeredUpTo: bigint
  /** Blocks it said it held (HAVE), then answered DONT_HAVE for. */
  refused: number
  /** The first block it sent that failed its CID, when it did. */
  lie?: Lie
  /** How often its stream was opened again after it broke. */
  reopened: number
}

/** Whether `p` holds block `key`: what it said (HAVE, DONT_HAVE), else what it is presumed to hold (`holdsAll`). */
export function holds (p: ProviderState, key: string): boolean {
  return p.known.get(key) ?? p.holdsAll === true
}

/**
 * Why a provider was dropped: never reached, went away (stream closed, reset or silent) after
 * it had joined, sent a block that failed its CID, or refused for earlier offences.
 */
export type ProviderFailure = 'unreachable' | 'went-away' | 'lied' | 'banned'

/** A block a provider sent that did not hash to its CID. */
export interface Lie { cid: string, actual: string }

/** A provider with an open channel, not dropped. */
export type LiveProvider = ProviderState & { channel: ExchangeChannel }

export interface ProviderStats {
  peer: string
  blocks: number
  /** Bytes of the blocks it served that were stored. */
  bytes: number
  /** Bytes it sent of blocks another provider had sent already (raced, or on the wire when cancelled). */
  duplicateBytes: number
  /** Bytes it served and sent twice over the time from the first request to its last block, per second (0 before its first block). */
  rate: number
  /** Ms from the session's start to its exchange stream opening: how late discovery and the dial brought it (absent when it never joined). */
  joinedMs?: number
  dropped: boolean
  /** Why the session gave up on the provider, when it did. */
  reason?: string
  failure?: ProviderFailure
  /** The first block it lied about, when it did. */
  lie?: Lie
}

export function newProvider (peer: PeerId): ProviderState {
  return { peer, key: peer.toString(), dropped: false, known: new Map(), asking: new Set(), inflight: new Map(), blocks: 0, bytes: 0, duplicateBytes: 0, firstRequest: 0, blockMs: 0, serviceMs: 0, run: [], runStart: 0, largest: 0, rttMs: 0, lastArrival: 0, stalled: false, answeredUpTo: 0n, refused: 0, reopened: 0 }
}

export function isLive (p: ProviderState): p is LiveProvider {
  return !p.dropped && p.channel !== undefined && p.channel.open
}

const ewma = (avg: number, x: number): number => avg === 0 ? x : 0.8 * avg + 0.2 * x

/** Most arrivals a provider's service time is measured over. */
export const SERVICE_RUN = 64

/**
 * Least span a provider's service time is measured over, ms. A fetcher whose process waits for
 * a core reads its sockets late and then all at once: blocks that came over a second arrive
 * within milliseconds of each other, and a span of a few of them made a 50 Mbit/s link look
 * twice as fast, which handed it a window of 14 MiB it then sent while the scheduler moved
 * the requests elsewhere (each sent twice).
 */
export const SERVICE_SPAN_MS = 1000

/** A block under this fraction of a provider's largest says nothing of its link's rate (the short last chunk of a file). */
const SMALL_BLOCK = 1 / 4

/**
 * Times the arrival at `now` of a block of `bytes` from the provider, for request `f`; `node`
 * when it is a DAG node rather than a chunk. A request sent to it idle starts a new run of
 * arrivals and shows its round trip (what it took beyond the service time); each later
 * arrival extends the run. The service time is the run's time per block over its last
 * SERVICE_SPAN_MS at least (from the newest arrival that long ago, or the oldest of a full
 * run), and while the run is shorter, from when it began (the request that found the
 * provider idle: its round trip is then counted once, as a little more time per block). A
 * span that short of arrivals alone could be a burst the fetcher read late. The time is
 * that of its chunks, the largest it has sent: a fetch reads a file's DAG nodes (kilobytes,
 * in milliseconds) before its chunks, and a service time measured on those handed a 50 Mbit/s
 * link 16 chunks at once, seconds of queue. DAG nodes and chunks under a quarter of the
 * largest are not timed; a chunk four times the largest before starts the measure afresh.
 */
export function timeArrival (p: ProviderState, f: Inflight, now: number, bytes: number, node = false): void {
  const took = now - Math.max(f.started, p.lastArrival)
  if (node || bytes < p.largest * SMALL_BLOCK) {
    p.lastArrival = now
    p.stalled = false
    return
  }
  const larger = p.largest > 0 && bytes * SMALL_BLOCK >= p.largest
  p.largest = Math.max(p.largest, bytes)
  if (larger || f.idle) {
    p.run = [now]
    p.runStart = now - took
    if (!larger && p.serviceMs > 0) p.rttMs = ewma(p.rttMs, Math.max(0, took - p.serviceMs))
    else p.serviceMs = Math.max(1, took)
  } else {
    p.run.push(now)
    if (p.run.length > SERVICE_RUN) p.run.shift()
    let anchor = p.run.length === SERVICE_RUN ? 0 : -1
    for (let i = p.run.length - 2; i >= 0; i--) if (now - p.run[i] >= SERVICE_SPAN_MS) { anchor = i; break }
    p.serviceMs = Math.max(1, anchor >= 0 ? (now - p.run[anchor]) / (p.run.length - 1 - anchor) : (now - p.runStart) / p.run.length)
  }
  p.blockMs = ewma(p.blockMs, now - f.started)
  p.lastArrival = now
  p.stalled = false
}

/** Counts a verified block the provider served. */
export function recordBlock (p: ProviderState, bytes: number): void {
  p.blocks++
  p.bytes += bytes
}

/** Bytes per second the provider sent, stored or not, from its first request to its last block. */
export function rateOf (p: ProviderState): number {
  const ms = p.lastArrival - p.firstRequest
  return p.firstRequest === 0 || ms <= 0 ? 0 : Math.round((p.bytes + p.duplicateBytes) * 1000 / ms)
}

/** What the session reports of `p`; `started` is when the session started. */
export function providerStats (p: ProviderState, started: number): ProviderStats {
  // One still parked was never reached, and says so; one that served nothing says why, even
  // when it was not dropped.
  const parked = !p.dropped && p.parked !== undefined
  const reason = p.reason ?? (parked ? `${p.parked as string} (not looked up anew: the other providers held what was wanted)` : p.blocks === 0 && p.refused > 0 ? `said it held ${p.refused} block${p.refused === 1 ? '' : 's'}, then answered DONT_HAVE for each` : undefined)
  const failure = p.failure ?? (parked ? (p.joined !== undefined ? 'went-away' : 'unreachable') : undefined)
  return {
    peer: p.key,
    blocks: p.blocks,
    bytes: p.bytes,
    duplicateBytes: p.duplicateBytes,
    rate: rateOf(p),
    ...(p.joined !== undefined ? { joinedMs: Math.max(0, Math.round(p.joined - started)) } : {}),
    dropped: p.dropped || parked,
    ...(reason !== undefined ? { reason } : {}),
    ...(failure !== undefined ? { failure } : {}),
    ...(p.lie !== undefined ? { lie: p.lie } : {})
  }
}
