// A fetch session: blocks under one root, fetched from every provider at once.
//
// Providers are asked which of the wanted blocks they hold (HAVE), then each provider is
// kept busy with up to `window` requests; a faster provider finishes sooner and so gets more.
// Each block is verified against its CID as it is stored (a provider whose block fails is
// dropped, penalised and its work moved), requests a provider lacks or leaves behind go to
// another, and near the end a provider with nothing to do races the slowest in-flight
// requests of the others. A block no provider holds resolves as undefined, so the caller
// can rebuild it from parity. The session knows nothing of files: only CIDs and a root.
import type { ComponentLogger, Logger, PeerId, Stream } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import { CustomProgressEvent, type ProgressEvent } from 'progress-events'
import { HashMismatchError, PeerUnavailableError } from '../errors.js'
import { MAX_WANT_CIDS, PEER_WINDOW, REQUEST_TIMEOUT } from './constants.js'
import { ProviderChannel } from './channel.js'
import type { PeerPenalties } from './penalties.js'

/** Where verified blocks go: `put` must hash the bytes and throw HashMismatchError on a lie. */
export interface VerifiedSink {
  put (cid: CID, bytes: Uint8Array, options?: { signal?: AbortSignal }): Promise<void>
}

export interface FetchSessionComponents {
  openStream (peer: PeerId, options: { signal?: AbortSignal }): Promise<Stream>
  sink: VerifiedSink
  penalties: PeerPenalties
  logger: ComponentLogger
}

export type SessionProgressEvents =
  ProgressEvent<'exchange:session:block', { peer: string, bytes: number }> |
  ProgressEvent<'exchange:session:provider', { peer: string, status: 'joined' | 'dropped', reason?: string }>

export interface FetchSessionOptions {
  /** Requests kept in flight per provider. */
  window?: number
  /** After this long a request is given up at that provider and moved. */
  requestTimeout?: number
  signal?: AbortSignal
  onProgress?: (event: SessionProgressEvents) => void
}

interface Inflight { id: bigint, started: number }

interface ProviderState {
  peer: PeerId
  key: string
  channel?: ProviderChannel
  connecting?: Promise<void>
  dropped: boolean
  reason?: string
  /** What the provider said it holds (HAVE) or showed it lacks (DONT_HAVE). */
  known: Map<string, boolean>
  /** CIDs asked about in a HAVE not yet answered. */
  asking: Set<string>
  inflight: Map<string, Inflight>
  blocks: number
  bytes: number
  /** Moving average of one block's time, ms. */
  blockMs: number
  /** Id of the newest request the provider has answered (ids grow with each request). */
  answeredUpTo: bigint
  /** Blocks it said it held (HAVE), then answered DONT_HAVE for. */
  refused: number
}

interface Want {
  cid: CID
  key: string
  result?: { bytes: Uint8Array | undefined }
  waiters: Array<(r: { bytes: Uint8Array | undefined }) => void>
  queued: boolean
}

export interface ProviderStats {
  peer: string
  blocks: number
  bytes: number
  dropped: boolean
  /** Why the session gave up on the provider, when it did. */
  reason?: string
}

export class FetchSession {
  private readonly log: Logger
  private readonly providers = new Map<string, ProviderState>()
  private readonly wants = new Map<string, Want>()
  private queue: Want[] = []
  private discoveryDone = false
  private closed = false
  private readonly window: number
  private readonly requestTimeout: number
  private readonly timer: NodeJS.Timeout
  private readonly abort = new AbortController()

  constructor (readonly root: CID, private readonly components: FetchSessionComponents, private readonly options: FetchSessionOptions = {}) {
    this.log = components.logger.forComponent('peerlink:exchange:session')
    this.window = options.window ?? PEER_WINDOW
    this.requestTimeout = options.requestTimeout ?? REQUEST_TIMEOUT
    this.timer = setInterval(() => { this.checkTimeouts() }, Math.min(1000, this.requestTimeout / 4))
    this.timer.unref()
    options.signal?.addEventListener('abort', () => { this.close() }, { once: true })
  }

