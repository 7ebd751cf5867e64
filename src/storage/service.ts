// Storage on other peers, wired: the holder's side (offer, leases), the owner's (spread,
// status, release) and the owner daemon's loop, which every `interval` renews the leases of
// the roots it still pins and repairs those that lost blocks (one root at a time, at most
// `maxRepairBlocks` blocks moved per round, every round visible in `rounds`).
import type { ComponentLogger, Logger } from '@libp2p/interface'
import { CID } from 'multiformats/cid'
import { NotPinnedError, NotSpreadError } from '../errors.js'
import type { BlockSource } from '../files/exporter.js'
import { careFor, heldHealth, type CaretakerComponents, type CareReport } from './caretaker.js'
import { DEFAULT_LEASE, OFFER_KEY } from './constants.js'
import { healthOf, probe, type HealthReport } from './health.js'
import { StorageHolder, type HolderComponents } from './holder.js'
import { fileLayout } from './layout.js'
import { ownerAway, TAKE_OVER_AFTER } from './leases.js'
import { StorageOwner, type OwnerComponents } from './owner.js'
import { Pacer } from './pacer.js'
import { SpreadBook } from './records.js'
import { renewRecord, repairRecord } from './repair.js'
import { spreadFile } from './spread.js'

export interface StorageServiceComponents extends Omit<OwnerComponents, 'libp2p'>, Omit<HolderComponents, 'libp2p'>, Pick<CaretakerComponents, 'open' | 'store'> {
  libp2p: OwnerComponents['libp2p'] & HolderComponents['libp2p']
  book: SpreadBook
  /** The repo's blocks, to read a root's DAG from. */
  source: BlockSource
  isPinned: (root: CID) => Promise<boolean>
  /** Bytes the exchange has sent so far (what a spread cost). */
  sentBytes: () => number
  logger: ComponentLogger
}

export interface StorageServiceInit {
  /** Time between renew-and-repair rounds, ms; 0 runs none. */
  interval: number
  /** Most blocks one repair round moves. */
  maxRepairBlocks?: number
  /** Bytes a second repair traffic may move, owner's and holder's repairs together; 0 or absent: unpaced. */
  repairRate?: number
}

export interface SpreadResult {
  cid: string
  /** Blocks per stripe (k + m), and as many distinct holders as every stripe got (k + m: no two blocks of a stripe share one). */
  shards: number
  distinct: number
  /** Distinct holders used in all. */
  holders: number
  stripes: Array<{ index: number, holders: string[] }>
  nodes: Array<{ cid: string, holders: string[] }>
  refused: Array<{ holder: string, reason: string }>
  bytesSent: number
  expires: number
  ms: number
}

/** A repair of one root, as its status shows it: when, blocks placed anew, bytes sent, what the round found. */
export interface RepairRecord { at: number, blocks: number, bytesSent: number, found: string }

/** What `status` reports: the health of each stripe, and the repairs this daemon made. */
export type SpreadStatus = HealthReport & { repairs: RepairRecord[] }

/** One renew-and-repair round: over every spread root, then over the roots held for away owners. */
export interface RepairRound { at: number, renewed: number, repaired: Array<{ cid: string, blocks: number, bytesSent: number, health: string }>, cared: CareReport[] }

const MAX_ROUNDS_KEPT = 20

/** Blocks one repair round moves at most, unless the init says otherwise. */
const DEFAULT_REPAIR_BLOCKS = 4096

export class StorageService {
  readonly holder: StorageHolder
  readonly owner: StorageOwner
  readonly rounds: RepairRound[] = []
  /** The part of a lease's term after which, unrenewed, this node takes over its upkeep (TAKE_OVER_AFTER). */
  takeOverAfter = TAKE_OVER_AFTER
  private timer: NodeJS.Timeout | undefined
  private running: Promise<void> | undefined
  private readonly stopping = new AbortController()
  private readonly log: Logger
  private readonly pacer: Pacer

  constructor (private readonly c: StorageServiceComponents, private readonly init: StorageServiceInit) {
    this.holder = new StorageHolder(c)
    this.owner = new StorageOwner(c)
    this.log = c.logger.forComponent('peerlink:storage:owner')
    this.pacer = new Pacer(init.repairRate ?? 0)
  }

  async start (): Promise<void> {
    await this.holder.start()
    if (this.c.offer > 0) void this.c.announce(OFFER_KEY).catch(() => {})
    if (this.init.interval > 0) {
      this.timer = setInterval(() => { this.running ??= this.round().then(() => {}, () => {}).finally(() => { this.running = undefined }) }, this.init.interval)
      this.timer.unref()
    }
  }

  async stop (): Promise<void> {
    clearInterval(this.timer)
    this.stopping.abort()
    await this.running?.catch(() => {})
    await this.holder.stop()
  }

  /** The roots to announce: those some lease keeps, and the offer's key when space is offered. */
  announced (): CID[] {
    return this.c.offer > 0 ? [OFFER_KEY, ...this.c.leases.roots()] : this.c.leases.roots()
  }

