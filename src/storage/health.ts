// How a spread root stands, from cheap HAS queries to the holders its record names (no block
// is sent): per stripe the holders that answer and the blocks each has, healthy (all k + m
// blocks live), degraded (at least k) or lost (fewer than k); the DAG nodes by live copies;
// the file by its worst part.
import type { CID } from 'multiformats/cid'
import { mapLimited, type StorageOwner } from './owner.js'
import { SpreadBook, type SpreadRecord } from './records.js'

export type Health = 'healthy' | 'degraded' | 'lost'

export interface StripeHealth {
  index: number
  /** Blocks the stripe has (k + m), and how many rebuild it. */
  shards: number
  k: number
  /** Blocks some holder has now, and the distinct holders that have them. */
  live: number
  distinct: number
  /** Each holder of the stripe: whether it answered, and which shards (0..k+m-1) it has. */
  holders: Array<{ peer: string, reachable: boolean, shards: number[] }>
  health: Health
}

export interface HealthReport {
  cid: string
  health: Health
  stripes: StripeHealth[]
  /** DAG nodes with fewer live copies than placed, and with none. */
  nodes: { total: number, degraded: number, lost: number }
  /** When the leases end, ms since the epoch. */
  expires: number
}

/** Who has what: `holder/cid` for every block a holder said it has; the holders that answered. */
export interface Presence { has: Set<string>, reachable: Set<string> }

const HAS_CONCURRENCY = 8

export async function probe (owner: StorageOwner, root: CID, record: SpreadRecord, options: { signal?: AbortSignal } = {}): Promise<Presence> {
  const presence: Presence = { has: new Set(), reachable: new Set() }
  const byHolder = [...SpreadBook.byHolder(record)]
  await mapLimited(byHolder, HAS_CONCURRENCY, async ([holder, { cids }]) => {
    const has = await owner.has(holder, root, cids, options)
    if (has === undefined) return
    presence.reachable.add(holder)
    cids.forEach((c, i) => { if (has[i]) presence.has.add(`${holder}/${c}`) })
  })
  return presence
}

export function healthOf (record: SpreadRecord, presence: Presence): HealthReport {
  const stripes = record.stripes.map((s, index): StripeHealth => {
    const holders = new Map<string, StripeHealth['holders'][number]>()
    let live = 0
    s.holders.forEach((h, j) => {
      const entry = holders.get(h) ?? { peer: h, reachable: presence.reachable.has(h), shards: [] }
      holders.set(h, entry)
      if (!presence.has.has(`${h}/${s.blocks[j]}`)) return
      entry.shards.push(j)
      live++
    })
    const distinct = [...holders.values()].filter(h => h.shards.length > 0).length
    const health: Health = live === s.blocks.length ? 'healthy' : live >= s.k ? 'degraded' : 'lost'
    return { index, shards: s.blocks.length, k: s.k, live, distinct, holders: [...holders.values()], health }
  })
  let degraded = 0
  let lost = 0
  for (const n of record.nodes) {
    const copies = n.holders.filter(h => presence.has.has(`${h}/${n.cid}`)).length
    if (copies === 0) lost++
    else if (copies < n.holders.length) degraded++
  }
  const health: Health = lost > 0 || stripes.some(s => s.health === 'lost')
    ? 'lost'
    : degraded > 0 || stripes.some(s => s.health === 'degraded') ? 'degraded' : 'healthy'
  return { cid: record.root, health, stripes, nodes: { total: record.nodes.length, degraded, lost }, expires: record.expires }
}
