// durability: files spread over 100-200 storage nodes that leave for good, join, go down for a
// while, and owners that go away, over simulated days; erasure coding against replication at
// similar storage overheads, with repair off, by the owner, and with holders taking over.
// A model, not a network: see model.ts for what it keeps and report.ts for what it leaves out.
import { setImmediate } from 'node:timers/promises'
import type { Scenario, Target } from '../../lib/scenario.js'
import { simulate, type Geometry, type Repair, type Run } from './model.js'
import { report } from './report.js'
import { drawSchedule, type Params } from './schedule.js'

/**
 * Equal overhead where it exists: 3× as replication and RS(4,8); about 1.4× as RS(10,4) and
 * the small-file RS(4,2) at 1.5×, where replication cannot go (2× is its cheapest).
 */
export const GEOMETRIES: Geometry[] = [
  { name: 'replication ×2', k: 1, m: 1 },
  { name: 'replication ×3', k: 1, m: 2 },
  { name: 'RS(4,8)', k: 4, m: 8 },
  { name: 'RS(10,4)', k: 10, m: 4 },
  { name: 'RS(4,2)', k: 4, m: 2 }
]

export const REPAIRS: Repair[] = ['off', 'owner', 'holders']

const COMMON: Omit<Params, 'nodes' | 'days' | 'files' | 'leavePerDay' | 'joinPerDay'> = { owners: 10, dataBlocks: 20, blockBytes: 2 ** 20, outagePerDay: 0.1, outageHours: [1, 24], awayPerDay: 0.05, awayDays: [1, 14], checkHours: 24, takeoverHours: 48, graceHours: 24 }

/** Full runs: a node's mean life is 100 days, half a year simulated. */
export function fullParams (nodes: number): Params {
  return { ...COMMON, nodes, days: 180, files: 100, leavePerDay: 0.01, joinPerDay: 0.01 }
}

/** Quick runs: harsher churn over fewer days and files, so the same contrasts show in seconds. */
export function quickParams (nodes: number): Params {
  return { ...COMMON, nodes, days: 40, files: 10, owners: 5, leavePerDay: 0.03, joinPerDay: 0.03 }
}

function survivalAt (runs: Run[], name: string, repair: Repair): number {
  const run = runs.find(r => r.geometry.name === name && r.repair === repair) as Run
  return run.days.at(-1)?.surviving ?? 0
}

function targets (runs: Run[], p: Params, seed: number): Target[] {
  const share = (name: string, repair: Repair): number => survivalAt(runs, name, repair) / p.files
  const rsOn = share('RS(10,4)', 'holders')
  const rsOff = share('RS(10,4)', 'off')
  // The same seed draws the same world and the same placements: a second run matches the first.
  const again = simulate(GEOMETRIES[3], 'holders', p, drawSchedule(p, seed))
  const first = runs.find(r => r.geometry === GEOMETRIES[3] && r.repair === 'holders')
  const kinds = new Set(runs.map(r => r.geometry.k === 1 ? 'replication' : 'erasure'))
  return [
    { name: 'RS(10,4): repair with holders taking over keeps ≥ 75 % of the files; without repair ≤ 25 % survive', ok: rsOn >= 0.75 && rsOff <= 0.25, detail: `with holders taking over ${Math.round(rsOn * 100)} %, without repair ${Math.round(rsOff * 100)} %` },
    { name: 'replication and erasure coding both measured, every day of every run', ok: kinds.size === 2 && runs.length === GEOMETRIES.length * REPAIRS.length && runs.every(r => r.days.length === p.days), detail: `${runs.length} runs of ${p.days} days` },
    { name: 'deterministic for a seed', ok: JSON.stringify(again) === JSON.stringify(first), detail: `RS(10,4) with holders repairing, run twice from seed ${seed}` }
  ]
}

export const durability: Scenario = {
  name: 'durability',
  description: 'stripes over churning nodes for simulated days: erasure against replication, repair off and on',
  nodes: { default: 150, quick: 100, min: 20, max: 400 },
  timeLimit: { quick: 120_000, full: 1_800_000 },
  async run (ctx) {
    const p = ctx.quick ? quickParams(ctx.nodes) : fullParams(ctx.nodes)
    const schedule = drawSchedule(p, ctx.seed)
    const runs: Run[] = []
    for (const g of GEOMETRIES) {
      for (const repair of REPAIRS) {
        ctx.signal.throwIfAborted()
        runs.push(simulate(g, repair, p, schedule))
        const last = runs[runs.length - 1].days.at(-1)
        ctx.progress.update(`${g.name}, repair ${repair}: ${last?.surviving ?? 0}/${p.files} files survive ${p.days} days`, true)
        // Let an interrupt or the time limit through between runs.
        await setImmediate()
      }
    }
    // What waiting out outages saves: the same runs replacing every holder down at a check.
    const noGrace = [GEOMETRIES[1], GEOMETRIES[3]].map(g => simulate(g, 'holders', { ...p, graceHours: 0 }, schedule))
    return report({ runs, noGrace }, p, targets(runs, p, ctx.seed), schedule.nodes.length)
  }
}
