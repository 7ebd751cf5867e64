// In-memory stand-ins for what a fetch session is given: a clock the test moves by hand,
// and channels to fake providers that answer as each test says. No sockets, no timers.
import type { ComponentLogger, Logger, PeerId } from '@libp2p/interface'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { equals } from 'multiformats/bytes'
import type { CID } from 'multiformats/cid'
import { HashMismatchError, PeerUnavailableError, type ProtocolError } from '../../src/errors.js'
import type { ExchangeChannel, OpenChannelOptions } from '../../src/exchange/channel.js'
import type { Clock } from '../../src/exchange/clock.js'
import type { VerifiedSink } from '../../src/exchange/session.js'
import { cidOf } from '../../src/hash/index.js'

/** Lets every promise chain the last step started run to its end. */
export async function settled (): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise(resolve => { setImmediate(resolve) })
}

interface Timer { at: number, every?: number, fn: () => void, cancelled: boolean }

/** A clock that moves only when the test moves it, running the timers that fall due. */
export class FakeClock implements Clock {
  time = 1_000_000
  private timers: Timer[] = []

  now = (): number => this.time
  every = (ms: number, fn: () => void): () => void => this.add({ at: this.time + ms, every: ms, fn, cancelled: false })
  after = (ms: number, fn: () => void): () => void => this.add({ at: this.time + ms, fn, cancelled: false })

  /** Timers still to fire. */
  get pending (): number {
    return this.timers.filter(t => !t.cancelled).length
  }

  /** Moves time on by `ms`, firing each timer at its time and letting what it started settle. */
  async advance (ms: number): Promise<void> {
    const end = this.time + ms
    while (true) {
      const due = this.timers.filter(t => !t.cancelled && t.at <= end).sort((a, b) => a.at - b.at)[0]
      if (due === undefined) break
      this.time = due.at
      if (due.every !== undefined) due.at += due.every
      else due.cancelled = true
      due.fn()
      await settled()
    }
    this.time = end
    this.timers = this.timers.filter(t => !t.cancelled)
  }

  private add (timer: Timer): () => void {
    this.timers.push(timer)
    return () => { timer.cancelled = true }
  }
}

export interface Block { cid: CID, bytes: Uint8Array }

/** `n` distinct raw blocks. */
export function makeBlocks (n: number, size = 64): Block[] {
  return Array.from({ length: n }, (_, i) => {
    const bytes = new Uint8Array(size).fill(i + 1)
    bytes[0] = i >> 8
    return { cid: cidOf(bytes), bytes }
  })
}

/** What a fake provider holds and how it answers block requests. */
export interface FakeProviderInit {
  holds: Block[]
  /** Answer each block request at once (default); otherwise the test answers them. */
  auto?: boolean
  /** Blocks it says it holds (HAVE) but answers DONT_HAVE for. */
  refuses?: CID[]
  /** Blocks whose bytes it sends damaged. */
  corrupts?: CID[]
  /** Answer HAVE queries at once (default); otherwise they wait for `answerHaves`, as behind block data on a slow link. */
  autoHave?: boolean
}

interface Pending { id: bigint, cid: CID, resolve: (bytes: Uint8Array | undefined) => void, reject: (err: Error) => void }

export class FakeChannel implements ExchangeChannel {
  open = true
  violation: ProtocolError | undefined
  endedIdle = false
  /** Block requests in the order they were made (CID strings). */
  readonly asked: string[] = []
  readonly cancelled: string[] = []
  haveQueries = 0
  /** Most block requests open at once. */
  maxOutstanding = 0
  closedWith: Error | undefined
  onLateBlock: ((cid: CID, bytes: Uint8Array) => void) | undefined
  /** Cancelled requests whose one late answer may still come (`answerId`). */
  private readonly givenUp = new Map<bigint, CID>()
  private readonly ended = Promise.withResolvers<Error>()
  readonly closed = this.ended.promise
  private readonly pending: Pending[] = []
  private readonly heldHaves: Array<() => void> = []
  private nextId = 1n
  private lastProgress: number

  constructor (readonly peer: PeerId, private readonly init: FakeProviderInit, private readonly clock: FakeClock) {
    this.lastProgress = clock.now()
  }

  get outstanding (): number { return this.pending.length }

  /** CIDs asked for and not yet answered. */
  get openRequests (): string[] { return this.pending.map(p => p.cid.toString()) }

  /** Requests asked for and not yet answered, with their ids. */
  get openIds (): Array<{ id: bigint, cid: CID }> { return this.pending.map(p => ({ id: p.id, cid: p.cid })) }

  async have (cids: CID[]): Promise<boolean[]> {
    if (!this.open) throw this.closedWith ?? new PeerUnavailableError('closed')
    this.haveQueries++
    if (this.init.autoHave === false) {
      const { promise, resolve } = Promise.withResolvers<void>()
      this.heldHaves.push(resolve)
      await promise
    }
    return cids.map(cid => this.init.holds.some(b => b.cid.equals(cid)))
  }

  /** Answers the HAVE queries held back (`autoHave: false`). */
  answerHaves (): void {
    for (const answer of this.heldHaves.splice(0)) answer()
  }

  request (cid: CID): { id: bigint, result: Promise<Uint8Array | undefined> } {
    if (!this.open) throw this.closedWith ?? new PeerUnavailableError('closed')
    const { promise, resolve, reject } = Promise.withResolvers<Uint8Array | undefined>()
    const id = this.nextId++
    if (this.pending.length === 0) this.lastProgress = this.clock.now()
    this.pending.push({ id, cid, resolve, reject })
    this.asked.push(cid.toString())
    this.maxOutstanding = Math.max(this.maxOutstanding, this.pending.length)
    if (this.init.auto !== false) queueMicrotask(() => { this.answer(cid) })
    return { id, result: promise }
  }

