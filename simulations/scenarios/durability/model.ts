// The durability model: files placed on the schedule's nodes with PeerLink's own placement
// rule (src/storage/placement.ts), then hour by hour nodes come, go down and leave, and a
// repair loop (or none) puts the lost blocks back. No network: a block is where placement put
// it, and it is gone when its holder leaves for good.
import { placeReplicas, placeStripe, refillStripe, stripeKey, type Holder } from '../../../src/storage/placement.js'
import { eventsByHour, type Params, type Schedule } from './schedule.js'

/** A storage geometry: k data + m parity blocks per stripe; replication is k = 1, m = copies - 1. */
export interface Geometry { name: string, k: number, m: number }

/**
 * Who repairs: nobody; the owner when it is there; or the owner, and while it has been away
 * longer than takeoverHours the stripe's live holder closest to its key.
 */
export type Repair = 'off' | 'owner' | 'holders'

export interface Day {
  day: number
  /** Files all of whose stripes still have at least k blocks on nodes that have not left. */
  surviving: number
  /** Files all of whose stripes have at least k blocks on nodes up at the day's end. */
  available: number
  /** Bytes read and written by repairs this day. */
  repairBytes: number
  stripesRepaired: number
  liveNodes: number
}

export interface Run { geometry: Geometry, repair: Repair, days: Day[], firstLossDay: number | null }

interface Stripe { key: Uint8Array, file: number, shards: number[], lost: boolean }

/** Lays out every file as stripes on the nodes up at hour 0. */
function place (g: Geometry, p: Params, s: Schedule, holders: Holder[], index: Map<string, number>): Stripe[] {
  const stripes: Stripe[] = []
  s.files.forEach((f, file) => {
    for (let i = 0; i < p.dataBlocks / g.k; i++) {
      const key = stripeKey(f.root, i)
      const ids = g.k === 1 ? placeReplicas(key, 1 + g.m, holders) : placeStripe(key, g.k + g.m, holders).holders
      stripes.push({ key, file, shards: ids.map(id => index.get(id) as number), lost: false })
    }
  })
  return stripes
}

/** Runs one geometry under one repair variant through the schedule. */
export function simulate (g: Geometry, repair: Repair, p: Params, s: Schedule): Run {
  if (!Number.isInteger(p.dataBlocks / g.k)) throw new Error(`${p.dataBlocks} data blocks per file do not split into stripes of k = ${g.k}`)
  const events = eventsByHour(s)
  const up = new Uint8Array(s.nodes.length)
  const gone = new Uint8Array(s.nodes.length)
  /** The hour each node became unreachable (meaningful while it is). */
  const downSince = new Int32Array(s.nodes.length)
  const index = new Map(s.nodes.map((n, i) => [n.id, i]))
  const holdersUp = (): Holder[] => s.nodes.filter((_, i) => up[i] === 1)
  for (const [i] of events[0]) up[i] = 1
  const stripes = place(g, p, s, holdersUp(), index)
  const byFile = Array.from(s.files, () => [] as Stripe[])
  for (const st of stripes) byFile[st.file].push(st)
  const days: Day[] = []
  let today = { repairBytes: 0, stripesRepaired: 0 }
  let holders: Holder[] | undefined
  const mend = (st: Stripe, h: number): void => {
    const reachable = st.shards.filter(i => up[i] === 1).length
    const waited = (i: number): boolean => up[i] === 0 && h - downSince[i] >= p.graceHours
    const lost = st.shards.filter(waited).length
    if (lost === 0 || reachable < g.k) return
    holders ??= holdersUp()
    // Holders down for less than the grace period keep their shards: they may come back.
    const current = st.shards.map(i => waited(i) ? null : s.nodes[i].id)
    st.shards = refillStripe(st.key, current, holders).holders.map(id => index.get(id) as number)
    // Rebuilding reads k blocks and writes the lost ones (replication: one copy read, the lost copies written).
    today.repairBytes += (g.k + lost) * p.blockBytes
    today.stripesRepaired++
  }
  for (let h = 0; h < s.hours; h++) {
    if (h > 0) {
      for (const [i, e] of events[h]) {
        if (e !== 'up' && up[i] === 1) downSince[i] = h
        up[i] = e === 'up' ? 1 : 0
        if (e === 'gone') gone[i] = 1
      }
      holders = undefined
    }
    if (repair !== 'off') {
      s.files.forEach((f, file) => {
        if ((h + f.checkOffset) % p.checkHours !== 0) return
        const since = s.awaySince[f.owner][h]
        const holdersTakeOver = repair === 'holders' && since !== -1 && h - since >= p.takeoverHours
        if (since !== -1 && !holdersTakeOver) return
        for (const st of byFile[file]) {
          // Holders taking over need k of them up to rebuild, as the owner does: mend checks that.
          markLost(st, g, gone)
          if (!st.lost) mend(st, h)
        }
      })
    }
    if ((h + 1) % 24 === 0) {
      days.push(census(h, stripes, byFile, g, up, gone, today))
      today = { repairBytes: 0, stripesRepaired: 0 }
    }
  }
  const firstLoss = days.find(d => d.surviving < s.files.length)
  return { geometry: g, repair, days, firstLossDay: firstLoss?.day ?? null }
}

/** A stripe with fewer than k blocks on nodes that have not left can never be rebuilt. */
function markLost (st: Stripe, g: Geometry, gone: Uint8Array): void {
  if (!st.lost && st.shards.filter(i => gone[i] === 0).length < g.k) st.lost = true
}

function census (h: number, stripes: Stripe[], byFile: Stripe[][], g: Geometry, up: Uint8Array, gone: Uint8Array, today: { repairBytes: number, stripesRepaired: number }): Day {
  for (const st of stripes) markLost(st, g, gone)
  const surviving = byFile.filter(ss => ss.every(st => !st.lost)).length
  const available = byFile.filter(ss => ss.every(st => st.shards.filter(i => up[i] === 1).length >= g.k)).length
  let liveNodes = 0
  for (let i = 0; i < gone.length; i++) if (up[i] === 1) liveNodes++
  return { day: (h + 1) / 24, surviving, available, ...today, liveNodes }
}
