// A fetch session: blocks under one root, fetched from every provider at once.
//
// Providers are asked which of the wanted blocks they hold (HAVE), then each is kept as busy
// as its measured rate and round trip need, each block going to the provider that would have
// it soonest (the decisions are in scheduler.ts). Each block is verified against its CID as it
// is stored (a provider whose block fails is dropped, penalised and its work moved), requests a
// provider lacks or leaves behind go to another, and at the end a provider with room races a
// block the reader waits for when that helps. A copy that comes after its block came from
// elsewhere is counted as duplicate, and kept if the first copy fails. A block no provider holds
// resolves as undefined, so the caller can rebuild it from parity. The session knows nothing of
// files: only CIDs and a root.
//
// It knows nothing of streams either: channels to providers come from an injected
// `openChannel`, and time from an injected clock, so the whole of it runs in a test.
import type { ComponentLogger, Logger, PeerId } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { CustomProgressEvent, type ProgressEvent } from 'progress-events'
import { HashMismatchError, PeerUnavailableError, RelayLimitError } from '../errors.js'
import type { ExchangeChannel, OpenChannel } from './channel.js'
import type { Clock } from './clock.js'
import { HELD_BYTES, MAX_WANT_CIDS, PEER_WINDOW, REQUEST_TIMEOUT, STORING_BYTES } from './constants.js'
import type { PeerPenalties } from './penalties.js'
import { holds, isLive, newProvider, providerStats, rateOf, recordBlock, timeArrival, type LiveProvider, type ProviderFailure, type ProviderState, type ProviderStats } from './provider-state.js'
import { MAX_TAKEOVERS, soonest, takeover, typicalServiceMs, windowOf, workable, worthCancelling } from './scheduler.js'
import { WantList, type Want } from './want-list.js'

export type { ExchangeChannel, OpenChannel, ProviderStats }

/** Where verified blocks go: `put` must hash the bytes and throw HashMismatchError on a lie. */
export interface VerifiedSink {
  put (cid: CID, bytes: Uint8Array, options?: { signal?: AbortSignal }): Promise<void>
}

export interface FetchSessionComponents {
  openChannel: OpenChannel
  /**
   * Whether a provider whose stream broke has another way in now: a stream broken with its
   * connection is opened once more when this says so (a relayed connection that hole punching
   * replaced with a direct one, and closed under the transfer). Absent: never.
   */
  reachableAnew?: (peer: PeerId) => boolean
  clock: Clock
  sink: VerifiedSink
  penalties: PeerPenalties
  logger: ComponentLogger
}

export type SessionProgressEvents =
  /** A block stored; with what its provider has served so far: bytes stored, duplicate bytes, bytes per second. */
  ProgressEvent<'exchange:session:block', { peer: string, bytes: number, served: number, duplicateBytes: number, rate: number }> |
  ProgressEvent<'exchange:session:provider', { peer: string, status: 'joined' | 'dropped', reason?: string }>

export interface FetchSessionOptions {
  /** Requests kept in flight per provider. */
  window?: number
  /**
   * Most bytes of fetched blocks held for a `get` still to come. Past it the blocks furthest
   * ahead are let go: no longer `wanted`, they are read back from where the sink stored them.
   * @default HELD_BYTES
   */
  heldBytes?: number
  /** After this long a request is given up at that provider and moved. */
  requestTimeout?: number
  signal?: AbortSignal
  onProgress?: (event: SessionProgressEvents) => void
}

/** How often the session looks for a straggler to race while the reader waits for a block. */
export const STRAGGLER_CHECK_MS = 100

/** How often a provider's broken stream is opened again when it has another way in (reachableAnew). */
const REOPENS = 2

/**
 * Providers (live or still connecting) enough that one whose known addresses did not answer is
 * not looked up anew at once. A lookup is a DHT walk, and stale provider records (peers gone,
 * or back on another port) are common: one walk each, beside the transfer, took the fetcher's
 * CPU from 12 to 18 s per GiB with four such records among eight live providers. It waits
 * (parked) until a wanted block is held by no live provider, or the others fall below this.
 */
export const ENOUGH_PROVIDERS = 4