  cancel (id: bigint): void {
    const i = this.pending.findIndex(p => p.id === id)
    if (i < 0) return
    const [p] = this.pending.splice(i, 1)
    this.cancelled.push(p.cid.toString())
    this.givenUp.set(p.id, p.cid)
    p.resolve(undefined)
  }

  silentFor (now: number): number {
    return this.pending.length === 0 ? 0 : now - this.lastProgress
  }

  close (err?: Error): void {
    if (!this.open) return
    this.open = false
    this.closedWith = err ?? new PeerUnavailableError('closed')
    for (const p of this.pending.splice(0)) p.reject(this.closedWith)
    this.ended.resolve(this.closedWith)
  }

  /**
   * Answers request `id`: an open one, or one cancelled after its answer was on its way (its
   * block then goes to `onLateBlock`, as a real channel's does).
   */
  answerId (id: bigint): void {
    const p = this.pending.find(p => p.id === id)
    if (p !== undefined) { this.answer(p.cid); return }
    const cid = this.givenUp.get(id)
    if (cid === undefined || !this.open) return
    this.givenUp.delete(id)
    this.lastProgress = this.clock.now()
    const bytes = this.bytesOf(cid)
    if (bytes !== undefined) this.onLateBlock?.(cid, bytes)
  }

  /** Answers the open request for `cid` as the provider would: its bytes, damaged bytes, or DONT_HAVE. */
  answer (cid: CID): void {
    const i = this.pending.findIndex(p => p.cid.equals(cid))
    if (i < 0) return
    const [p] = this.pending.splice(i, 1)
    this.lastProgress = this.clock.now()
    p.resolve(this.bytesOf(cid))
  }

  /** What the provider sends for `cid`: its bytes (damaged, when it corrupts them), or undefined (DONT_HAVE). */
  private bytesOf (cid: CID): Uint8Array | undefined {
    const block = this.init.holds.find(b => b.cid.equals(cid))
    if (block === undefined || this.init.refuses?.some(c => c.equals(cid)) === true) return undefined
    const bytes = block.bytes.slice()
    if (this.init.corrupts?.some(c => c.equals(cid)) === true) bytes[1] ^= 0xff
    return bytes
  }

  /** Answers the oldest open request. */
  answerNext (): void {
    if (this.pending.length > 0) this.answer(this.pending[0].cid)
  }

  /**
   * The provider's stream ends, as when it goes away: every open request fails; with none
   * open, that is all the session can tell (`endedIdle`), as of a provider's idle timeout.
   */
  leave (): void {
    if (!this.open) return
    this.endedIdle = this.pending.length === 0
    this.close(new PeerUnavailableError(`${this.peer.toString()} closed the exchange stream`))
  }
}

/** Fake providers by peer, and the `openChannel` a session is given to reach them. */
export class FakeNetwork {
  readonly channels = new Map<string, FakeChannel>()
  /** Peers a channel was opened to, in order. */
  readonly opened: string[] = []
  /** Peers whose channel fails to open, as a peer that cannot be dialled. */
  readonly unreachable = new Set<string>()
  /** Peers reached only when looked up anew, as one back on another port. */
  readonly moved = new Set<string>()
  /** Peers a channel was opened to with `lookUp`, in order. */
  readonly lookedUp: string[] = []
  private readonly providers = new Map<string, FakeProviderInit>()

  constructor (private readonly clock: FakeClock) {}

  async provider (seed: number, init: FakeProviderInit): Promise<PeerId> {
    const peer = peerIdFromPrivateKey(await generateKeyPairFromSeed('Ed25519', new Uint8Array(32).fill(seed)))
    this.providers.set(peer.toString(), init)
    return peer
  }

  channel (peer: PeerId): FakeChannel {
    const c = this.channels.get(peer.toString())
    if (c === undefined) throw new Error(`no channel to ${peer.toString()}`)
    return c
  }

  readonly openChannel = async (peer: PeerId, options: OpenChannelOptions = {}): Promise<ExchangeChannel> => {
    this.opened.push(peer.toString())
    if (options.lookUp === true) this.lookedUp.push(peer.toString())
    const init = this.providers.get(peer.toString())
    if (init === undefined || this.unreachable.has(peer.toString())) throw new PeerUnavailableError('no such peer')
    if (this.moved.has(peer.toString()) && options.lookUp !== true) throw new PeerUnavailableError('connection refused at its known address')
    const channel = new FakeChannel(peer, init, this.clock)
    this.channels.set(peer.toString(), channel)
    return channel
  }
}

/** A sink that checks each block against its CID, as the verifying blockstore does. */
export class CheckingSink implements VerifiedSink {
  readonly stored = new Map<string, Uint8Array>()

  async put (cid: CID, bytes: Uint8Array): Promise<void> {
    const actual = cidOf(bytes)
    if (!equals(actual.multihash.bytes, cid.multihash.bytes)) throw new HashMismatchError(cid.toString(), actual.toString())
    this.stored.set(cid.toString(), bytes)
  }
}

const silent = Object.assign(() => {}, { enabled: false, trace: () => {}, error: () => {}, newScope: () => silent }) as unknown as Logger

export const quietLogger: ComponentLogger = { forComponent: () => silent }