  stats (): ProviderStats[] {
    return [...this.providers.values()].map(p => {
      // A provider that served nothing says why, even when it was not dropped.
      const reason = p.reason ?? (p.blocks === 0 && p.refused > 0 ? `said it held ${p.refused} block${p.refused === 1 ? '' : 's'}, then answered DONT_HAVE for each` : undefined)
      return { peer: p.key, blocks: p.blocks, bytes: p.bytes, dropped: p.dropped, ...(reason !== undefined ? { reason } : {}) }
    })
  }

  addProvider (peer: PeerId): void {
    const key = peer.toString()
    if (this.closed || this.providers.has(key)) return
    const p: ProviderState = { peer, key, dropped: false, known: new Map(), asking: new Set(), inflight: new Map(), blocks: 0, bytes: 0, blockMs: 0, answeredUpTo: 0n, refused: 0 }
    this.providers.set(key, p)
    if (this.components.penalties.isBanned(peer)) {
      // Listed, so the fetch can say why a provider it was told of served nothing.
      this.drop(p, 'banned by this node for earlier offences')
      return
    }
    p.connecting = (async () => {
      try {
        const stream = await this.components.openStream(peer, { signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.requestTimeout)]) })
        p.channel = new ProviderChannel(peer, stream, this.root)
        p.connecting = undefined
        if (this.closed) { p.channel.close(); return }
        this.progress(new CustomProgressEvent('exchange:session:provider', { peer: key, status: 'joined' as const }))
        this.askHave(p, [...this.wants.values()].filter(w => w.result === undefined))
      } catch (err) {
        p.connecting = undefined
        this.drop(p, `cannot open an exchange stream: ${(err as Error).message}`)
      }
    })()
  }

  /** No more providers will be added: a block every provider lacks is then missing. */
  providersComplete (): void {
    this.discoveryDone = true
    this.pump()
  }

  /** Starts fetching blocks ahead of their `get`; urgent ones go ahead of everything queued. */
  want (cids: CID[], options: { urgent?: boolean } = {}): void {
    const fresh: Want[] = []
    for (const cid of cids) {
      const key = cid.toString()
      if (this.wants.has(key)) continue
      const w: Want = { cid, key, waiters: [], queued: true }
      this.wants.set(key, w)
      fresh.push(w)
    }
    if (fresh.length === 0) return
    this.queue = options.urgent === true ? [...fresh, ...this.queue] : [...this.queue, ...fresh]
    for (const p of this.providers.values()) this.askHave(p, fresh)
    this.pump()
  }

  /** Whether the block is wanted from providers (asked for, on its way or waiting to be taken). */
  wanted (cid: CID): boolean {
    return this.wants.has(cid.toString())
  }

  /** The verified and stored block, or undefined when no provider holds it. */
  async get (cid: CID, options: { signal?: AbortSignal } = {}): Promise<Uint8Array | undefined> {
    const key = cid.toString()
    // Asked for now: ahead of prefetched blocks.
    if (!this.wants.has(key)) this.want([cid], { urgent: true })
    const w = this.wants.get(key) as Want
    const r = w.result ?? await new Promise<{ bytes: Uint8Array | undefined }>((resolve, reject) => {
      const signal = AbortSignal.any([this.abort.signal, ...(options.signal !== undefined ? [options.signal] : [])])
      if (signal.aborted) { reject(signal.reason); return }
      const onAbort = (): void => { reject(signal.reason) }
      signal.addEventListener('abort', onAbort, { once: true })
      w.waiters.push((r) => { signal.removeEventListener('abort', onAbort); resolve(r) })
    })
    this.wants.delete(key)
    return r.bytes
  }

  close (): void {
    if (this.closed) return
    this.closed = true
    clearInterval(this.timer)
    this.abort.abort(new PeerUnavailableError('fetch session closed'))
    for (const p of this.providers.values()) p.channel?.close()
  }

  private askHave (p: ProviderState, wants: Want[]): void {
    if (p.channel === undefined || p.dropped) return
    const keys = wants.filter(w => w.result === undefined && !p.known.has(w.key) && !p.asking.has(w.key))
    for (let i = 0; i < keys.length; i += MAX_WANT_CIDS) {
      const batch = keys.slice(i, i + MAX_WANT_CIDS)
      for (const w of batch) p.asking.add(w.key)
      const channel = p.channel
      channel.have(batch.map(w => w.cid), this.abort.signal).then((has) => {
        batch.forEach((w, j) => { p.asking.delete(w.key); p.known.set(w.key, has[j]) })
        this.pump()
      }, (err: Error) => {
        for (const w of batch) p.asking.delete(w.key)
        this.fail(p, channel, err)
      })
    }
  }

  /** Progress goes out while the session is open: a fetch that has ended reports nothing more. */
  private progress (event: SessionProgressEvents): void {
    if (!this.closed) this.options.onProgress?.(event)
  }

  private ready (p: ProviderState): p is ProviderState & { channel: ProviderChannel } {
    return !p.dropped && p.channel !== undefined && p.channel.open
  }

  /** Hands queued wants to providers with room, races stragglers, settles the unobtainable. */
  private pump (): void {
    if (this.closed) return
    const live = [...this.providers.values()].filter(p => this.ready(p)).sort((a, b) => a.inflight.size - b.inflight.size)
    for (const p of live) {
      while (p.inflight.size < this.window) {
        const i = this.queue.findIndex(w => p.known.get(w.key) === true)
        if (i < 0) break
        const w = this.queue[i]
        this.queue.splice(i, 1)
        w.queued = false
        this.request(p, w)
      }
    }
    if (this.queue.length === 0) this.raceStragglers(live)
    this.settleUnobtainable()
  }

  private request (p: ProviderState & { channel: ProviderChannel }, w: Want): void {
    const { id, result } = p.channel.request(w.cid)
    const started = Date.now()
    p.inflight.set(w.key, { id, started })
    const channel = p.channel
    result.then(async (bytes) => {
      if (p.inflight.get(w.key)?.id !== id) return // cancelled or timed out
      p.inflight.delete(w.key)
      if (id > p.answeredUpTo) p.answeredUpTo = id
      // The provider's pipe is refilled now, not after this block is verified and stored.
      this.pump()
      if (w.result !== undefined) return
      if (bytes === undefined) {
        p.refused++
        p.known.set(w.key, false)
        this.requeue(w)
        return
      }
      try {
        await this.components.sink.put(w.cid, bytes, { signal: this.abort.signal })
      } catch (err) {
        if (err instanceof HashMismatchError) {
          this.log('%p sent a block that does not match %s', p.peer, w.key)
          this.penalise(p, 'corrupt-block')
          this.drop(p, `sent a block that does not match its CID ${w.key}`)
          this.requeue(w)
          return
        }
        this.settle(w, undefined, err as Error)
        return
      }
      const ms = Date.now() - started
      p.blockMs = p.blockMs === 0 ? ms : 0.8 * p.blockMs + 0.2 * ms
      p.blocks++
      p.bytes += bytes.byteLength
      this.progress(new CustomProgressEvent('exchange:session:block', { peer: p.key, bytes: bytes.byteLength }))
      this.settle(w, bytes)
    }, (err: Error) => {
      this.fail(p, channel, err)
    }).finally(() => { this.pump() })
  }

  private settle (w: Want, bytes: Uint8Array | undefined, error?: Error): void {
    if (w.result !== undefined) return
    // A store failure (disk full) is not the provider's fault and ends the fetch of this block.
    if (error !== undefined) { this.abort.abort(error); return }
    w.result = { bytes }
    for (const p of this.providers.values()) {
      const f = p.inflight.get(w.key)
      if (f !== undefined) { p.inflight.delete(w.key); p.channel?.cancel(f.id) }
    }
    for (const resolve of w.waiters) resolve(w.result)
    w.waiters = []
  }

  private requeue (w: Want): void {
    if (w.result !== undefined || w.queued) return
    if ([...this.providers.values()].some(p => p.inflight.has(w.key))) return
    w.queued = true
    this.queue.unshift(w)
  }

  /** With nothing queued, an idle provider also asks for what has waited longest elsewhere. */
  private raceStragglers (live: Array<ProviderState & { channel: ProviderChannel }>): void {
    const now = Date.now()
    for (const p of live) {
      if (p.inflight.size >= Math.max(1, this.window / 4)) continue
      let oldest: { w: Want, age: number } | undefined
      for (const q of live) {
        if (q === p) continue
        for (const [key, f] of q.inflight) {
          const w = this.wants.get(key)
          if (w === undefined || p.inflight.has(key) || p.known.get(key) !== true) continue
          const age = now - f.started
          const expected = Math.max(50, 3 * (q.blockMs || p.blockMs || 50))
          if (age > expected && (oldest === undefined || age > oldest.age)) oldest = { w, age }
        }
      }
      if (oldest !== undefined) this.request(p, oldest.w)
    }
  }

  /** A queued block that no live provider holds, with nobody left to ask, is missing. */
  private settleUnobtainable (): void {
    const pendingPeers = [...this.providers.values()].some(p => p.connecting !== undefined || (!p.dropped && p.asking.size > 0))
    if (!this.discoveryDone || pendingPeers) return
    const live = [...this.providers.values()].filter(p => this.ready(p))
    const missing = this.queue.filter(w => live.every(p => p.known.get(w.key) === false))
    if (missing.length === 0) return
    this.queue = this.queue.filter(w => !missing.includes(w))
    for (const w of missing) { w.queued = false; this.settle(w, undefined) }
  }

  /**
   * A provider that has answered nothing for the request timeout while it was asked something
   * is dropped. Its requests are not timed one by one from when each was sent: it serves them
   * in order, so on a slow link the last of a full window waits long for its turn, and timing
   * that wait dropped honest providers (and banned them). A request it passed over (one sent
   * later has been answered) is given up at that provider after the timeout and moved.
   */
  private checkTimeouts (): void {
    const now = Date.now()
    for (const p of this.providers.values()) {
      if (!this.ready(p)) continue
      if (p.channel.silentFor(now) >= this.requestTimeout) {
        this.penalise(p, 'timeout')
        this.drop(p, `answered nothing for ${this.requestTimeout / 1000} s (${p.inflight.size} blocks and ${p.asking.size} HAVE queries outstanding)`)
        continue
      }
      for (const [key, f] of p.inflight) {
        if (f.id > p.answeredUpTo || now - f.started < this.requestTimeout) continue
        p.inflight.delete(key)
        p.channel.cancel(f.id)
        p.known.set(key, false)
        this.penalise(p, 'timeout')
        const w = this.wants.get(key)
        if (w !== undefined) this.requeue(w)
      }
    }
    this.pump()
  }

  /** A channel that failed rejects every request it had open: the provider is charged once. */
  private fail (p: ProviderState, channel: ProviderChannel, err: Error): void {
    if (this.closed || p.dropped) return
    if (channel.violation !== undefined) this.penalise(p, 'protocol')
    this.drop(p, err.message)
  }

  private penalise (p: ProviderState, offence: 'corrupt-block' | 'protocol' | 'timeout'): void {
    this.components.penalties.record(p.peer, offence)
  }

  private drop (p: ProviderState, reason: string): void {
    if (p.dropped) return
    p.dropped = true
    p.reason = reason
    this.log('dropping %p: %s', p.peer, reason)
    this.progress(new CustomProgressEvent('exchange:session:provider', { peer: p.key, status: 'dropped' as const, reason }))
    p.channel?.close(new PeerUnavailableError(reason))
    const moved = [...p.inflight.keys()]
    p.inflight.clear()
    for (const key of moved) {
      const w = this.wants.get(key)
      if (w !== undefined) this.requeue(w)
    }
    this.pump()
  }
}
