// Spreading a file: each stripe's k + m blocks on the k + m holders closest to the stripe's
// key (placement.ts) among those with room, the DAG nodes copied on the NODE_COPIES holders
// closest to each node's CID; then one HOLD per holder with all its blocks, which the holder
// pulls once. A holder that refuses (its offer is full) or fails loses its blocks to the next
// closest holders with room (refillStripe), and only those move, until every block is placed
// or no holder is left.
import { CID } from 'multiformats/cid'
import { NoHoldersError } from '../errors.js'
import { NODE_COPIES } from './constants.js'
import type { FileLayout } from './layout.js'
import { mapLimited, type OfferingHolder, type StorageOwner } from './owner.js'
import { placeReplicas, placeStripe, refillStripe, stripeKey } from './placement.js'
import { SpreadBook, type SpreadRecord } from './records.js'

export interface SpreadOptions {
  signal?: AbortSignal
  /** How long the leases run, ms (default DEFAULT_LEASE). */
  lease: number
  onProgress?: (event: { type: 'spread:refused', detail: { holder: string, reason: string } }) => void
}

/** HOLDs in flight at once (each holder pulls its blocks from this node). */
const HOLD_CONCURRENCY = 8

/** Places every block of the layout; the record says who holds what. */
export async function spreadFile (owner: StorageOwner, root: CID, layout: FileLayout, holders: OfferingHolder[], options: SpreadOptions): Promise<{ record: SpreadRecord, refused: Array<{ holder: string, reason: string }> }> {
  const free = new Map(holders.map(h => [h.id, h.free]))
  const record = planSpread(root, layout, holders, free)
  record.lease = options.lease
  record.expires = Date.now() + options.lease
  const refused: Array<{ holder: string, reason: string }> = []
  let pending = SpreadBook.byHolder(record)
  const failedEver = new Set<string>()
  // Every round drops at least one holder, so there are at most as many rounds as holders.
  for (let round = 0; round <= holders.length && pending.size > 0; round++) {
    const list = [...pending]
    const outcomes = await mapLimited(list, HOLD_CONCURRENCY, async ([holder, blocks]) =>
      await owner.hold(holder, root, blocks.cids.map((cid, i) => ({ cid, size: blocks.sizes[i] })), record.expires, options))
    const failed = new Set<string>()
    outcomes.forEach((o, i) => {
      if (o.ok) return
      const holder = list[i][0]
      failed.add(holder)
      failedEver.add(holder)
      free.set(holder, 0)
      refused.push({ holder, reason: o.reason })
      options.onProgress?.({ type: 'spread:refused', detail: { holder, reason: o.reason } })
    })
    if (failed.size === 0) {
      pending = new Map()
      break
    }
    pending = moveFrom(root, record, h => failed.has(h), holders.filter(h => !failed.has(h.id)), free)
  }
  const stranded = pending.size > 0 || record.stripes.some(st => st.holders.some(h => failedEver.has(h))) || record.nodes.some(n => n.holders.length === 0)
  if (stranded) throw new NoHoldersError(root.toString(), `no holder with room is left for some blocks (${refused.map(r => `${r.holder}: ${r.reason}`).join('; ')})`)
  return { record, refused }
}

/** The first placement: ranked by distance, skipping holders whose room is used up. */
export function planSpread (root: CID, layout: FileLayout, holders: OfferingHolder[], free: Map<string, number>): SpreadRecord {
  const live = withRoom(holders, free)
  const take = (id: string, size: number): void => { free.set(id, (free.get(id) ?? 0) - size) }
  const stripes = layout.stripes.map((s, i) => {
    const room = live(Math.max(...s.blocks.map(b => b.size)), [])
    if (room.length === 0) throw new NoHoldersError(root.toString(), holders.length === 0 ? 'no peer offers space (storage.offer) that this node can reach' : `no holder has room left for stripe ${i}`)
    const p = placeStripe(stripeKey(root.bytes, i), s.blocks.length, room)
    p.holders.forEach((h, j) => { take(h, s.blocks[j].size) })
    return { blocks: s.blocks.map(b => b.cid.toString()), sizes: s.blocks.map(b => b.size), holders: p.holders, k: s.k }
  })
  const nodes = layout.nodes.map(n => {
    const copies = placeReplicas(n.cid.bytes, NODE_COPIES, live(n.size, []))
    for (const h of copies) take(h, n.size)
    return { cid: n.cid.toString(), size: n.size, holders: copies }
  })
  return { root: root.toString(), stripes, nodes, lease: 0, expires: 0 }
}

/**
 * Refills one stripe (in place): each block `lost` says its holder lost goes to the closest
 * holder `live` offers that the stripe does not use yet. Returns the new holders and their
 * shard indexes; none when no holder can take the blocks.
 */