export class FetchSession {
  private readonly log: Logger
  private readonly clock: Clock
  private readonly providers = new Map<string, ProviderState>()
  private readonly wants = new WantList()
  /**
   * Providers whose stream ended while nothing was asked of it (their idle timeout, while the
   * reader was slow): a new one is opened when something is wanted again (`wake`).
   */
  private readonly sleeping = new Set<ProviderState>()
  private discoveryDone = false
  private started = false
  /** When start() ran, on the session's clock. */
  private startedAt = 0
  private closed = false
  /** Bytes of fetched blocks being verified and stored. */
  private storing = 0
  private readonly window: number
  private readonly heldBytes: number
  private readonly requestTimeout: number
  private stopTimer: (() => void) | undefined
  private stopTick: (() => void) | undefined
  private readonly abort = new AbortController()
  private readonly onAbort = (): void => { this.close() }

  constructor (readonly root: CID, private readonly components: FetchSessionComponents, private readonly options: FetchSessionOptions = {}) {
    this.log = components.logger.forComponent('peerlink:exchange:session')
    this.clock = components.clock
    this.window = options.window ?? PEER_WINDOW
    this.heldBytes = options.heldBytes ?? HELD_BYTES
    this.requestTimeout = options.requestTimeout ?? REQUEST_TIMEOUT
  }

  /** Starts the timeout checks and opens channels to the providers added so far. */
  start (): void {
    if (this.started || this.closed) return
    this.started = true
    this.startedAt = this.clock.now()
    this.stopTimer = this.clock.every(Math.min(1000, this.requestTimeout / 4), () => { this.checkTimeouts() })
    // A provider turns out to be stalling while nothing else happens (the others idle, the
    // reader waiting on its block): looked at again every STRAGGLER_CHECK_MS while one waits.
    this.stopTick = this.clock.every(STRAGGLER_CHECK_MS, () => { if (this.wants.awaited > 0) this.pump() })
    this.options.signal?.addEventListener('abort', this.onAbort, { once: true })
    for (const p of this.providers.values()) if (!p.dropped) this.connect(p)
  }

  close (): void {
    if (this.closed) return
    this.closed = true
    this.stopTimer?.()
    this.stopTick?.()
    this.options.signal?.removeEventListener('abort', this.onAbort)
    this.abort.abort(new PeerUnavailableError('fetch session closed'))
    for (const p of this.providers.values()) p.channel?.close()
  }

  stats (): ProviderStats[] { return [...this.providers.values()].map(p => providerStats(p, this.startedAt)) }

  /** Requests the live providers' pipes hold when full. */
  busy (): number { return this.live().reduce((n, p) => n + windowOf(p, this.window), 0) }

  /**
   * Blocks of read-ahead a reader should keep wanted: twice what the providers' pipes hold
   * (`busy`: blocks that came early wait for an earlier one still on its way), or, when more,
   * what they serve together while the slowest of them turns its full queue over (a request
   * put at the back of its queue now arrives), so that a reader waiting on a slow provider's
   * block leaves a fast one work to do.
   */
  depth (): number {
    const live = this.live()
    const fallback = typicalServiceMs(live)
    const turn = Math.max(0, ...live.map(p => windowOf(p, this.window) * (p.serviceMs || fallback) + p.rttMs))
    return Math.max(2 * this.busy(), live.reduce((n, p) => n + Math.ceil(turn / (p.serviceMs || fallback)), 0))
  }

  addProvider (peer: PeerId): void {
    const key = peer.toString()
    if (this.closed || this.providers.has(key)) return
    const p = newProvider(peer)
    this.providers.set(key, p)
    if (this.components.penalties.isBanned(peer)) {
      // Listed, so the fetch can say why a provider it was told of served nothing.
      this.drop(p, 'banned by this node for earlier offences', 'banned')
      return
    }
    if (this.started) this.connect(p)
  }

  /** No more providers will be added: a block every provider lacks is then missing. */
  providersComplete (): void {
    this.discoveryDone = true
    this.pump()
  }

  /** Starts fetching blocks ahead of their `get`; urgent ones go ahead of everything queued. */
  want (cids: CID[], options: { urgent?: boolean } = {}): void {
    const fresh = this.wants.add(cids, options.urgent === true)
    if (fresh.length === 0) return
    for (const p of this.providers.values()) this.askHave(p, fresh)
    this.pump()
  }

  /** Whether the block is wanted from providers (asked for, on its way or waiting to be taken). */
  wanted (cid: CID): boolean { return this.wants.get(cid.toString()) !== undefined }

