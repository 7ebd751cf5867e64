// What the churn scenario runs: its settings, and each period's plan (who crashes, leaves,
// adds and fetches what, and when), drawn from the seed before the period's work begins.
import type { Rng } from '../../lib/rng.js'
import type { DaemonProcess } from '../../lib/daemons.js'

/** Share of the churnable (non-bootstrap) live nodes killed with SIGKILL each period; at least one. */
export const CRASH_RATE = 0.1
/** Share of the churnable live nodes that leave with SIGTERM each period (rounded at random). */
export const LEAVE_RATE = 0.1
/** Of the nodes that join to replace those gone, the share that restarts a crashed repo (the rest are new repos). */
export const RESTART_SHARE = 0.5
/** Bootstrap nodes everyone joins through; they never churn. */
export const STABLE_NODES = 2
/** Extra fetches per period of a file only nodes going this period (or none up) hold, when there is one. */
export const ORPHAN_FETCHES = 1
export const FETCH_CONCURRENCY = 2
export const CENSUS_CONCURRENCY = 3
/** Crashes and leaves land at random moments within this long after a period's adds and fetches begin. */
export const CHURN_WINDOW_MS = 3000
export const FILE_BYTES = { min: 256 * 1024, max: 3 * 1024 * 1024 }
/** Bounds on each CLI call (the child is killed past them) and on a daemon's start. */
export const TIMEOUT = { add: 30_000, fetch: 45_000, findProviders: 20_000, start: 30_000, stop: 10_000 }
/** find-providers --timeout, ms. */
export const LOOKUP_MS = 5000

/** What differs between a quick and a full run. */
export interface Sizes {
  periods: number
  /** New files per period (and before the first), each added by a different random live node that stays. */
  adds: number
  /** Fetches per period, each of a random earlier file some node that stays up holds, by a random node that stays and lacks it. */
  fetches: number
  /** Files whose provider records are looked up after each period. */
  censusFiles: number
}

export const SIZES: { quick: Sizes, full: Sizes } = {
  quick: { periods: 3, adds: 2, fetches: 3, censusFiles: 2 },
  full: { periods: 10, adds: 3, fetches: 8, censusFiles: 6 }
}

export type NodeState = 'live' | 'crashed' | 'left'

export interface SimNode {
  id: number
  repo: string
  stable: boolean
  state: NodeState
  peerId: string
  /** TCP ports of the current (or last) incarnation. */
  ports: string[]
  daemon?: DaemonProcess
  starts: number
  /** Files (indices) held whole in the repo: added here or fetched whole. */
  holds: Set<number>
}

export interface SimFile { index: number, cid: string, path: string, size: number, period: number, addedBy: number, provided: boolean }

export interface PlannedAdd { n: SimNode, index: number, size: number, bytes: Buffer, period: number }

export interface PeriodPlan {
  crashers: SimNode[]
  leavers: SimNode[]
  fetches: Array<{ fetcher: SimNode, file: SimFile }>
  churn: Array<{ n: SimNode, kind: 'crash' | 'leave', delay: number }>
}

/** Seeded file contents for each adder; `next` numbers the files. */
export function planAdds (rng: Rng, adders: SimNode[], period: number, next: () => number): PlannedAdd[] {
  return adders.map(n => {
    const size = FILE_BYTES.min + rng.int(FILE_BYTES.max - FILE_BYTES.min + 1)
    return { n, index: next(), size, bytes: rng.bytes(size), period }
  })
}

/** Who goes this period (crashes and leaves), and so who stays; the work is planned after the adds. */
export function planPeriod (rng: Rng, live: SimNode[]): PeriodPlan & { staying: SimNode[] } {
  const churnable = live.filter(n => !n.stable)
  const crashCount = Math.min(churnable.length, Math.max(1, Math.round(CRASH_RATE * churnable.length)))
  const leaveWanted = LEAVE_RATE * churnable.length
  const leaveCount = Math.min(churnable.length - crashCount, Math.floor(leaveWanted) + (rng.next() < leaveWanted % 1 ? 1 : 0))
  const victims = rng.sample(churnable, crashCount + leaveCount)
  const crashers = victims.slice(0, crashCount)
  const leavers = victims.slice(crashCount)
  const staying = live.filter(n => !victims.includes(n))
  return { crashers, leavers, staying, fetches: [], churn: [] }
}

/**
 * Fetches of files a node that stays holds (other holders may go while they run), and
 * ORPHAN_FETCHES of files only nodes that go (or nobody up) hold, to see how those fail;
 * then the moments the crashes and leaves land.
 */
export function planWork (rng: Rng, p: PeriodPlan & { staying: SimNode[] }, files: SimFile[], fetchCount: number): void {
  const keptBy = (f: SimFile): boolean => p.staying.some(n => n.holds.has(f.index))
  const lacks = (n: SimNode, f: SimFile): boolean => !n.holds.has(f.index) && !p.fetches.some(x => x.fetcher === n && x.file === f)
  const choose = (among: SimFile[]): boolean => {
    const candidates = p.staying.filter(n => among.some(f => lacks(n, f)))
    if (candidates.length === 0) return false
    const fetcher = rng.pick(candidates)
    p.fetches.push({ fetcher, file: rng.pick(among.filter(f => lacks(fetcher, f))) })
    return true
  }
  const kept = files.filter(keptBy)
  for (let i = 0; i < fetchCount; i++) if (!choose(kept)) break
  const orphans = files.filter(f => !keptBy(f))
  for (let i = 0; i < ORPHAN_FETCHES; i++) if (!choose(orphans)) break
  p.churn.push(
    ...p.crashers.map(n => ({ n, kind: 'crash' as const, delay: rng.int(CHURN_WINDOW_MS) })),
    ...p.leavers.map(n => ({ n, kind: 'leave' as const, delay: rng.int(CHURN_WINDOW_MS) }))
  )
}

/** As many join as went: each restarts a crashed repo with probability RESTART_SHARE (when there is one), or else is new. */
export function planJoins (rng: Rng, count: number, nodes: SimNode[], newNode: () => SimNode): Array<{ n: SimNode, kind: 'restart' | 'join' }> {
  const joiners: Array<{ n: SimNode, kind: 'restart' | 'join' }> = []
  for (let i = 0; i < count; i++) {
    const crashed = nodes.filter(n => n.state === 'crashed' && !joiners.some(j => j.n === n))
    if (crashed.length > 0 && rng.next() < RESTART_SHARE) joiners.push({ n: rng.pick(crashed), kind: 'restart' })
    else joiners.push({ n: newNode(), kind: 'join' })
  }
  return joiners
}