  async spread (root: CID, options: { signal?: AbortSignal, lease?: number } = {}): Promise<SpreadResult> {
    if (!await this.c.isPinned(root)) throw new NotPinnedError(root.toString())
    const started = Date.now()
    const sent = this.c.sentBytes()
    const layout = await fileLayout(this.c.source, root, options)
    const holders = await this.owner.findHolders(options)
    const { record, refused } = await spreadFile(this.owner, root, layout, holders, { signal: options.signal, lease: options.lease ?? DEFAULT_LEASE })
    await this.c.book.put(record)
    // A tree of empty files has no stripe, only DAG nodes.
    const shards = Math.max(0, ...record.stripes.map(s => s.blocks.length))
    // A short last stripe has fewer blocks: what counts is how many of a stripe's blocks share a holder.
    const shared = Math.max(0, ...record.stripes.map(s => s.blocks.length - new Set(s.holders).size))
    return {
      cid: root.toString(),
      shards,
      distinct: shards - shared,
      holders: SpreadBook.byHolder(record).size,
      stripes: record.stripes.map((s, index) => ({ index, holders: s.holders })),
      nodes: record.nodes.map(n => ({ cid: n.cid, holders: n.holders })),
      refused,
      bytesSent: this.c.sentBytes() - sent,
      expires: record.expires,
      ms: Date.now() - started
    }
  }

  /**
   * How a spread root stands now: from the record of this node's spread, or, for a root it
   * holds blocks of for another, from what the root's providers have, with this node's
   * repairs of it. NotSpreadError when it did neither.
   */
  async status (root: CID, options: { signal?: AbortSignal } = {}): Promise<SpreadStatus> {
    const key = root.toString()
    const record = this.c.book.get(key)
    if (record === undefined) {
      const leases = this.c.leases.list().filter(l => l.root === key)
      if (leases.length === 0) throw new NotSpreadError(key)
      const repairs = this.rounds.flatMap(r => r.cared.filter(x => x.root === key && x.blocks > 0).map(x => ({ at: x.at, blocks: x.blocks, bytesSent: x.bytes, found: 'degraded' })))
      return { ...await heldHealth(this.caretaker(), root, Math.max(...leases.map(l => l.expires)), options), repairs }
    }
    const repairs = this.rounds.flatMap(r => r.repaired.filter(x => x.cid === key && x.blocks > 0).map(x => ({ at: r.at, blocks: x.blocks, bytesSent: x.bytesSent, found: x.health })))
    return { ...healthOf(record, await probe(this.owner, root, record, options)), repairs }
  }

  /** Whether this node spread a root, and how it stood at the last round (for `ls`). */
  spreadRoots (): Map<string, string | undefined> {
    const last = new Map<string, string>()
    for (const r of this.rounds) for (const x of r.repaired) last.set(x.cid, x.health)
    return new Map(this.c.book.list().map(r => [r.root, last.get(r.root)]))
  }

  /** Ends every lease of a root (it was removed here); holders that cannot be reached let theirs expire. */
  async release (root: CID, options: { signal?: AbortSignal } = {}): Promise<void> {
    const record = await this.c.book.delete(root.toString())
    if (record === undefined) return
    await Promise.all([...SpreadBook.byHolder(record).keys()].map(async h => await this.owner.release(h, root, options)))
  }

  /** One renew-and-repair round over the roots this node spread and still pins. */
  async round (): Promise<RepairRound> {
    const signal = this.stopping.signal
    // Kept from the start, so a repair shows in `status` as soon as it is made.
    const round: RepairRound = { at: Date.now(), renewed: 0, repaired: [], cared: [] }
    this.rounds.push(round)
    if (this.rounds.length > MAX_ROUNDS_KEPT) this.rounds.shift()
    let holders: ReturnType<StorageOwner['findHolders']> | undefined
    const findHolders = async (): ReturnType<StorageOwner['findHolders']> => await (holders ??= this.owner.findHolders({ signal }))
    for (const record of this.c.book.list()) {
      if (signal.aborted) break
      const root = CID.parse(record.root)
      if (!await this.c.isPinned(root)) continue
      try {
        // Renewed once half the lease has passed.
        if (record.expires - Date.now() < record.lease / 2) {
          await renewRecord(this.owner, root, record, { signal })
          round.renewed++
        }
        const sent = this.c.sentBytes()
        const r = await repairRecord(this.owner, root, record, findHolders, { signal, maxBlocks: this.init.maxRepairBlocks ?? DEFAULT_REPAIR_BLOCKS, pacer: this.pacer })
        await this.c.book.put(record)
        round.repaired.push({ cid: record.root, blocks: r.blocks, bytesSent: this.c.sentBytes() - sent, health: r.health })
      } catch (err) {
        if (!signal.aborted) this.log('upkeep of %s failed: %s', record.root, (err as Error).message)
      }
    }
    await this.careRound(round, signal)
    return round
  }

  /** The upkeep of the roots held for owners that look away, one root at a time. */
  private async careRound (round: RepairRound, signal: AbortSignal): Promise<void> {
    const cared = new Set<string>()
    for (const lease of this.c.leases.list()) {
      if (signal.aborted) break
      if (!ownerAway(lease, Date.now(), this.takeOverAfter) || cared.has(lease.root) || this.c.book.get(lease.root) !== undefined) continue
      cared.add(lease.root)
      try {
        const report = await careFor(this.caretaker(), lease, { signal })
        round.cared.push(report)
        if (report.degraded > 0) this.log('%s (owner %s away): %d of %d stripes held here lost blocks, %d repaired here (%d blocks, %d bytes), %d lost', lease.root, lease.owner, report.degraded, report.watched, report.repaired, report.blocks, report.bytes, report.lost)
      } catch (err) {
        if (!signal.aborted) this.log('upkeep of %s for %s failed: %s', lease.root, lease.owner, (err as Error).message)
      }
    }
  }

  private caretaker (): CaretakerComponents {
    const c = this.c
    return { self: c.libp2p.peerId.toString(), owner: this.owner, leases: c.leases, findProviders: c.findProviders, has: c.has, open: c.open, store: c.store, pacer: this.pacer, log: this.log }
  }
}
