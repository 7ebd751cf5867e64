// What a fetch session knows of one provider: its channel, which blocks it holds, what is in
// flight to it, and what it has served.
import type { PeerId } from '@libp2p/interface'
import type { ExchangeChannel } from './channel.js'

export interface Inflight { id: bigint, started: number }

export interface ProviderState {
  peer: PeerId
  key: string
  channel?: ExchangeChannel
  connecting?: Promise<void>
  dropped: boolean
  reason?: string
  /** How it failed, when it was dropped. */
  failure?: ProviderFailure
  /** What the provider said it holds (HAVE) or showed it lacks (DONT_HAVE). */
  known: Map<string, boolean>
  /** CIDs asked about in a HAVE not yet answered. */
  asking: Set<string>
  inflight: Map<string, Inflight>
  blocks: number
  bytes: number
  /** Moving average of one block's time, from its request to its arrival (queueing included), ms. */
  blockMs: number
  /**
   * Moving average of the time the provider took per block once it got to it: from the
   * previous block's arrival (or the request, when it was idle) to this one's, ms. Its
   * link's rate shows here, whatever the depth of its queue.
   */
  serviceMs: number
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
  bytes: number
  dropped: boolean
  /** Why the session gave up on the provider, when it did. */
  reason?: string
  failure?: ProviderFailure
  /** The first block it lied about, when it did. */
  lie?: Lie
}

export function newProvider (peer: PeerId): ProviderState {
  return { peer, key: peer.toString(), dropped: false, known: new Map(), asking: new Set(), inflight: new Map(), blocks: 0, bytes: 0, blockMs: 0, serviceMs: 0, lastArrival: 0, stalled: false, answeredUpTo: 0n, refused: 0 }
}

export function isLive (p: ProviderState): p is LiveProvider {
  return !p.dropped && p.channel !== undefined && p.channel.open
}

const ewma = (avg: number, x: number): number => avg === 0 ? x : 0.8 * avg + 0.2 * x

/** Counts a block the provider served, requested at `started` and arrived at `now`. */
export function recordBlock (p: ProviderState, bytes: number, started: number, now: number): void {
  p.blockMs = ewma(p.blockMs, now - started)
  p.serviceMs = ewma(p.serviceMs, Math.max(1, now - Math.max(started, p.lastArrival)))
  p.lastArrival = now
  p.stalled = false
  p.blocks++
  p.bytes += bytes
}

export function providerStats (p: ProviderState): ProviderStats {
  // A provider that served nothing says why, even when it was not dropped.
  const reason = p.reason ?? (p.blocks === 0 && p.refused > 0 ? `said it held ${p.refused} block${p.refused === 1 ? '' : 's'}, then answered DONT_HAVE for each` : undefined)
  return {
    peer: p.key,
    blocks: p.blocks,
    bytes: p.bytes,
    dropped: p.dropped,
    ...(reason !== undefined ? { reason } : {}),
    ...(p.failure !== undefined ? { failure: p.failure } : {}),
    ...(p.lie !== undefined ? { lie: p.lie } : {})
  }
}

/**
 * The providers that may be given work at `now`: those not stalling and not stalled since
 * their last block; all of them when that leaves none (a slow provider beats none).
 */
export function workable<P extends ProviderState> (live: P[], now: number, fallback: number): P[] {
  const ready = live.filter(p => !p.stalled && !queueState(p, now, fallback).stalling)
  return ready.length > 0 ? ready : live
}

/** The mean service time of the providers measured so far, for those not measured yet (1 when none is). */
export function typicalServiceMs (providers: ProviderState[]): number {
  const known = providers.filter(p => p.serviceMs > 0)
  return known.length === 0 ? 1 : known.reduce((a, p) => a + p.serviceMs, 0) / known.length
}

/** Requests kept in flight at a provider not measured yet. */
export const INITIAL_WINDOW = 4

/** How much of a provider's queue, in time, keeps its link busy: a block in flight and the next ones behind it. */
export const QUEUE_TARGET_MS = 250

