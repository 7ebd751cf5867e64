// The fetch session's scheduling, as pure functions of what it measured of each provider and
// of the time it is given (so a test drives it on a virtual clock):
// - how many requests to keep in flight at a provider: enough bytes to fill its pipe (its rate
//   × its round trip, plus a margin for the fetcher's own delays), bounded above and below;
// - which provider gets the next block: the one that would have it soonest, so a fast provider
//   gets more, a slow one as much as keeps it busy, and all of them finish together;
// - what a provider with room takes over from another: a request not on the wire yet is moved
//   (its CANCEL reaches the provider before the blocks queued ahead of it have gone out); one
//   that may be on the wire is raced only in the end game (a block the reader waits for), and
//   only when that at least halves its wait or its provider stalls. A stalling provider's queue
//   is moved only once it is stuck (STUCK_MS): a shorter pause sends its queue out afterwards.
import { holds, type LiveProvider, type ProviderState } from './provider-state.js'

/** Requests kept in flight at a provider not measured yet. */
export const INITIAL_WINDOW = 4

/**
 * Time in flight beyond a provider's round trip, ms: covers the fetcher's own delays (verifying,
 * storing, a busy event loop) between a block's arrival and the request that replaces it.
 */
export const WINDOW_MARGIN_MS = 200

/**
 * Least time a provider's head request may wait before its whole queue is moved elsewhere, ms:
 * a shorter pause (a process on a loaded machine, descheduled) only has the block the reader
 * waits for raced, as its queue is in the provider's socket buffer already.
 */
export const STUCK_MS = 2000

/** Times one want may be moved or raced to another provider. */
export const MAX_TAKEOVERS = 3

/**
 * Requests at the head of a provider's queue that may have left it already, beyond the reach
 * of a CANCEL: two in its stream's send buffer, and on a slow link about two more in its
 * socket's (the kernel holds a megabyte or more there unsent, and the link's queue more).
 */
export const MAY_BE_SENT = 4

/**
 * Requests to keep in flight at a provider: the block on the wire plus what it serves in its
 * round trip and WINDOW_MARGIN_MS at its measured service time, at least 2 and at most `max`;
 * INITIAL_WINDOW (at most `max`) before it is measured. A slow link gets a short queue, so the
 * blocks it holds are not the ones every other provider waits on (and a CANCEL behind them
 * still arrives in time), and a fast or distant one a deep queue.
 */
export function windowOf (p: ProviderState, max: number): number {
  if (p.serviceMs === 0) return Math.min(max, INITIAL_WINDOW)
  return Math.max(Math.min(2, max), Math.min(max, 1 + Math.ceil((p.rttMs + WINDOW_MARGIN_MS) / p.serviceMs)))
}

/** The mean service time of the providers measured so far, for those not measured yet (1 when none is). */
export function typicalServiceMs (providers: ProviderState[]): number {
  const known = providers.filter(p => p.serviceMs > 0)
  return known.length === 0 ? 1 : known.reduce((a, p) => a + p.serviceMs, 0) / known.length
}

/**
 * Where a provider is with its queue at `now`: its service time per block (`fallback` for one
 * not measured yet), how long the head of its queue has waited, and whether it is stalling
 * (the head has waited four service times and a round trip, at least half a second: a busy
 * fetcher's own delays must not look like a provider's).
 */
export function queueState (q: ProviderState, now: number, fallback: number): { service: number, headElapsed: number, stalling: boolean, stuck: boolean } {
  const service = q.serviceMs || fallback
  if (q.inflight.size === 0) return { service, headElapsed: 0, stalling: false, stuck: false }
  let headStarted = Infinity
  for (const f of q.inflight.values()) if (f.started < headStarted) headStarted = f.started
  const headElapsed = now - Math.max(q.lastArrival, headStarted)
  return { service, headElapsed, stalling: headElapsed > Math.max(500, 4 * service + q.rttMs), stuck: headElapsed > Math.max(STUCK_MS, 16 * service + q.rttMs) }
}

/**
 * The providers that may be given work at `now`: those not stalling and not stalled since
 * their last block; all of them when that leaves none (a slow provider beats none).
 */
export function workable<P extends ProviderState> (live: P[], now: number, fallback: number): P[] {
  const ready = live.filter(p => !p.stalled && !queueState(p, now, fallback).stalling)
  return ready.length > 0 ? ready : live
}