  /** The verified and stored block, or undefined when no provider holds it. */
  async get (cid: CID, options: { signal?: AbortSignal } = {}): Promise<Uint8Array | undefined> {
    const key = cid.toString()
    // Asked for now: ahead of prefetched blocks.
    if (this.wants.get(key) === undefined) this.want([cid], { urgent: true })
    const w = this.wants.get(key) as Want
    // A signal of its own per call (AbortSignal.any adds no listener to its sources), so many
    // waiting calls pile no listeners on the session's signal.
    const signal = AbortSignal.any([this.abort.signal, ...(options.signal !== undefined ? [options.signal] : [])])
    const r = await this.wants.outcome(w, signal)
    this.wants.delete(w)
    return r.bytes
  }

  /**
   * Opens a channel to `p`; when `parked` (why its known addresses failed), asking where it is
   * now instead of dialling them again.
   */
  private connect (p: ProviderState, parked?: string): void {
    const lookUp = parked !== undefined
    const opening = new AbortController()
    const cancelTimeout = this.clock.after(this.requestTimeout, () => {
      opening.abort(new PeerUnavailableError(`no exchange stream within ${this.requestTimeout / 1000} s`))
    })
    p.connecting = (async () => {
      try {
        const channel = await this.components.openChannel(p.peer, { signal: AbortSignal.any([this.abort.signal, opening.signal]), lookUp })
        p.channel = channel
        p.connecting = undefined
        channel.onLateBlock = (cid, bytes) => { void this.late(p, cid, bytes) }
        // A new stream numbers its requests from 1 again.
        p.answeredUpTo = 0n
        if (this.closed) { channel.close(); return }
        // A stream that ends while nothing is asked of it fails no request: told here, or the
        // provider would stay neither live nor dropped, and its blocks be taken for missing.
        void channel.closed.then(err => { this.fail(p, channel, err) })
        // A stream opened again (reopen) is the same provider: it joined once.
        if (p.joined === undefined) {
          p.joined = this.clock.now()
          this.progress(new CustomProgressEvent('exchange:session:provider', { peer: p.key, status: 'joined' as const }))
        }
        this.askHave(p, this.wants.unsettled())
        // Presumed to hold the root (a stream opened again), it is asked for blocks at once.
        this.pump()
      } catch (err) {
        p.connecting = undefined
        const reason = lookUp ? `${parked as string}; looked up anew: ${(err as Error).message}` : `cannot open an exchange stream: ${(err as Error).message}`
        // Unreachable at the addresses this node knows: looked up anew only when needed.
        if (!lookUp && !this.closed && !(err instanceof RelayLimitError)) {
          p.parked = reason
          this.unpark()
          this.pump()
        } else {
          // One that had joined and cannot be reached for a new stream went away.
          this.drop(p, reason, p.joined !== undefined ? 'went-away' : 'unreachable')
        }
      } finally {
        cancelTimeout()
      }
    })()
  }

  /**
   * Asks `p` which of `wants` it holds, unless it is presumed to hold them all (`holdsAll`):
   * then each HAVE was a message to write and answer per provider and batch of the read-ahead
   * (at the start of a fetch from 8 providers, 68 ms of the main thread's first 500, in one
   * profile). When the presumption ends, what is still unsettled is asked (`doubt`).
   */
  private askHave (p: ProviderState, wants: Want[]): void {
    if (p.channel === undefined || p.dropped || p.holdsAll === true) return
    const keys = wants.filter(w => w.result === undefined && !p.known.has(w.key) && !p.asking.has(w.key))
    for (let i = 0; i < keys.length; i += MAX_WANT_CIDS) {
      const batch = keys.slice(i, i + MAX_WANT_CIDS)
      for (const w of batch) p.asking.add(w.key)
      const channel = p.channel
      channel.have(batch.map(w => w.cid), { signal: this.abort.signal }).then((has) => {
        batch.forEach((w, j) => { p.asking.delete(w.key); p.known.set(w.key, has[j]) })
        if (!has.every(h => h)) this.doubt(p)
        else p.holdsAll ??= true
        this.pump()
      }, (err: Error) => {
        for (const w of batch) p.asking.delete(w.key)
        this.fail(p, channel, err)
      })
    }
  }

  /** `p` holds part of the root only: asked about what is unsettled, as the presumption skipped it. */
  private doubt (p: ProviderState): void {
    if (p.holdsAll === false) return
    const asked = p.holdsAll === true
    p.holdsAll = false
    if (asked) this.askHave(p, this.wants.unsettled())
  }

  /** Progress goes out while the session is open: a fetch that has ended reports nothing more. */
  private progress (event: SessionProgressEvents): void {
    if (!this.closed) this.options.onProgress?.(event)
  }

