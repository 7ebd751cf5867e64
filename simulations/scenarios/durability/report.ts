// The durability scenario's results, from its runs alone (no I/O): headline figures, targets,
// plots, notes and the data for results.json.
import { lineChart } from '../../lib/plot.js'
import type { ScenarioResult, Target } from '../../lib/scenario.js'
import { round, sum } from '../../lib/stats.js'
import type { Repair, Run } from './model.js'
import type { Params } from './schedule.js'

const GiB = 2 ** 30
const MiB = 2 ** 20

export interface RunSummary {
  geometry: string
  k: number
  m: number
  /** Bytes stored per byte of data: (k + m) / k. */
  overhead: number
  repair: Repair
  /** Shares of the files at the end of the run. */
  surviving: number
  available: number
  firstLossDay: number | null
  repairGiB: number
  repairMiBPerDay: number
  stripesRepaired: number
}

export function summarize (run: Run, files: number): RunSummary {
  const { k, m, name } = run.geometry
  const last = run.days[run.days.length - 1]
  const bytes = sum(run.days, d => d.repairBytes)
  return {
    geometry: name,
    k,
    m,
    overhead: round((k + m) / k, 2),
    repair: run.repair,
    surviving: round(last.surviving / files, 3),
    available: round(last.available / files, 3),
    firstLossDay: run.firstLossDay,
    repairGiB: round(bytes / GiB, 2),
    repairMiBPerDay: round(bytes / MiB / run.days.length, 1),
    stripesRepaired: sum(run.days, d => d.stripesRepaired)
  }
}

const REPAIR_TITLE: Record<Repair, string> = { off: 'no repair', owner: 'repair by the owner', holders: 'repair by the owner, holders taking over' }

/** Week by week (the last week may be short): the survivors at its end and the mean repair traffic a day. */
function weekly (run: Run, files: number): Array<{ day: number, surviving: number, mib: number, geometry: string }> {
  const weeks = []
  for (let end = 7; end < run.days.length + 7; end += 7) {
    const days = run.days.slice(end - 7, end)
    if (days.length === 0) break
    const last = days[days.length - 1]
    weeks.push({ day: last.day, surviving: round(last.surviving / files, 3), mib: round(sum(days, d => d.repairBytes) / MiB / days.length, 1), geometry: run.geometry.name })
  }
  return weeks
}

function plots (runs: Run[], p: Params): ScenarioResult['plots'] {
  const survival = (repair: Repair): ScenarioResult['plots'][number] => {
    const values = runs.filter(r => r.repair === repair).flatMap(r => weekly(r, p.files))
    return { name: `survival-${repair}`, title: `Files surviving, ${REPAIR_TITLE[repair]}`, spec: lineChart(`files surviving, ${REPAIR_TITLE[repair]}`, values, { field: 'day', title: 'day' }, { field: 'surviving', title: 'share of files surviving' }, { field: 'geometry', title: 'storage' }) }
  }
  const bytes = runs.filter(r => r.repair === 'holders').flatMap(r => weekly(r, p.files))
  return [
    survival('off'),
    survival('owner'),
    survival('holders'),
    { name: 'repair-bytes', title: 'Repair bytes moved per day (holders taking over)', spec: lineChart('repair traffic a day (weekly mean), holders taking over', bytes, { field: 'day', title: 'day' }, { field: 'mib', title: 'MiB read and written a day' }, { field: 'geometry', title: 'storage' }) }
  ]
}

/** The results of every run; `targets` come from the caller, which can re-run to check determinism. */
export function report ({ runs, noGrace }: { runs: Run[], noGrace: Run[] }, p: Params, targets: Target[], nodesSeen: number): ScenarioResult {
  const summaries = runs.map(r => summarize(r, p.files))
  const noGraceSummaries = noGrace.map(r => summarize(r, p.files))
  const headline: Record<string, string> = {}
  const line = (s: RunSummary, label: string): void => {
    headline[`${s.geometry} (${s.overhead}×), ${label}`] = `${round(s.surviving * 100, 1)} % survive, ${round(s.available * 100, 1)} % available at the end; first loss ${s.firstLossDay === null ? 'never' : `day ${s.firstLossDay}`}; ${s.repairGiB} GiB moved (${s.repairMiBPerDay} MiB/day)`
  }
  for (const s of summaries) line(s, REPAIR_TITLE[s.repair])
  for (const s of noGraceSummaries) line(s, `${REPAIR_TITLE[s.repair]}, no grace`)
  const stored = p.files * p.dataBlocks * p.blockBytes
  return {
    headline,
    targets,
    data: { params: p, nodesSeen, dataGiB: round(stored / GiB, 2), summaries, noGrace: noGraceSummaries, runs: runs.map(r => ({ geometry: r.geometry, repair: r.repair, firstLossDay: r.firstLossDay, days: r.days })) },
    plots: plots(runs, p),
    notes: [
      `${p.nodes} storage nodes at the start (${nodesSeen} over the run), ${p.days} days in hours; ${p.files} files of ${p.dataBlocks} data blocks of ${p.blockBytes / MiB} MiB (${round(stored / GiB, 2)} GiB of data) from ${p.owners} owners.`,
      `Churn: a node leaves for good with chance ${p.leavePerDay} a day, ${p.joinPerDay * p.nodes} new nodes join a day, an up node goes down for ${p.outageHours[0]}–${p.outageHours[1]} h with chance ${p.outagePerDay} a day; an owner goes away for ${p.awayDays[0]}–${p.awayDays[1]} days with chance ${p.awayPerDay} a day.`,
      'Placement is src/storage/placement.ts: stripe i of a file on the k + m nodes XOR-closest to stripeKey(root, i) (replication: the r closest), refilled with refillStripe.',
      `Repair checks each file every ${p.checkHours} h; a stripe with a holder unreachable (gone or down) for ${p.graceHours} h or more and at least k holders reachable is rebuilt, the lost blocks moved to new holders ("no grace": every holder down at a check is replaced). A rebuild counts k blocks read plus the lost blocks written (replication: one copy read, the lost copies written).`,
      `"holders taking over": once the owner has been away ${p.takeoverHours} h, the stripe's holders repair it on the same schedule; "owner" repairs only while the owner is there.`,
      'A file survives while every stripe has k blocks on nodes that have not left; it is available while every stripe has k blocks on nodes up at that moment.',
      'Left out: storage offers and full holders, leases (owner absences here are shorter than the 30-day lease), bandwidth and the time a rebuild takes, DAG nodes, correlated failures.'
    ]
  }
}
