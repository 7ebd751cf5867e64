// Where a reprovide round sends each root's provider record, a keyspace region at a time
// rather than one lookup per root: a plan that knows no network and no DHT, only the roots'
// places in the keyspace and what the lookups it asked for returned.
//
// Roots are taken in order of their place (their DHT key). A lookup for key y returns the K
// peers closest to y; at distance r for the farthest, every peer nearer to y than r is among
// them, so the lookup knows every peer of the largest subtree of the keyspace (all keys
// sharing a prefix with y) that lies within r of y. When the sibling subtree is known whole
// as well (one more lookup, from a key inside it), their parent is, and once such a region
// holds at least K peers, the K closest peers of any key inside it lie inside it (by the XOR
// metric a key is nearer to every peer sharing a longer prefix with it): each root in the
// region has its record sent to its K nearest peers of the region with no lookup of its own.
// A region is only built where other roots wait in it, and a lookup that builds it is made
// from a waiting root's own key where one lies in the subtree to learn (placing that root as
// its own lookup would); a key that is no root's is looked up only against roots already
// placed with no lookup. So a round never makes more lookups than it has roots. A lookup that
// met fewer than K peers because some did not answer knows no region.
//
// The plan is a generator of steps: a `lookup` step is resumed with what the lookup returned
// (or, when the lookup failed, thrown into with its error); a `place` or `unplaced` step
// closes one root's turn, in keyspace order.
import { InvalidArgumentError } from '../errors.js'

export const KEY_BITS = 256

/** Regions kept while the round moves on through the keyspace. */
const REGIONS_KEPT = 16

/** Tries at most this many keys for one that hashes into a subtree (subtrees up to 16 bits deep: networks of about a million nodes). */
const KEY_SEARCH = 1 << 17

/** A 32-byte key as a number, for XOR distances. */
export function toBig (key: Uint8Array): bigint {
  return BigInt('0x' + Buffer.from(key).toString('hex'))
}

/** A peer and its place in the keyspace. */
export interface Known<P> { id: P, key: bigint }

/** A root to place: the key its lookup is made for (its routing key) and that key's place. */
export interface PlanRoot<R> { root: R, target: Uint8Array<ArrayBuffer>, key: bigint }

/** What a lookup returned. */
export interface LookupAnswer<P> {
  /** The closest peers it met, in any order. */
  closest: Array<Known<P>>
  /** Some peers asked did not answer. */
  incomplete: boolean
}

export type PlanStep<R, P> =
  /** Look up the peers closest to `target` (whose place is `key`), in `root`'s turn. */
  | { kind: 'lookup', root: R, target: Uint8Array<ArrayBuffer>, key: bigint }
  /** Send `root`'s record (for `target`) to `peers`. */
  | { kind: 'place', root: R, target: Uint8Array<ArrayBuffer>, peers: Array<Known<P>> }
  /** No peer was found for `root`. */
  | { kind: 'unplaced', root: R }

export interface PlanInit {
  /** The DHT's replication factor: how many of the closest peers hold each record. */
  k: number
  /** Where the DHT places a key it is given, to find lookup keys inside a subtree. */
  placeOf: (key: Uint8Array) => Uint8Array
}

/** The keys sharing the first `bits` bits with `key`: a subtree of the keyspace. */
interface Subtree { key: bigint, bits: number }

/** A subtree whose peers are all known. */
interface Region<P> extends Subtree { peers: Array<Known<P>> }

/** A lookup's closest peers and the subtree around its key they cover whole. */
interface Found<P> extends Region<P> { closest: Array<Known<P>>, partial: boolean }

interface Planned<R, P> extends PlanRoot<R> {
  /** Set when a lookup made from this root's key while building a region placed it. */
  chosen?: Array<Known<P>>
}

type Steps<R, P, T> = Generator<PlanStep<R, P>, T, LookupAnswer<P> | undefined>

export class ReprovidePlan<R, P> {
  private readonly ordered: Array<Planned<R, P>>
  /** Regions whose peers are all known and number at least K (the newest last). */
  private readonly regions: Array<Region<P>> = []
  /**
   * Lookups from keys that are no root's (to learn a subtree no root waits in) are paid for
   * by roots placed through a region with no lookup at all, and only after: with every other
   * lookup some root's own, a round never makes more lookups than it has roots.
   */
  private credit = 0

  constructor (roots: Array<PlanRoot<R>>, private readonly init: PlanInit) {
    this.ordered = roots.map(r => ({ ...r })).sort((a, b) => a.key < b.key ? -1 : a.key > b.key ? 1 : 0)
  }

  /** Every root's turn, in keyspace order: the lookups it needs, then its place. */
  * steps (): Steps<R, P, void> {
    for (let at = 0; at < this.ordered.length; at++) {
      const root = this.ordered[at]
      const chosen = yield * this.choose(root, at)
      if (chosen === undefined || chosen.length === 0) yield { kind: 'unplaced', root: root.root }
      else yield { kind: 'place', root: root.root, target: root.target, peers: chosen }
    }
  }

  /** The peers `root` (the `at`-th) goes to: placed already, from a known region, or looked up. */
  private * choose (root: Planned<R, P>, at: number): Steps<R, P, Array<Known<P>> | undefined> {
    if (root.chosen !== undefined) return root.chosen
    const known = this.regions.find(r => inside(r, root.key))
    if (known !== undefined) {
      this.credit++
      return nearest(root.key, known.peers, this.init.k)
    }
    let chosen: Array<Known<P>> | undefined
    try {
      const own = yield * this.lookup(root, root.target, root.key)
      chosen = own.closest
      const region = yield * this.grow(own, root, at)
      // A region of fewer than K peers that spans the whole keyspace is the whole network.
      if (region.peers.length >= this.init.k || region.bits === 0) {
        this.regions.push(region)
        if (this.regions.length > REGIONS_KEPT) this.regions.shift()
      }
    } catch (err) {
      if (err instanceof InvalidArgumentError) throw err
      // A failed lookup is the driver's to report; the root keeps what was found before it.
    }
    return chosen
  }

