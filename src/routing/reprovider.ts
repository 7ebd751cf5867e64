// Keeps this node's provider records alive: every pinned root is announced again well before
// its record expires, a keyspace region at a time rather than one lookup per root.
//
// Roots are taken in order of their DHT key (SHA-256 of the routing key's multihash, as
// kad-dht places them). A lookup for key y returns the K peers closest to y; at distance r
// for the farthest, every peer nearer to y than r is among them, so the lookup knows every
// peer of the largest subtree of the keyspace (all keys sharing a prefix with y) that lies
// within r of y. When the sibling subtree is known whole as well (one more lookup, from a
// key inside it), their parent is, and once such a region holds at least K peers, the K
// closest peers of any key inside it lie inside it (by the XOR metric a key is nearer to
// every peer sharing a longer prefix with it): each root in the region has its record sent
// to its K nearest peers of the region with no lookup of its own. The region is only built
// where more roots wait in it; a root outside any region gets its own lookup, so a round
// never needs more lookups than roots. Records bound for one peer travel on one stream.
import type { Logger, PeerId } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import { peerKey, placeOf, routingKey } from './keys.js'
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

/** A 32-byte key as a number, for XOR distances. */
function toBig (key: Uint8Array): bigint {
  return BigInt('0x' + Buffer.from(key).toString('hex'))
}

const KEY_BITS = 256

/** Records gathered before they are sent. */
const FLUSH_RECORDS = 16_384

/** Regions kept while the round moves on through the keyspace. */
const REGIONS_KEPT = 16

interface Known { id: PeerId, key: bigint }

/** The keys sharing the first `bits` bits with `key`: a subtree of the keyspace. */
interface Subtree { key: bigint, bits: number }

/** Whether `key` lies in `tree`. */
function inside (tree: Subtree, key: bigint): boolean {
  const shift = BigInt(KEY_BITS - tree.bits)
  return (tree.key >> shift) === (key >> shift)
}

/** A subtree whose peers are all known. */
interface Region extends Subtree { peers: Known[] }

export class Reprovider {
  private timer: NodeJS.Timeout | undefined
  private round: Promise<unknown> | undefined
  private readonly controller = new AbortController()
  lastRound: ReprovideRound | undefined

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
    // Each root's lookup key and its place in the keyspace (its dhtKey), hashed once.
    const ordered = (roots ?? await this.init.roots()).map(cid => {
      const target = routingKey(cid).multihash.bytes
      return { cid, target, key: toBig(placeOf(target)) }
    }).sort((a, b) => a.key < b.key ? -1 : a.key > b.key ? 1 : 0)
    const k = this.routing.k
    const round: ReprovideRound = { at: started, ms: 0, roots: ordered.length, failed: 0, lookups: 0, records: 0, peers: 0 }
    const peersSent = new Set<string>()
    // Regions whose peers are all known and number at least K (the newest last).
    const regions: Region[] = []
    // Records waiting to be sent, by peer, and each root's chosen peers.
    let byPeer = new Map<string, { id: PeerId, roots: CID[] }>()
    let targets: Array<{ root: CID, peers: string[] }> = []
    let waiting = 0

    const flush = async (): Promise<void> => {
      const queue = [...byPeer.values()]
      const delivered = new Set<string>()
      byPeer = new Map()
      const send = async (): Promise<void> => {
        for (let p = queue.shift(); p !== undefined && !signal.aborted; p = queue.shift()) {
          try {
            await this.routing.sendProviderRecords(p.id, p.roots, { signal })
            delivered.add(p.id.toString())
            peersSent.add(p.id.toString())
            round.records += p.roots.length
          } catch (err) {
            this.init.log('records for %d roots to %p failed: %s', p.roots.length, p.id, (err as Error).message)
          }
        }
      }
      await Promise.all(Array.from({ length: this.init.concurrency ?? 10 }, send))
      for (const t of targets) {
        if (!t.peers.some(id => delivered.has(id))) {
          round.failed++
          this.init.log('reprovide of %c failed: no peer took the record', t.root)
        }
      }
      targets = []
      waiting = 0
    }

    /** The K closest peers to `key`, and the subtree around `key` they cover whole. */
    const lookup = async (target: Uint8Array, key = toBig(placeOf(target))): Promise<Region & { closest: Known[] }> => {
      round.lookups++
      const found = await this.routing.closestPeers(target, { signal })
      const closest = nearest(key, found.closest.map(id => ({ id, key: toBig(peerKey(id)) })), k)
      // Fewer than K: the lookup met every peer there is, and the whole keyspace is known.
      if (closest.length < k) return { key, bits: 0, peers: closest, closest }
      const radius = closest[k - 1].key ^ key
      // The largest subtree around `key` within the radius: its farthest key, 2^(256-bits) − 1 away.
      const bits = KEY_BITS - (bitLength(radius + 1n) - 1)
      const tree = { key, bits }
      return { ...tree, peers: closest.filter(p => inside(tree, p.key)), closest }
    }