/**
 * Of `candidates`, the provider with room (fewer than its window in flight) that would have
 * one more block soonest: its queue plus that block at its service time, plus its round trip.
 * Those without room are removed from `candidates`.
 */
export function soonest<P extends ProviderState> (candidates: Set<P>, max: number, fallback: number): P | undefined {
  let best: P | undefined
  let finish = Infinity
  for (const p of candidates) {
    if (p.inflight.size >= windowOf(p, max)) { candidates.delete(p); continue }
    const f = (p.inflight.size + 1) * (p.serviceMs || fallback) + p.rttMs
    if (f < finish) { best = p; finish = f }
  }
  return best
}

/** A request to take over from another provider: moved (cancelled there) or raced; `stalled` when that provider is stalling. */
export interface Takeover { key: string, from: LiveProvider, move: boolean, stalled: boolean }

/** Which wants may be taken over, as the session knows them. */
export interface TakeoverRules {
  /** Still wanted, not being verified, and taken over fewer than MAX_TAKEOVERS times. */
  wanted: (key: string) => boolean
  /** The reader waits for it now: a request on the wire is raced only then (the end game). */
  awaited: (key: string) => boolean
}

/**
 * What `p` should take over from another live provider, if anything: a request `p` holds the
 * block of, has not asked for and nobody is racing yet, which `p` is expected to serve sooner
 * than the provider it waits at. Requests are served in order, so a request's expected wait is
 * what is left of the head's service time plus its place in the queue times the service time.
 * The first MAY_BE_SENT of a queue may be on the wire already (a provider writes ahead into
 * its stream and its socket; behind the head only when its provider is stalling, sending
 * nothing): those behind are moved (cancelled there) when `p` would have them at least one of
 * its blocks sooner, which spreads the read-ahead over providers as they join; a smaller gain
 * only shuffles requests among equal providers. A request that may be on the wire is
 * raced (both ask, the loser's copy counts as duplicate) only when the reader waits for it and
 * `p` would have it in under half the time, or its provider is stalling, so a nearly-served
 * block is not sent twice over a slow link. A stalling provider's queue is raced the same way,
 * block by block as the reader waits for each, and moved (behind the head) only once it is stuck.
 */
export function takeover (p: LiveProvider, live: LiveProvider[], rules: TakeoverRules, now: number, fallback: number): Takeover | undefined {
  const ownService = p.serviceMs || fallback
  const own = (p.inflight.size + 1) * ownService + p.rttMs
  const askedOf = (key: string): number => live.reduce((n, q) => n + (q.inflight.has(key) ? 1 : 0), 0)
  let best: (Omit<Takeover, 'stalled'> & { gain: number }) | undefined
  for (const q of live) {
    if (q === p || q.inflight.size === 0) continue
    const { service, headElapsed, stalling, stuck } = queueState(q, now, fallback)
    const queue = [...q.inflight].filter(([, f]) => !f.abandoned).sort(([, a], [, b]) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
    queue.forEach(([key], place) => {
      if (!rules.wanted(key) || p.inflight.has(key) || !holds(p, key) || askedOf(key) > 1) return
      const wait = stalling ? Infinity : Math.max(0, service - headElapsed) + place * service
      // A stalling provider's requests are only raced, one the reader waits for at a time: a
      // provider that pauses (a loaded machine's process, descheduled) has its queue in its
      // socket's buffer already, and moving the queue sent all of it twice.
      const move = stuck ? place >= 1 : !stalling && place >= MAY_BE_SENT
      if (move ? wait <= own + ownService : (wait <= 2 * own || !rules.awaited(key))) return
      const gain = wait - own
      if (best === undefined || gain > best.gain) best = { key, from: q, move, gain }
    })
  }
  return best === undefined ? undefined : { key: best.key, from: best.from, move: best.move, stalled: best.gain === Infinity }
}

/**
 * Whether a request for a block settled elsewhere is still to be cancelled at `q`: yes when it
 * waits behind MAY_BE_SENT others (its CANCEL arrives before its bytes could leave), no when it
 * may be on the wire: then it stays in `q`'s window until its bytes come (counted as
 * duplicate), as the provider's pipe is busy with them all the same.
 */
export function worthCancelling (q: ProviderState, key: string): boolean {
  const f = q.inflight.get(key)
  if (f === undefined) return false
  let ahead = 0
  for (const g of q.inflight.values()) if (g.id < f.id && !g.abandoned) ahead++
  return ahead >= MAY_BE_SENT
}