  /**
   * Grows the subtree `own` knows whole towards a region of at least K peers, one sibling
   * subtree at a time, while more roots wait in the parent than `root`.
   */
  private * grow (own: Found<P>, root: Planned<R, P>, at: number): Steps<R, P, Region<P>> {
    let region: Region<P> = own
    while (!own.partial && region.peers.length < this.init.k && region.bits > 0) {
      const parent = { key: root.key, bits: region.bits - 1 }
      if (this.waitingIn(parent, at) === undefined) break
      const sibling = yield * this.cover({ key: root.key ^ (1n << BigInt(KEY_BITS - region.bits)), bits: region.bits }, at, root)
      if (sibling === undefined) break
      region = { ...parent, peers: [...region.peers, ...sibling] }
    }
    return region
  }

  /**
   * Every peer in `tree`, from one lookup when they are at most K, else from covering its
   * two halves; undefined when a half cannot be covered. A lookup is made from the key of a
   * root waiting in the subtree, which it places exactly as that root's own lookup would;
   * only where no root waits, from a key hashed into the subtree, against the credit.
   */
  private * cover (tree: Subtree, after: number, turn: Planned<R, P>): Steps<R, P, Array<Known<P>> | undefined> {
    const root = this.waitingIn(tree, after)
    let found
    if (root !== undefined) {
      found = yield * this.lookup(turn, root.target, root.key)
      root.chosen = found.closest
    } else {
      if (this.credit <= 0) return undefined
      const target = this.keyIn(tree)
      if (target === undefined) return undefined
      this.credit--
      found = yield * this.lookup(turn, target, toBig(this.init.placeOf(target)))
    }
    if (found.partial) return undefined
    if (found.bits <= tree.bits) return found.peers.filter(p => inside(tree, p.key))
    const half = 1n << BigInt(KEY_BITS - tree.bits - 1)
    const low = yield * this.cover({ key: tree.key & ~half, bits: tree.bits + 1 }, after, turn)
    const high = low === undefined ? undefined : yield * this.cover({ key: tree.key | half, bits: tree.bits + 1 }, after, turn)
    return low === undefined || high === undefined ? undefined : [...low, ...high]
  }

  /**
   * Asks for a lookup of `target` (placed at `key`) and reads its answer: the K closest peers,
   * and the subtree around `key` they cover whole; `partial` when some peers asked did not
   * answer and fewer than K were found, so no subtree is known.
   */
  private * lookup (turn: Planned<R, P>, target: Uint8Array<ArrayBuffer>, key: bigint): Steps<R, P, Found<P>> {
    const answer = yield { kind: 'lookup', root: turn.root, target, key }
    if (answer === undefined) throw new InvalidArgumentError('a lookup step was resumed without its answer')
    const k = this.init.k
    const closest = nearest(key, answer.closest, k)
    if (closest.length < k) {
      // Every peer asked answered and fewer than K were found: the lookup met every peer
      // there is, and the whole keyspace is known. Otherwise it knows no region at all.
      const partial = answer.incomplete
      return { key, bits: partial ? KEY_BITS : 0, peers: partial ? [] : closest, closest, partial }
    }
    const radius = closest[k - 1].key ^ key
    // The largest subtree around `key` within the radius: its farthest key, 2^(256-bits) − 1 away.
    const bits = KEY_BITS - (bitLength(radius + 1n) - 1)
    const tree = { key, bits }
    return { ...tree, peers: closest.filter(p => inside(tree, p.key)), closest, partial: false }
  }

  /** The first root after the `after`-th lying in `tree` that has no peers chosen yet. */
  private waitingIn (tree: Subtree, after: number): Planned<R, P> | undefined {
    const shift = BigInt(KEY_BITS - tree.bits)
    const low = (tree.key >> shift) << shift
    let lo = after + 1
    let hi = this.ordered.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (this.ordered[mid].key < low) lo = mid + 1
      else hi = mid
    }
    for (let i = lo; i < this.ordered.length && inside(tree, this.ordered[i].key); i++) {
      if (this.ordered[i].chosen === undefined) return this.ordered[i]
    }
    return undefined
  }

  /**
   * A lookup key whose place in the keyspace (the DHT hashes the key it is given) lies in
   * `tree`: found by trying counters, about 2^bits hashes; undefined past KEY_SEARCH.
   */
  private keyIn (tree: Subtree): Uint8Array<ArrayBuffer> | undefined {
    const key = Buffer.alloc(8)
    for (let i = 0; i < KEY_SEARCH; i++) {
      key.writeUInt32BE(i, 4)
      if (inside(tree, toBig(this.init.placeOf(key)))) return new Uint8Array(key)
    }
    return undefined
  }
}

/** Whether `key` lies in `tree`. */
function inside (tree: Subtree, key: bigint): boolean {
  const shift = BigInt(KEY_BITS - tree.bits)
  return (tree.key >> shift) === (key >> shift)
}

function bitLength (n: bigint): number {
  return n === 0n ? 0 : n.toString(2).length
}

/** `peers` ordered by XOR distance to `key`, nearest first, at most `k` of them. */
export function nearest<P> (key: bigint, peers: Array<Known<P>>, k: number): Array<Known<P>> {
  return peers.map(p => ({ p, d: p.key ^ key })).sort((a, b) => a.d < b.d ? -1 : a.d > b.d ? 1 : 0).slice(0, k).map(x => x.p)
}