    /**
     * Every peer in `tree`, from one lookup when they are at most K, else from covering its
     * two halves; undefined when that would take more than `budget` lookups.
     */
    const cover = async (tree: Subtree, budget: { left: number }): Promise<Known[] | undefined> => {
      if (budget.left <= 0) return undefined
      const target = keyIn(tree)
      if (target === undefined) return undefined
      budget.left--
      const found = await lookup(target)
      if (found.bits <= tree.bits) return found.peers.filter(p => inside(tree, p.key))
      const half = 1n << BigInt(KEY_BITS - tree.bits - 1)
      const low = await cover({ key: tree.key & ~half, bits: tree.bits + 1 }, budget)
      const high = low === undefined ? undefined : await cover({ key: tree.key | half, bits: tree.bits + 1 }, budget)
      return high === undefined ? undefined : [...low as Known[], ...high]
    }

    /** Roots from `from` on that lie in `tree` (they are in key order). */
    const pendingIn = (tree: Subtree, from: number): number => {
      let n = 0
      while (from + n < ordered.length && inside(tree, ordered[from + n].key)) n++
      return n
    }

    let visited = 0
    for (const root of ordered) {
      if (signal.aborted) break
      const at = visited++
      const known = regions.find(r => inside(r, root.key))
      let chosen = known !== undefined ? nearest(root.key, known.peers, k) : undefined
      if (chosen === undefined) {
        try {
          const own = await lookup(root.target, root.key)
          chosen = own.closest
          // Grow the subtree the lookup knows whole into a region of at least K peers, one
          // sibling subtree at a time, while more roots wait in it than the lookups it costs.
          let region: Region = own
          let spent = 0
          while (region.peers.length < k && region.bits > 0) {
            const parent = { key: root.key, bits: region.bits - 1 }
            const budget = { left: pendingIn(parent, at + 1) - 1 - spent }
            const before = budget.left
            const sibling = await cover({ key: root.key ^ (1n << BigInt(KEY_BITS - region.bits)), bits: region.bits }, budget)
            spent += before - budget.left
            if (sibling === undefined) break
            region = { ...parent, peers: [...region.peers, ...sibling] }
          }
          // A region of fewer than K peers that spans the whole keyspace is the whole network.
          if (region.peers.length >= k || region.bits === 0) {
            regions.push(region)
            if (regions.length > REGIONS_KEPT) regions.shift()
          }
        } catch (err) {
          this.init.log('lookup for %c failed: %s', root.cid, (err as Error).message)
        }
      }
      if (chosen === undefined || chosen.length === 0) {
        round.failed++
        this.init.log('reprovide of %c failed: no DHT peer found', root.cid)
        continue
      }
      targets.push({ root: root.cid, peers: chosen.map(p => p.id.toString()) })
      for (const p of chosen) {
        const entry = byPeer.get(p.id.toString()) ?? { id: p.id, roots: [] }
        entry.roots.push(root.cid)
        byPeer.set(p.id.toString(), entry)
      }
      waiting += chosen.length
      if (waiting >= FLUSH_RECORDS) await flush()
    }
    await flush()
    // Roots an abort left unvisited.
    round.failed += ordered.length - visited
    round.peers = peersSent.size
    round.ms = Date.now() - started
    this.lastRound = round
    this.init.log('reprovided %d roots in %d ms: %d lookups, %d records to %d peers, %d failed', round.roots, round.ms, round.lookups, round.records, round.peers, round.failed)
    return round
  }
}

function bitLength (n: bigint): number {
  return n === 0n ? 0 : n.toString(2).length
}

/** Tries at most this many keys for one that hashes into a subtree (subtrees up to 16 bits deep: networks of about a million nodes). */
const KEY_SEARCH = 1 << 17

/**
 * A lookup key whose place in the keyspace (kad-dht hashes the key it is given) lies in
 * `tree`: found by trying counters, about 2^bits hashes; undefined past KEY_SEARCH.
 */
function keyIn (tree: Subtree): Uint8Array | undefined {
  const key = Buffer.alloc(8)
  for (let i = 0; i < KEY_SEARCH; i++) {
    key.writeUInt32BE(i, 4)
    if (inside(tree, toBig(placeOf(key)))) return new Uint8Array(key)
  }
  return undefined
}

/** `peers` ordered by XOR distance to `key`, nearest first, at most `k` of them. */
function nearest (key: bigint, peers: Known[], k: number): Known[] {
  return peers.map(p => ({ p, d: p.key ^ key })).sort((a, b) => a.d < b.d ? -1 : a.d > b.d ? 1 : 0).slice(0, k).map(x => x.p)
}
