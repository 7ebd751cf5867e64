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
// to its K nearest peers of the region with no lookup of its own. A region is only built
// where other roots wait in it, and a lookup that builds it is made from a waiting root's own
// key where one lies in the subtree to learn (placing that root as its own lookup would);
// a key that is no root's is looked up only against roots already placed with no lookup.
// So a round never makes more lookups than it has roots. A lookup that met fewer than K
// peers because some did not answer knows no region. Records bound for one peer travel on
// one stream.
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
      return { cid, target, key: toBig(placeOf(target)), chosen: undefined as Known[] | undefined }
    }).sort((a, b) => a.key < b.key ? -1 : a.key > b.key ? 1 : 0)
    const k = this.routing.k
    const round: ReprovideRound = { at: started, ms: 0, roots: ordered.length, failed: 0, lookups: 0, records: 0, peers: 0 }
    const peersSent = new Set<string>()
    // Regions whose peers are all known and number at least K (the newest last).
    const regions: Region[] = []
    // Records waiting to be sent, by peer, and each root's chosen peers.
    let byPeer = new Map<string, { id: PeerId, keys: Array<Uint8Array<ArrayBuffer>> }>()
    let targets: Array<{ root: CID, peers: string[] }> = []
    let waiting = 0

    const flush = async (): Promise<void> => {
      const queue = [...byPeer.values()]
      const delivered = new Set<string>()
      byPeer = new Map()
      const send = async (): Promise<void> => {
        for (let p = queue.shift(); p !== undefined && !signal.aborted; p = queue.shift()) {
          try {
            await this.routing.sendProviderRecords(p.id, p.keys, { signal })
            delivered.add(p.id.toString())
            peersSent.add(p.id.toString())
            round.records += p.keys.length
          } catch (err) {
            this.init.log('records for %d roots to %p failed: %s', p.keys.length, p.id, (err as Error).message)
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

    /**
     * The K closest peers to `key`, and the subtree around `key` they cover whole; `partial`
     * when some peers asked did not answer and fewer than K were found, so no subtree is known.
     */
    const lookup = async (target: Uint8Array, key = toBig(placeOf(target))): Promise<Region & { closest: Known[], partial: boolean }> => {
      round.lookups++
      const found = await this.routing.closestPeers(target, { signal })
      const closest = nearest(key, found.closest.map(id => ({ id, key: toBig(peerKey(id)) })), k)
      if (closest.length < k) {
        // Every peer asked answered and fewer than K were found: the lookup met every peer
        // there is, and the whole keyspace is known. Otherwise it knows no region at all.
        const partial = found.responses < found.queries
        return { key, bits: partial ? KEY_BITS : 0, peers: partial ? [] : closest, closest, partial }
      }
      const radius = closest[k - 1].key ^ key
      // The largest subtree around `key` within the radius: its farthest key, 2^(256-bits) − 1 away.
      const bits = KEY_BITS - (bitLength(radius + 1n) - 1)
      const tree = { key, bits }
      return { ...tree, peers: closest.filter(p => inside(tree, p.key)), closest, partial: false }
    }

    // Lookups from keys that are no root's (to learn a subtree no root waits in) are paid for
    // by roots placed through a region with no lookup at all, and only after: with every other
    // lookup some root's own, a round never makes more lookups than it has roots.
    let credit = 0

    /** The first root after `after` lying in `tree` that has no peers chosen yet. */
    const waitingIn = (tree: Subtree, after: number): typeof ordered[number] | undefined => {
      const shift = BigInt(KEY_BITS - tree.bits)
      const low = (tree.key >> shift) << shift
      let lo = after + 1
      let hi = ordered.length
      while (lo < hi) {
        const mid = (lo + hi) >> 1
        if (ordered[mid].key < low) lo = mid + 1
        else hi = mid
      }
      for (let i = lo; i < ordered.length && inside(tree, ordered[i].key); i++) if (ordered[i].chosen === undefined) return ordered[i]
      return undefined
    }

    /**
     * Every peer in `tree`, from one lookup when they are at most K, else from covering its
     * two halves; undefined when a half cannot be covered. A lookup is made from the key of a
     * root waiting in the subtree, which it places exactly as that root's own lookup would;
     * only where no root waits, from a key hashed into the subtree, against the credit.
     */
    const cover = async (tree: Subtree, after: number): Promise<Known[] | undefined> => {
      const root = waitingIn(tree, after)
      let found
      if (root !== undefined) {
        found = await lookup(root.target, root.key)
        root.chosen = found.closest
      } else {
        if (credit <= 0) return undefined
        const target = keyIn(tree)
        if (target === undefined) return undefined
        credit--
        found = await lookup(target)
      }
      if (found.partial) return undefined
      if (found.bits <= tree.bits) return found.peers.filter(p => inside(tree, p.key))
      const half = 1n << BigInt(KEY_BITS - tree.bits - 1)
      const low = await cover({ key: tree.key & ~half, bits: tree.bits + 1 }, after)
      const high = low === undefined ? undefined : await cover({ key: tree.key | half, bits: tree.bits + 1 }, after)
      return low === undefined || high === undefined ? undefined : [...low, ...high]
    }

    let visited = 0
    for (const root of ordered) {
      if (signal.aborted) break
      const at = visited++
      // Placed already by a lookup made from its key while a region was being built.
      let chosen = root.chosen
      const known = chosen === undefined ? regions.find(r => inside(r, root.key)) : undefined
      if (known !== undefined) {
        chosen = nearest(root.key, known.peers, k)
        credit++
      }
      if (chosen === undefined) {
        try {
          const own = await lookup(root.target, root.key)
          chosen = own.closest
          // Grow the subtree the lookup knows whole into a region of at least K peers, one
          // sibling subtree at a time, while more roots wait in the parent than this one.
          let region: Region = own
          while (!own.partial && region.peers.length < k && region.bits > 0) {
            const parent = { key: root.key, bits: region.bits - 1 }
            if (waitingIn(parent, at) === undefined) break
            const sibling = await cover({ key: root.key ^ (1n << BigInt(KEY_BITS - region.bits)), bits: region.bits }, at)
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
        const entry = byPeer.get(p.id.toString()) ?? { id: p.id, keys: [] }
        entry.keys.push(root.target)
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
