// What the partition scenario runs, fixed up front: its settings, and everything the seed
// decides (the halves, who adds and fetches what, the file contents, the node identities),
// drawn before anything runs so the draws never depend on timings.
import type { Rng } from '../../lib/rng.js'

export const NETEM_ARGS = ['delay', '20ms', '5ms', 'loss', '1%']
export const NETEM_LABEL = '20ms±5ms 1% loss'
export const FILE_MIN = 512 * 1024
export const FILE_MAX = 2 * 1024 * 1024
/** The node's libp2p port and API address inside its own namespace (each has its own stack). */
export const P2P_PORT = 4001
export const API_ADDRESS = '127.0.0.1:5021'
export const START_TIMEOUT = 20_000
/** Adds or fetches run at once (each is a CLI process). */
export const CONCURRENCY = 6
/** find-providers --timeout of the recovery watcher's lookups, ms. */
export const RECOVERY_LOOKUP_MS = 4000

export const PHASES = ['connected', 'partitioned_same_side', 'partitioned_cross', 'healed', 'healed_retry'] as const
export type Phase = typeof PHASES[number]
/** Labels for plots, numbered so the axes keep the phases in order. */
export const PHASE_LABEL: Record<Phase, string> = {
  connected: '1 connected',
  partitioned_same_side: '2 split, same side',
  partitioned_cross: '3 split, across',
  healed: '4 healed, across',
  healed_retry: '5 healed, retried'
}

/** Bounds that differ between a quick and a full run, ms. */
export interface Timing {
  fetch: number
  add: number
  /** How long every node gets to connect to every other before the phases start. */
  mesh: number
  /** Time after the heal before the cross fetches start. */
  settle: number
  /** Longest the watcher waits, from the heal, for lookups across to work again. */
  recovery: number
}

export const TIMING: { quick: Timing, full: Timing } = {
  quick: { fetch: 30_000, add: 40_000, mesh: 15_000, settle: 5_000, recovery: 40_000 },
  full: { fetch: 60_000, add: 60_000, mesh: 45_000, settle: 15_000, recovery: 150_000 }
}

export interface FilePlan { name: string, size: number, adder: number, phase: 'connected' | 'partitioned', fetchers: number[], crossFetchers: number[] }

export interface PartitionPlan {
  sideA: number[]
  sideB: number[]
  identitySeeds: Uint8Array[]
  files: FilePlan[]
  contents: Map<string, Buffer>
  timing: Timing
}

export function makePlan (rng: Rng, nodes: number, quick: boolean): PartitionPlan {
  const all = Array.from({ length: nodes }, (_, i) => i)
  const identitySeeds = all.map(() => new Uint8Array(rng.bytes(32)))
  const shuffled = rng.sample(all, all.length)
  const sideA = shuffled.slice(0, Math.floor(all.length / 2)).sort((a, b) => a - b)
  const sideB = shuffled.slice(Math.floor(all.length / 2)).sort((a, b) => a - b)
  const files: FilePlan[] = []
  const size = (): number => FILE_MIN + rng.int(FILE_MAX - FILE_MIN + 1)
  const connected = quick ? 2 : Math.min(nodes, 4)
  for (let f = 0; f < connected; f++) {
    const adder = rng.pick(all)
    files.push({ name: `connected-${f}.bin`, size: size(), adder, phase: 'connected', fetchers: rng.sample(all.filter(i => i !== adder), 2), crossFetchers: [] })
  }
  const perSide = quick ? 1 : 2
  for (const [side, other] of [[sideA, sideB], [sideB, sideA]]) {
    for (let f = 0; f < perSide; f++) {
      const adder = rng.pick(side)
      files.push({
        name: `partitioned-${side === sideA ? 'A' : 'B'}${f}.bin`,
        size: size(),
        adder,
        phase: 'partitioned',
        fetchers: rng.sample(side.filter(i => i !== adder), quick ? 1 : 3),
        crossFetchers: rng.sample(other, quick ? 2 : 3).sort((a, b) => a - b)
      })
    }
  }
  const contents = new Map(files.map(f => [f.name, rng.bytes(f.size)]))
  return { sideA, sideB, identitySeeds, files, contents, timing: quick ? TIMING.quick : TIMING.full }
}