  /**
   * Hands queued wants to providers, one at a time, each to the provider with room that would
   * have it soonest (see scheduler.ts): fast providers get more, slow ones as much as keeps
   * them busy, and all finish together rather than the first few taking the whole read-ahead.
   * Then moves or races stragglers and settles the unobtainable.
   */
  private pump (): void {
    if (!this.started || this.closed) return
    if (this.sleeping.size > 0 && this.wants.queued > 0) this.wake()
    const live = this.live()
    const fallback = typicalServiceMs(live)
    // Blocks the reader waits for go first: once none of them is left queued, one held up at a
    // stalling or much slower provider is raced before anything further ahead is handed out.
    if (this.wants.queued > 0 && !this.wants.awaitsQueued()) this.raceStragglers(live, true)
    // A provider that is stalling is given nothing more: what it holds is taken over below.
    const candidates = new Set(workable(live, this.clock.now(), fallback))
    // While the store lags, nothing more is asked for: what arrives meanwhile would wait in memory.
    while (candidates.size > 0 && this.wants.queued > 0 && this.storing < STORING_BYTES) {
      const chosen = soonest(candidates, this.window, fallback)
      if (chosen === undefined) break
      const w = this.wants.take(w => holds(chosen, w.key))
      if (w === undefined) candidates.delete(chosen) // holds none of what is queued
      else this.request(chosen, w)
    }
    if (this.wants.queued === 0) this.raceStragglers(live, false)
    this.settleUnobtainable()
  }

  private live (): LiveProvider[] { return [...this.providers.values()].filter(isLive) }

  private request (p: LiveProvider, w: Want): void {
    const started = this.clock.now()
    const idle = p.inflight.size === 0
    const { id, result } = p.channel.request(w.cid)
    if (p.firstRequest === 0) p.firstRequest = started
    p.inflight.set(w.key, { id, started, idle })
    const channel = p.channel
    result.then(async (bytes) => {
      const f = p.inflight.get(w.key)
      if (f?.id !== id) return // cancelled or timed out
      p.inflight.delete(w.key)
      if (id > p.answeredUpTo) p.answeredUpTo = id
      if (bytes !== undefined) timeArrival(p, f, this.clock.now(), bytes.byteLength, w.cid.code !== raw.code)
      // Marked before the pump, so that nobody races a block whose bytes are being verified.
      const mine = bytes !== undefined ? this.wants.claim(w) : undefined
      // The provider's pipe is refilled now, not after this block is verified and stored.
      this.pump()
      if (bytes === undefined) {
        if (w.result !== undefined || f.abandoned === true) return
        // Said it held the block, or was only presumed to (it holds part of the root: a storage
        // holder's stripes).
        const said = p.known.get(w.key) === true
        p.known.set(w.key, false)
        if (said) p.refused++
        else this.doubt(p)
        this.requeue(w)
        return
      }
      await this.accept(p, w, bytes, mine)
    }, (err: Error) => {
      this.fail(p, channel, err)
    }).finally(() => { this.pump() })
  }

  /** Verifies and stores a block a provider sent; one that fails its CID costs the provider. */
  private async store (p: ProviderState, w: Want, bytes: Uint8Array, verified: () => void): Promise<void> {
    this.storing += bytes.byteLength
    try {
      await this.components.sink.put(w.cid, bytes, { signal: this.abort.signal })
    } catch (err) {
      if (err instanceof HashMismatchError) {
        this.log('%p sent a block that does not match %s', p.peer, w.key)
        this.components.penalties.record(p.peer, 'corrupt-block')
        p.lie ??= { cid: w.key, actual: err.actual }
        this.drop(p, `sent a block that does not match its CID ${w.key}`, 'lied')
        this.requeue(w)
        return
      }
      // A store failure (disk full) is not the provider's fault and ends the fetch.
      if (w.result === undefined) this.abort.abort(err)
      return
    } finally {
      verified()
      this.storing -= bytes.byteLength
    }
    recordBlock(p, bytes.byteLength)
    this.progress(new CustomProgressEvent('exchange:session:block', { peer: p.key, bytes: bytes.byteLength, served: p.bytes, duplicateBytes: p.duplicateBytes, rate: rateOf(p) }))
    this.settle(w, bytes)
    // Stored, so a block let go here is read back from the store when the reader gets to it.
    this.wants.release(this.heldBytes)
  }