/**
 * Requests to keep in flight at a provider: what it serves in QUEUE_TARGET_MS at its measured
 * service time, at least 2 (one on the wire, one behind it) and at most `max`; INITIAL_WINDOW
 * before it is measured. A slow link gets a short queue, so the blocks it holds are not the
 * ones every other provider waits on, and a fast one a deep queue.
 */
export function windowOf (p: ProviderState, max: number): number {
  if (p.serviceMs === 0) return Math.min(max, INITIAL_WINDOW)
  return Math.max(Math.min(2, max), Math.min(max, Math.ceil(QUEUE_TARGET_MS / p.serviceMs)))
}

/** Times one want may be moved or raced to another provider. */
export const MAX_TAKEOVERS = 3

/** A request to take over from another provider: moved (cancelled there) or raced; `stalled` when that provider is stalling. */
export interface Takeover { key: string, from: LiveProvider, move: boolean, stalled: boolean }

/**
 * Where a provider is with its queue at `now`: its service time per block (`fallback` for one
 * not measured yet), how long the head of its queue has waited, and whether it is stalling
 * (the head has waited four service times, at least half a second: a busy fetcher's own
 * delays must not look like a provider's).
 */
export function queueState (q: ProviderState, now: number, fallback: number): { service: number, headElapsed: number, stalling: boolean } {
  const service = q.serviceMs || fallback
  if (q.inflight.size === 0) return { service, headElapsed: 0, stalling: false }
  const headStarted = Math.min(...[...q.inflight.values()].map(f => f.started))
  const headElapsed = now - Math.max(q.lastArrival, headStarted)
  return { service, headElapsed, stalling: headElapsed > Math.max(500, 4 * service) }
}

/**
 * What `p` should take over from another live provider, if anything: a request `p` holds the
 * block of, has not asked for and nobody is racing yet, which `p` is expected to serve sooner
 * than the provider it waits at. Requests are served in order, so a request's expected wait is
 * what is left of the head's service time plus its place in the queue times the service time.
 * A request behind the first two of a queue has not gone on the wire yet (a provider writes
 * ahead into its stream's window, so the second may have): it is moved (cancelled there) when
 * `p` would have it sooner, which costs nothing and spreads the read-ahead over providers as
 * they join; behind the head only, when its provider is stalling. The others are raced (both
 * ask, the loser is cancelled) only when `p` would have them in under half the time or their
 * provider is stalling, so a nearly-served block is not sent twice over a slow link. A want is taken over at most MAX_TAKEOVERS times,
 * so no request bounces between providers for ever.
 */
export function takeover (p: LiveProvider, live: LiveProvider[], wanted: (key: string) => boolean, now: number, fallback: number): Takeover | undefined {
  // wanted(): still wanted, not being verified, and taken over fewer than MAX_TAKEOVERS times.
  const own = (p.inflight.size + 1) * (p.serviceMs || fallback)
  const askedOf = (key: string): number => live.reduce((n, q) => n + (q.inflight.has(key) ? 1 : 0), 0)
  let best: (Omit<Takeover, 'stalled'> & { gain: number }) | undefined
  for (const q of live) {
    if (q === p || q.inflight.size === 0) continue
    const { service, headElapsed, stalling } = queueState(q, now, fallback)
    const queue = [...q.inflight].sort(([, a], [, b]) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
    queue.forEach(([key], place) => {
      if (!wanted(key) || p.inflight.has(key) || p.known.get(key) !== true || askedOf(key) > 1) return
      const wait = stalling ? Infinity : Math.max(0, service - headElapsed) + place * service
      // The first two of a queue may be on the wire already (the provider writes ahead into its
      // stream's window): only those behind them are moved, and behind the head of a provider
      // that is stalling (sending nothing).
      const move = place >= (stalling ? 1 : 2)
      if (!(move ? wait > own : wait > 2 * own)) return
      const gain = wait - own
      if (best === undefined || gain > best.gain) best = { key, from: q, move, gain }
    })
  }
  return best === undefined ? undefined : { key: best.key, from: best.from, move: best.move, stalled: best.gain === Infinity }
}