export function refillLost (root: CID, index: number, s: { blocks: string[], sizes: number[], holders: string[] }, lost: (holder: string, cid: string) => boolean, live: (size: number, not: string[]) => OfferingHolder[]): Array<[string, number]> {
  const lostHere = s.holders.filter((h, j) => lost(h, s.blocks[j]))
  if (lostHere.length === 0) return []
  // A holder that lost a block of this stripe is not given it back.
  const candidates = live(Math.max(...s.sizes), lostHere)
  if (candidates.length === 0) return []
  const p = refillStripe(stripeKey(root.bytes, index), s.holders.map((h, j) => lost(h, s.blocks[j]) ? null : h), candidates)
  const out: Array<[string, number]> = []
  p.holders.forEach((h, j) => {
    if (h === s.holders[j]) return
    s.holders[j] = h
    out.push([h, j])
  })
  return out
}

/**
 * Moves each block `lost` says its holder lost to the closest holders with room that the
 * stripe does not use yet (every other block stays where it is: a holder that lost one block
 * keeps the rest), in place in the record; returns the new holders' blocks to ask them for.
 * A block no holder can take keeps its old holder and is not asked.
 */
export function moveFrom (root: CID, record: SpreadRecord, lost: (holder: string, cid: string) => boolean, holders: OfferingHolder[], free: Map<string, number>): Moved {
  const { moved, give } = mover(free)
  const live = withRoom(holders, free)
  record.stripes.forEach((s, i) => {
    for (const [h, j] of refillLost(root, i, s, lost, live)) give(h, s.blocks[j], s.sizes[j])
  })
  for (const n of record.nodes) {
    const lostHere = n.holders.filter(h => lost(h, n.cid))
    if (lostHere.length === 0) continue
    const keep = n.holders.filter(h => !lostHere.includes(h))
    const extra = placeReplicas(CID.parse(n.cid).bytes, NODE_COPIES + keep.length, live(n.size, lostHere)).filter(h => !keep.includes(h)).slice(0, NODE_COPIES - keep.length)
    for (const h of extra) give(h, n.cid, n.size)
    n.holders = [...keep, ...extra]
  }
  return moved
}

/**
 * Spreads out the stripes that share a holder (placed when too few holders were known: a
 * repair right after a restart, a small network): a shard whose holder holds an earlier shard
 * of the same stripe, and still has it (`has`), moves to the closest holder with room that the
 * stripe does not use, as long as there are such holders; none moves onto another shared one.
 * In place in the record; returns the new holders' blocks, as moveFrom (added to `into`).
 */
export function spreadOut (root: CID, record: SpreadRecord, has: (holder: string, cid: string) => boolean, holders: OfferingHolder[], free: Map<string, number>, maxBlocks: number, into: Moved = new Map()): Moved {
  const { moved, give } = mover(free, into)
  const live = withRoom(holders, free)
  let budget = maxBlocks
  record.stripes.forEach((s, i) => {
    const crowded = s.holders.map((h, j) => j > s.holders.indexOf(h) && has(h, s.blocks[j]))
    if (!crowded.includes(true)) return
    const candidates = live(Math.max(...s.sizes), s.holders)
    if (candidates.length === 0) return
    // The first shards of a holder stay; as many of its others move as there are new holders.
    let room = Math.min(candidates.length, budget)
    const current = s.holders.map((h, j) => crowded[j] && room-- > 0 ? null : h)
    const p = refillStripe(stripeKey(root.bytes, i), current, candidates)
    p.holders.forEach((h, j) => {
      if (h === s.holders[j]) return
      s.holders[j] = h
      give(h, s.blocks[j], s.sizes[j])
      budget--
    })
  })
  return moved
}

type Moved = Map<string, { cids: string[], sizes: number[] }>

/** The holders with room for a block of `size` left (as `free` counts it), none of `not`. */
function withRoom (holders: OfferingHolder[], free: Map<string, number>): (size: number, not: string[]) => OfferingHolder[] {
  return (size, not) => holders.filter(h => !not.includes(h.id) && (free.get(h.id) ?? 0) >= size)
}

/** The blocks given to new holders, by holder (added to `moved`), each taken from its room. */
function mover (free: Map<string, number>, moved: Moved = new Map()): { moved: Moved, give: (holder: string, cid: string, size: number) => void } {
  const give = (holder: string, cid: string, size: number): void => {
    const m = moved.get(holder) ?? { cids: [], sizes: [] }
    m.cids.push(cid)
    m.sizes.push(size)
    moved.set(holder, m)
    free.set(holder, (free.get(holder) ?? 0) - size)
  }
  return { moved, give }
}