  /**
   * A block that came for a request given up (moved, raced or timed out while its bytes were on
   * the wire already), taken as an answer would be (`accept`): stored when it is still wanted
   * (the requests for it elsewhere are then cancelled), a duplicate otherwise. A block on the
   * wire is never thrown away unseen.
   */
  private async late (p: ProviderState, cid: CID, bytes: Uint8Array): Promise<void> {
    if (this.closed || p.dropped) return
    const w = this.wants.get(cid.toString())
    if (w === undefined) { p.duplicateBytes += bytes.byteLength; return }
    const mine = this.wants.claim(w)
    if (mine !== undefined) this.wants.take(q => q === w)
    await this.accept(p, w, bytes, mine).finally(() => { this.pump() })
  }

  /**
   * Stores a provider's copy of a block (`mine`: it is the one being verified), or counts it as
   * duplicate when another copy came first; one that comes while another is verified is kept
   * until that one is, in case it fails.
   */
  private async accept (p: ProviderState, w: Want, bytes: Uint8Array, mine: (() => void) | undefined): Promise<void> {
    if (mine === undefined) {
      await w.verifying
      if (w.result !== undefined || w.verifying !== undefined) { p.duplicateBytes += bytes.byteLength; return }
    }
    await this.store(p, w, bytes, mine ?? this.wants.verifying(w))
  }

  /**
   * Records a block's outcome and cancels its requests still in flight elsewhere, those that
   * may be on the wire excepted: their bytes are coming anyway, so they keep their place in
   * their provider's window until they come (as duplicates).
   */
  private settle (w: Want, bytes: Uint8Array | undefined): void {
    if (!this.wants.settle(w, bytes)) return
    for (const p of this.providers.values()) {
      const f = p.inflight.get(w.key)
      if (f === undefined) continue
      if (bytes !== undefined && !worthCancelling(p, w.key)) { f.abandoned = true; continue }
      p.inflight.delete(w.key)
      p.channel?.cancel(f.id)
    }
  }

  /** Queues a want again, unless another provider still has it in flight. */
  private requeue (w: Want): void {
    if ([...this.providers.values()].some(p => p.inflight.has(w.key))) return
    this.wants.requeue(w)
  }

  /**
   * With nothing queued (the end game, or the read-ahead all handed out), a provider with room
   * takes over a request waiting at another provider when it would serve it sooner (see
   * `takeover`): a request not on the wire yet is moved, one that may be is raced. With wants
   * still queued (`awaitedOnly`), only the blocks the reader waits for are taken over.
   */
  private raceStragglers (live: LiveProvider[], awaitedOnly: boolean): void {
    const now = this.clock.now()
    const fallback = typicalServiceMs(live)
    // A block whose bytes are being verified is raced by nobody: its provider, its request
    // answered, would otherwise be the first to ask for it again.
    const wanted = (key: string): boolean => {
      const w = this.wants.get(key)
      return w !== undefined && w.result === undefined && w.verifying === undefined && w.takeovers < MAX_TAKEOVERS && (!awaitedOnly || w.waiters.length > 0)
    }
    const rules = { wanted, awaited: (key: string) => (this.wants.get(key)?.waiters.length ?? 0) > 0 }
    for (const p of workable(live, now, fallback)) {
      // Each provider takes over as long as that helps, within its window: one with its window
      // full is not asked (at every arrival in a transfer most are, and each ask reads every
      // other provider's queue).
      const room = (): boolean => p.inflight.size < windowOf(p, this.window)
      for (let t = room() ? takeover(p, live, rules, now, fallback) : undefined; t !== undefined; t = room() ? takeover(p, live, rules, now, fallback) : undefined) {
        if (t.stalled) t.from.stalled = true
        if (t.move) {
          const f = t.from.inflight.get(t.key)
          if (f !== undefined) { t.from.inflight.delete(t.key); t.from.channel.cancel(f.id) }
        }
        const w = this.wants.get(t.key) as Want
        w.takeovers++
        this.request(p, w)
      }
    }
  }

  /**
   * A queued block that no live provider holds, with nobody left to ask, is missing; before
   * that, the parked providers are looked up anew (one of them may hold it).
   */
  private settleUnobtainable (): void {
    const pendingPeers = [...this.providers.values()].some(p => p.connecting !== undefined || (!p.dropped && p.asking.size > 0))
    if (!this.discoveryDone || pendingPeers) return
    const live = this.live()
    const unobtainable = (w: Want): boolean => live.every(p => p.known.get(w.key) === false)
    if (this.wants.someQueued(unobtainable) && this.unpark(true)) return
    for (const w of this.wants.takeAll(unobtainable)) this.settle(w, undefined)
  }

