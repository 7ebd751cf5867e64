// Keeps this node's provider records alive: every pinned root is announced again well before
// its record expires, a keyspace region at a time rather than one lookup per root. Where
// each record goes is decided by the plan (reprovide-plan.ts); a round here makes the
// lookups the plan asks for and sends the records it places, those bound for one peer on
// one stream.
import type { Logger, PeerId } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import { peerKey, placeOf, routingKey } from './kad-compat.js'
import { ReprovidePlan, toBig, type LookupAnswer, type PlanRoot, type PlanStep } from './reprovide-plan.js'
import type { Routing } from './routing.js'

export interface ReproviderInit {
  /** The roots to keep provided (the repo's pins). */
  roots: () => Promise<CID[]>
  /** Time between rounds; a round starts at once when the node starts. */
  interval: number
  /** Peers sent their records at once. */
  concurrency?: number
  log: Logger
}

/** What one round did. */
export interface ReprovideRound {
  at: number
  ms: number
  roots: number
  /** Roots no peer took a record of. */
  failed: number
  /** DHT lookups made (for roots and for the regions around them). */
  lookups: number
  /** Provider records delivered, to all peers together. */
  records: number
  /** Distinct peers sent records. */
  peers: number
}

/** Records gathered before they are sent. */
const FLUSH_RECORDS = 16_384

export class Reprovider {
  private timer: NodeJS.Timeout | undefined
  private round: Promise<unknown> | undefined
  private readonly controller = new AbortController()
  lastRound: ReprovideRound | undefined
  /** Rounds run since the node started. */
  rounds = 0

  constructor (private readonly routing: Routing, private readonly init: ReproviderInit) {}

  start (): void {
    const tick = (): void => {
      this.round ??= this.provideAll().catch(err => { this.init.log('reprovide round failed: %s', (err as Error).message) }).finally(() => { this.round = undefined })
    }
    this.timer = setInterval(tick, this.init.interval)
    this.timer.unref()
    tick()
  }

  async stop (): Promise<void> {
    clearInterval(this.timer)
    this.controller.abort()
    await this.round?.catch(() => {})
  }

  /** Announces `roots` (default: the pinned ones) again, region by region. */
  async provideAll (roots?: CID[], options: { signal?: AbortSignal } = {}): Promise<ReprovideRound> {
    const started = Date.now()
    const signal = options.signal !== undefined ? AbortSignal.any([options.signal, this.controller.signal]) : this.controller.signal
    const all = roots ?? await this.init.roots()
    // Before any lookup: the first round runs as the node starts, and kad-dht's reprovider
    // first looks for expired records of this node's own one cleanup interval later. Only a
    // round of every pinned root knows which records of its own are stale.
    await this.routing.nameSelf(all, { signal })
    if (roots === undefined) await this.routing.withdrawAllBut(all, { since: started, signal })
    // Each root's lookup key and its place in the keyspace (its dhtKey), hashed once.
    const planned: Array<PlanRoot<CID>> = all.map(cid => {
      const target = routingKey(cid).multihash.bytes
      return { root: cid, target, key: toBig(placeOf(target)) }
    })
    const round: ReprovideRound = { at: started, ms: 0, roots: planned.length, failed: 0, lookups: 0, records: 0, peers: 0 }
    const records = new RecordBatch(this.routing, round, this.init, signal)
    const steps = new ReprovidePlan<CID, PeerId>(planned, { k: this.routing.k, placeOf }).steps()
    let visited = 0
    // An abort ends the round between two roots' turns, never inside one.
    let next = signal.aborted ? undefined : steps.next()
    while (next !== undefined && next.done !== true) {
      const step: PlanStep<CID, PeerId> = next.value
      if (step.kind === 'lookup') {
        round.lookups++
        const answer = await this.lookup(step.target, signal).catch((err: Error) => err)
        if (answer instanceof Error) this.init.log('lookup for %c failed: %s', step.root, answer.message)
        next = answer instanceof Error ? steps.throw(answer) : steps.next(answer)
        continue
      }
      visited++
      if (step.kind === 'unplaced') {
        round.failed++
        this.init.log('reprovide of %c failed: no DHT peer found', step.root)
      } else {
        records.add(step.root, step.target, step.peers.map(p => p.id))
        if (records.waiting >= FLUSH_RECORDS) await records.flush()
      }
      next = signal.aborted ? undefined : steps.next()
    }
    steps.return()
    await records.flush()
    // Roots an abort left unvisited.
    round.failed += planned.length - visited
    round.peers = records.peersSent.size
    round.ms = Date.now() - started
    this.lastRound = round
    this.rounds++
    this.init.log('reprovided %d roots in %d ms: %d lookups, %d records to %d peers, %d failed', round.roots, round.ms, round.lookups, round.records, round.peers, round.failed)
    return round
  }

  /** The closest peers to `target` the DHT finds, each with its place in the keyspace. */
  private async lookup (target: Uint8Array, signal: AbortSignal): Promise<LookupAnswer<PeerId>> {
    const found = await this.routing.closestPeers(target, { signal })
    return {
      closest: found.closest.map(id => ({ id, key: toBig(peerKey(id)) })),
      incomplete: found.responses < found.queries
    }
  }
}

/** Records placed and not yet sent, by peer, and the peers each root's record went to. */
class RecordBatch {
  private byPeer = new Map<string, { id: PeerId, keys: Array<Uint8Array<ArrayBuffer>> }>()
  private targets: Array<{ root: CID, peers: string[] }> = []
  /** Records waiting to be sent. */
  waiting = 0
  /** Distinct peers that took records this round. */
  readonly peersSent = new Set<string>()

  constructor (
    private readonly routing: Routing,
    private readonly round: ReprovideRound,
    private readonly init: ReproviderInit,
    private readonly signal: AbortSignal
  ) {}

  /** Queues `root`'s record (under its routing key `target`) for each of `peers`. */
  add (root: CID, target: Uint8Array<ArrayBuffer>, peers: PeerId[]): void {
    this.targets.push({ root, peers: peers.map(id => id.toString()) })
    for (const id of peers) {
      const entry = this.byPeer.get(id.toString()) ?? { id, keys: [] }
      entry.keys.push(target)
      this.byPeer.set(id.toString(), entry)
    }
    this.waiting += peers.length
  }

  /** Sends what waits, `concurrency` peers at once; a root no peer took counts as failed. */
  async flush (): Promise<void> {
    const queue = [...this.byPeer.values()]
    const delivered = new Set<string>()
    this.byPeer = new Map()
    const send = async (): Promise<void> => {
      for (let p = queue.shift(); p !== undefined && !this.signal.aborted; p = queue.shift()) {
        try {
          await this.routing.sendProviderRecords(p.id, p.keys, { signal: this.signal })
          delivered.add(p.id.toString())
          this.peersSent.add(p.id.toString())
          this.round.records += p.keys.length
        } catch (err) {
          this.init.log('records for %d roots to %p failed: %s', p.keys.length, p.id, (err as Error).message)
        }
      }
    }
    await Promise.all(Array.from({ length: this.init.concurrency ?? 10 }, send))
    for (const t of this.targets) {
      if (!t.peers.some(id => delivered.has(id))) {
        this.round.failed++
        this.init.log('reprovide of %c failed: no peer took the record', t.root)
      }
    }
    this.targets = []
    this.waiting = 0
  }
}
