// Where a spread file's blocks live: a pure function of a placement key and the holders known,
// so the owner, a holder and a fetcher that know the same holders compute the same places.
//
// Positions are Kademlia's: sha256 of the key bytes and sha256 of a holder's peer id bytes
// (its multihash), compared by XOR. A stripe's blocks go to the k + m holders closest to the
// stripe's key, shard i to the i-th closest, so `getClosestPeers(key)` in the DHT finds the
// same holders; DAG nodes are replicated on the r holders closest to their own CID.
import { createHash } from 'node:crypto'
import { InvalidArgumentError } from '../errors.js'

/** A holder as placement sees it: an id and the bytes its position is derived from. */
export interface Holder { id: string, key: Uint8Array }

export interface Placement {
  /** holders[i] holds shard i of the stripe (data 0..k-1, then parity). */
  holders: string[]
  /** How many distinct holders the stripe uses: k + m when enough holders exist. */
  distinct: number
}

/** A key's position in the keyspace (Kademlia's: sha256 of the bytes). */
export function position (key: Uint8Array): Uint8Array {
  return createHash('sha256').update(key).digest()
}

/** XOR distance between two positions, compared as big-endian numbers: negative if a < b. */
export function compareDistance (target: Uint8Array, a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < target.length; i++) {
    const da = a[i] ^ target[i]
    const db = b[i] ^ target[i]
    if (da !== db) return da - db
  }
  return 0
}

/** The holders ordered by XOR distance from the key's position, closest first; ties by id. */
export function closestHolders (key: Uint8Array, holders: readonly Holder[]): Holder[] {
  const target = position(key)
  const seen = new Set<string>()
  const ranked: Array<{ holder: Holder, pos: Uint8Array }> = []
  for (const holder of holders) {
    if (seen.has(holder.id)) continue
    seen.add(holder.id)
    ranked.push({ holder, pos: position(holder.key) })
  }
  ranked.sort((a, b) => compareDistance(target, a.pos, b.pos) || (a.holder.id < b.holder.id ? -1 : 1))
  return ranked.map(r => r.holder)
}

/**
 * Places the `shards` blocks of one stripe: shard i on the i-th closest holder. With fewer
 * holders than shards the ranking repeats (as distinct as possible), and `distinct` says how
 * many holders the stripe really uses.
 */
export function placeStripe (key: Uint8Array, shards: number, holders: readonly Holder[]): Placement {
  if (!Number.isInteger(shards) || shards < 1) throw new InvalidArgumentError(`a stripe needs at least one shard, not ${shards}`)
  const ranked = closestHolders(key, holders)
  if (ranked.length === 0) throw new InvalidArgumentError('no holders to place a stripe on')
  const chosen = Array.from({ length: shards }, (_, i) => ranked[i % ranked.length].id)
  return { holders: chosen, distinct: Math.min(shards, ranked.length) }
}

/** The `copies` holders that keep a replicated block (a DAG node): the closest to its key. */
export function placeReplicas (key: Uint8Array, copies: number, holders: readonly Holder[]): string[] {
  if (!Number.isInteger(copies) || copies < 1) throw new InvalidArgumentError(`a replicated block needs at least one copy, not ${copies}`)
  return closestHolders(key, holders).slice(0, copies).map(h => h.id)
}

/**
 * The placement key of stripe `index` of a root: the root CID's bytes and the stripe index,
 * so a stripe's place does not depend on its contents and anyone holding the manifest can
 * recompute it.
 */
export function stripeKey (root: Uint8Array, index: number): Uint8Array {
  if (!Number.isInteger(index) || index < 0) throw new InvalidArgumentError(`a stripe index is a non-negative integer, not ${index}`)
  const key = new Uint8Array(root.length + 4)
  key.set(root)
  new DataView(key.buffer).setUint32(root.length, index)
  return key
}

/**
 * Refills a stripe after losses: shards whose holder is gone (`null`) move to the closest
 * holders the stripe does not use yet; the live holders keep theirs, so a repair moves only
 * the lost blocks. Ranking repeats only when every known holder is already in the stripe.
 */
export function refillStripe (key: Uint8Array, current: ReadonlyArray<string | null>, holders: readonly Holder[]): Placement {
  const ranked = closestHolders(key, holders)
  if (ranked.length === 0) throw new InvalidArgumentError('no holders to place a stripe on')
  const used = new Set(current.filter((h): h is string => h !== null))
  const free = ranked.map(h => h.id).filter(id => !used.has(id))
  let spare = 0
  const chosen = current.map(h => h ?? free.shift() ?? ranked[spare++ % ranked.length].id)
  return { holders: chosen, distinct: new Set(chosen).size }
}