  /**
   * Looks the parked providers up anew when fewer than ENOUGH_PROVIDERS others are live or
   * connecting, or when `needed`; whether any was.
   */
  private unpark (needed = false): boolean {
    if (this.closed) return false
    const all = [...this.providers.values()]
    // Parked is set only once its connect has ended, and cleared as it is looked up.
    const parked = all.filter(p => p.parked !== undefined && !p.dropped)
    if (parked.length === 0) return false
    if (!needed && all.filter(p => !p.dropped && p.parked === undefined).length >= ENOUGH_PROVIDERS) return false
    for (const p of parked) {
      const reason = p.parked
      this.log('looking %p up anew: %s', p.peer, reason)
      p.parked = undefined
      this.connect(p, reason)
    }
    return true
  }

  /**
   * A provider that has answered nothing for the request timeout while it was asked something
   * is dropped. Its requests are not timed one by one from when each was sent: it serves them
   * in order, so on a slow link the last of a full window waits long for its turn, and timing
   * that wait dropped honest providers (and banned them). A request it passed over (one sent
   * later has been answered) is given up at that provider after the timeout and moved.
   */
  private checkTimeouts (): void {
    const now = this.clock.now()
    for (const p of this.providers.values()) {
      if (!isLive(p)) continue
      if (p.channel.silentFor(now) >= this.requestTimeout) {
        this.components.penalties.record(p.peer, 'timeout')
        this.drop(p, `answered nothing for ${this.requestTimeout / 1000} s (${p.inflight.size} blocks and ${p.asking.size} HAVE queries outstanding)`)
        continue
      }
      for (const [key, f] of p.inflight) {
        if (f.id > p.answeredUpTo || now - f.started < this.requestTimeout) continue
        p.inflight.delete(key)
        p.channel.cancel(f.id)
        if (f.abandoned === true) continue
        p.known.set(key, false)
        this.components.penalties.record(p.peer, 'timeout')
        const w = this.wants.get(key)
        if (w !== undefined && w.verifying === undefined) this.requeue(w)
      }
    }
    this.pump()
  }

  /** A channel that failed rejects every request it had open: the provider is charged once. */
  private fail (p: ProviderState, channel: ExchangeChannel, err: Error): void {
    if (this.closed || p.dropped || p.channel !== channel) return
    if (channel.violation !== undefined) this.components.penalties.record(p.peer, 'protocol')
    else if (channel.endedIdle) {
      // Ended with nothing asked (the provider's idle timeout while the reader lagged): a new
      // stream when something is wanted (wake); one that cannot be opened then went away.
      this.log('stream to %p ended while idle (%s)', p.peer, err.message)
      this.rest(p)
      return
    } else if (p.reopened < REOPENS && this.components.reachableAnew?.(p.peer) === true) {
      this.reopen(p, err)
      return
    }
    this.drop(p, err.message)
  }

  /** Opens new streams to the sleeping providers, as wants are queued. */
  private wake (): void {
    const waking = [...this.sleeping]
    this.sleeping.clear()
    for (const p of waking) this.connect(p)
  }

  /** A new stream to a provider whose stream broke, its requests handed out again meanwhile. */
  private reopen (p: ProviderState, err: Error): void {
    p.reopened++
    this.log('stream to %p broke (%s): opening another', p.peer, err.message)
    this.rest(p)
  }

  /**
   * Lets go of `p`'s stream: a new one is opened as soon as something is wanted (`wake`, the
   * first thing a pump does, so a provider connecting is waited for, not taken for one that
   * lacks what it was asked), and what was asked on the old one is asked again.
   */
  private rest (p: ProviderState): void {
    p.channel?.close()
    p.channel = undefined
    this.sleeping.add(p)
    this.requeueInflight(p)
  }

  private drop (p: ProviderState, reason: string, failure: ProviderFailure = 'went-away'): void {
    if (p.dropped) return
    p.dropped = true
    p.reason = reason
    p.failure = failure
    this.log('dropping %p: %s', p.peer, reason)
    this.progress(new CustomProgressEvent('exchange:session:provider', { peer: p.key, status: 'dropped' as const, reason }))
    p.channel?.close(new PeerUnavailableError(reason))
    // One fewer: the parked may be wanted now.
    this.unpark()
    this.requeueInflight(p)
  }

  private requeueInflight (p: ProviderState): void {
    const moved = [...p.inflight.keys()]
    p.inflight.clear()
    for (const key of moved) {
      const w = this.wants.get(key)
      if (w !== undefined && w.verifying === undefined) this.requeue(w)
    }
    this.pump()
  }
}
