// The owner's upkeep of a spread root: renewing its leases before they run out, and repairing
// it when blocks are gone. A holder that does not answer loses all its blocks of the root, and
// one that lacks a block it should hold loses only that block, to the next closest holders
// with room (refillStripe: every other block stays where it is); the new holders pull them
// from the owner, which holds the root whole while it is pinned, so every block is rebuilt
// from the owner's copy (itself rebuilt from any k by `verify` when damaged).
import type { CID } from 'multiformats/cid'
import { healthOf, probe, type Health } from './health.js'
import { mapLimited, type OfferingHolder, type StorageOwner } from './owner.js'
import { SpreadBook, type SpreadRecord } from './records.js'
import type { Pacer } from './pacer.js'
import { moveFrom, spreadOut } from './spread.js'

const RENEW_CONCURRENCY = 8

/** Most blocks in one HOLD of a repair, so its pacing (storage.repairRate) is not one burst. */
export const REPAIR_HOLD_BLOCKS = 64

/**
 * Asks every holder of a record to keep its blocks until `now + lease` (a HOLD of what it
 * has leased already: nothing moves). Returns the holders that did not renew.
 */
export async function renewRecord (owner: StorageOwner, root: CID, record: SpreadRecord, options: { signal?: AbortSignal } = {}): Promise<string[]> {
  const expires = Date.now() + record.lease
  const holders = [...SpreadBook.byHolder(record)]
  const outcomes = await mapLimited(holders, RENEW_CONCURRENCY, async ([h, b]) =>
    await owner.hold(h, root, b.cids.map((cid, i) => ({ cid, size: b.sizes[i] })), expires, options))
  record.expires = expires
  return holders.filter((_, i) => !outcomes[i].ok).map(([h]) => h)
}

export interface RepairOutcome { health: Health, blocks: number, bytes: number, moved: string[] }

/**
 * Checks a record (HAS queries) and moves the blocks of every holder that lost any to the
 * holders `findHolders` gives (asked only when something is lost), at most
 * `maxBlocks` of them in this call (the rest at the next round). The record is changed in place.
 */
export async function repairRecord (owner: StorageOwner, root: CID, record: SpreadRecord, findHolders: () => Promise<OfferingHolder[]>, options: { signal?: AbortSignal, maxBlocks: number, pacer?: Pacer }): Promise<RepairOutcome> {
  const presence = await probe(owner, root, record, options)
  const before = healthOf(record, presence)
  // A stripe sharing a holder (placed when few holders were known) is spread out when it can be.
  const crowded = record.stripes.some(s => new Set(s.holders).size < s.holders.length)
  if (before.health === 'healthy' && !crowded) return { health: 'healthy', blocks: 0, bytes: 0, moved: [] }
  // The blocks to move this call, at most maxBlocks: `holder/cid`.
  const lost = new Set<string>()
  const gone = new Set<string>()
  for (const [h, b] of SpreadBook.byHolder(record)) {
    for (const c of b.cids) {
      if (presence.has.has(`${h}/${c}`) || lost.size >= options.maxBlocks) continue
      lost.add(`${h}/${c}`)
      gone.add(h)
    }
  }
  // Only now: a lookup of the offers is a DHT query, and a healthy root needs none.
  const holders = await findHolders()
  const free = new Map(holders.map(h => [h.id, h.free]))
  // A holder that lost blocks but answers keeps the rest and may take blocks of other stripes.
  const reachable = holders.filter(h => !gone.has(h.id) || presence.reachable.has(h.id))
  const moved = moveFrom(root, record, (h, c) => lost.has(`${h}/${c}`), reachable, free)
  spreadOut(root, record, (h, c) => presence.has.has(`${h}/${c}`), reachable, free, options.maxBlocks - lost.size, moved)
  let bytes = 0
  let placed = 0
  const pace = options.pacer === undefined ? undefined : options.pacer.take.bind(options.pacer)
  const outcomes = await mapLimited([...moved], RENEW_CONCURRENCY, async ([h, b]) =>
    await owner.hold(h, root, b.cids.map((cid, i) => ({ cid, size: b.sizes[i] })), record.expires, { signal: options.signal, part: REPAIR_HOLD_BLOCKS, pace }))
  ;[...moved].forEach(([, b], i) => {
    if (!outcomes[i].ok) return
    placed += b.cids.length
    bytes += b.sizes.reduce((x, y) => x + y, 0)
  })
  return { health: before.health, blocks: placed, bytes, moved: [...gone] }
}
