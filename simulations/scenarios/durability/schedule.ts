// The durability scenario's world over time, drawn once from the seed so that every storage
// configuration and repair variant lives through the same churn: when each node joins, leaves
// for good and goes down for a while, and when each file's owner is away.
import { Rng } from '../../lib/rng.js'

export interface Params {
  /** Storage nodes at the start. */
  nodes: number
  days: number
  files: number
  /** Owners (clients, not storage nodes): file i belongs to owner i mod owners. */
  owners: number
  /** Data blocks per file (a multiple of every geometry's k). */
  dataBlocks: number
  blockBytes: number
  /** Chance a node leaves for good, per day. */
  leavePerDay: number
  /** New nodes per day, as a share of the starting count. */
  joinPerDay: number
  /** Chance an up node goes down for a while, per day, and for how many hours (min, max). */
  outagePerDay: number
  outageHours: [number, number]
  /** Chance an owner goes away, per day, and for how many days (min, max). */
  awayPerDay: number
  awayDays: [number, number]
  /** Each file is checked every checkHours (staggered per file). */
  checkHours: number
  /** With holder repair: holders take over once the owner has been away this long. */
  takeoverHours: number
  /** A holder unreachable for less than this is waited for, not replaced (it may be down for a while). */
  graceHours: number
}

export interface NodeLife {
  id: string
  key: Uint8Array
  /** Hours from the start: joins at `join`, gone for good from `leave` (Infinity if never). */
  join: number
  leave: number
  /** Hours the node is down, [from, to), in order and not overlapping. */
  outages: Array<[number, number]>
}

export interface Schedule {
  hours: number
  nodes: NodeLife[]
  /** Per owner, per hour: the hour its current absence began, or -1 when it is there. */
  awaySince: Int32Array[]
  files: Array<{ root: Uint8Array, owner: number, checkOffset: number }>
}

/** An integer in [lo, hi]. */
function between (rng: Rng, [lo, hi]: [number, number]): number {
  return lo + rng.int(hi - lo + 1)
}

/** Draws the whole schedule from the seed; the same seed and parameters give the same world. */
export function drawSchedule (p: Params, seed: number): Schedule {
  const rng = new Rng(seed)
  const hours = p.days * 24
  const nodes: NodeLife[] = []
  const newNode = (join: number): void => { nodes.push({ id: `n${nodes.length}`, key: rng.bytes(32), join, leave: Infinity, outages: [] }) }
  for (let i = 0; i < p.nodes; i++) newNode(0)
  const joinsPerHour = p.joinPerDay * p.nodes / 24
  for (let h = 1; h < hours; h++) {
    for (const n of nodes) {
      if (n.join >= h || n.leave !== Infinity) continue
      if (rng.next() < p.leavePerDay / 24) { n.leave = h; continue }
      const last = n.outages.at(-1)
      if ((last === undefined || last[1] <= h) && rng.next() < p.outagePerDay / 24) n.outages.push([h, h + between(rng, p.outageHours)])
    }
    const joins = Math.floor(joinsPerHour) + (rng.next() < joinsPerHour % 1 ? 1 : 0)
    for (let j = 0; j < joins; j++) newNode(h)
  }
  const awaySince = Array.from({ length: p.owners }, () => {
    const since = new Int32Array(hours).fill(-1)
    for (let day = 1; day < p.days; day++) {
      if (since[day * 24] !== -1 || rng.next() >= p.awayPerDay) continue
      const start = day * 24
      since.fill(start, start, Math.min(hours, start + between(rng, p.awayDays) * 24))
    }
    return since
  })
  const files = Array.from({ length: p.files }, (_, i) => ({ root: rng.bytes(32), owner: i % p.owners, checkOffset: rng.int(p.checkHours) }))
  return { hours, nodes, awaySince, files }
}

/** A node's state changes hour by hour: events[h] lists [node, 'up' | 'down' | 'gone']. */
export function eventsByHour (s: Schedule): Array<Array<[number, 'up' | 'down' | 'gone']>> {
  const events: Array<Array<[number, 'up' | 'down' | 'gone']>> = Array.from({ length: s.hours }, () => [])
  const at = (h: number, e: [number, 'up' | 'down' | 'gone']): void => { if (h < s.hours) events[h].push(e) }
  s.nodes.forEach((n, i) => {
    at(n.join, [i, 'up'])
    for (const [from, to] of n.outages) {
      if (from >= n.leave) break
      at(from, [i, 'down'])
      if (to < n.leave) at(to, [i, 'up'])
    }
    if (n.leave !== Infinity) at(n.leave, [i, 'gone'])
  })
  return events
}
