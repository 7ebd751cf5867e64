// churn: a network of separate `peerlink daemon` processes on 127.0.0.1 in which nodes crash
// (kill -9), leave gracefully (SIGTERM) and join (crashed repos restarted, or new repos)
// every period while files are added and fetched through the CLI. Measured: how many
// fetches succeed when at least one live node holds the file whole, how long they take, how
// many provider records in the DHT name nodes that are gone, and how many of the live
// holders the records name (a restarted node reprovides its pins at once; the periodic
// reprovide, every 12 h, never comes round in a run this short).
//
// Two nodes are stable bootstrap nodes that never churn; a few nodes add the first files
// before the first period. Each period: some live nodes add a new random file while other
// live nodes fetch earlier files by CID, and this period's crashes and leaves land at random
// moments among them; then as many nodes join as went; then, for a sample of files, a live
// node asks the DHT who provides them. The seed fixes who crashes, leaves, joins, adds and
// fetches what, and the file contents; timings are measured.
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { pool } from '../../lib/pool.js'
import { ProcessSet } from '../../lib/processes.js'
import type { Scenario, ScenarioContext, ScenarioResult } from '../../lib/scenario.js'
import { Fleet } from './fleet.js'
import { CENSUS_CONCURRENCY, FETCH_CONCURRENCY, SIZES, TIMEOUT, planAdds, planJoins, planPeriod, planWork, type Sizes } from './plan.js'
import { periodStats, report, type PeriodStats } from './report.js'
import { Work } from './work.js'

export const churn: Scenario = {
  name: 'churn',
  description: 'nodes crash, leave and join while files are added and fetched: fetch success, time to fetch, stale provider records',
  nodes: { default: 12, quick: 5, min: 4, max: 40 },
  timeLimit: { quick: 90_000, full: 900_000 },
  run
}

async function run (ctx: ScenarioContext): Promise<ScenarioResult> {
  const sizes = ctx.quick ? SIZES.quick : SIZES.full
  const filesDir = join(ctx.dir, 'files')
  await mkdir(filesDir, { recursive: true })
  // Every daemon and CLI child of the run, stopped when it ends, fails or is interrupted.
  const processes = new ProcessSet('the churn scenario')
  ctx.defer(async () => { await processes.close(TIMEOUT.stop) })
  const fleet = new Fleet(ctx.dir, processes, ctx.signal)
  const work = new Work(fleet, processes, filesDir)
  let nextFile = 0
  const next = (): number => nextFile++

  ctx.progress.update(`starting ${ctx.nodes} daemons`, true)
  const started = Date.now()
  await fleet.startAll(ctx.nodes)
  const startMs = Date.now() - started
  ctx.progress.update(`${ctx.nodes} daemons up in ${(startMs / 1000).toFixed(1)} s`, true)

  // Files to fetch in the first period.
  ctx.progress.update(`${sizes.adds} nodes add the first files`, true)
  await work.add(planAdds(ctx.rng, ctx.rng.sample(fleet.live(), sizes.adds), 0, next))

  const periods: PeriodStats[] = []
  for (fleet.period = 1; fleet.period <= sizes.periods; fleet.period++) {
    const stats = await runPeriod(ctx, fleet, work, sizes, next)
    periods.push(stats)
    ctx.progress.update(`period ${stats.period}/${sizes.periods}: ${stats.eligibleOk}/${stats.eligible} eligible fetches ok, ${stats.staleRecords}/${stats.records} provider records stale`, true)
  }
  fleet.over = true
  return report({ nodes: ctx.nodes, sizes, startMs, fleet, files: work.files, fetches: work.fetches, census: work.census, addFailures: work.addFailures, periods })
}

/** One period: adds, fetches and churn at once; then joins; then the provider-record census. */
async function runPeriod (ctx: ScenarioContext, fleet: Fleet, work: Work, sizes: Sizes, next: () => number): Promise<PeriodStats> {
  const { rng, signal } = ctx
  const period = fleet.period
  const tag = `period ${period}/${sizes.periods}`
  const stepMs = { work: 0, join: 0, census: 0 }
  let stepStart = Date.now()
  const endStep = (name: keyof typeof stepMs): void => { stepMs[name] = Date.now() - stepStart; stepStart = Date.now() }
  signal.throwIfAborted()

  // 1. Who goes this period, who adds a file, and which fetches run meanwhile.
  const plan = planPeriod(rng, fleet.live())
  const toAdd = planAdds(rng, rng.sample(plan.staying, sizes.adds), period, next)
  planWork(rng, plan, work.files, sizes.fetches)

  // 2. The adds, the fetches and the crashes and leaves, all at once.
  signal.throwIfAborted()
  ctx.progress.update(`${tag}: ${toAdd.length} adds and ${plan.fetches.length} fetches while ${plan.crashers.length} crash and ${plan.leavers.length} leave`)
  const [added] = await Promise.all([
    work.add(toAdd),
    pool(plan.fetches, FETCH_CONCURRENCY, async ({ fetcher, file }) => {
      signal.throwIfAborted()
      await work.fetch(fetcher, file)
    }),
    Promise.all(plan.churn.map(async (c) => {
      await sleep(c.delay, undefined, { signal })
      if (c.kind === 'crash') await fleet.crash(c.n)
      else await fleet.leave(c.n)
    }))
  ])
  endStep('work')
  const liveAfterChurn = fleet.live().length

  // 3. As many join as went: some crashed repos come back (recovery), the rest are new.
  signal.throwIfAborted()
  const joiners = planJoins(rng, plan.crashers.length + plan.leavers.length, fleet.nodes, () => fleet.newNode())
  ctx.progress.update(`${tag}: ${joiners.length} nodes join (${joiners.filter(j => j.kind === 'restart').length} restarted after a crash)`)
  await Promise.all(joiners.map(async (j) => {
    await fleet.launch(j.n)
    fleet.event(j.n, j.kind)
  }))
  endStep('join')

  // 4. Provider records: who the DHT names for a sample of files, against who is up.
  signal.throwIfAborted()
  const queries = rng.sample(work.files, sizes.censusFiles).map(file => ({ file, querier: rng.pick(fleet.live()) }))
  ctx.progress.update(`${tag}: looking up providers of ${queries.length} files`)
  await pool(queries, CENSUS_CONCURRENCY, async ({ file, querier }) => {
    signal.throwIfAborted()
    await work.lookUp(querier, file)
  })
  endStep('census')
  return periodStats({ period, liveAfterChurn, liveAfterJoin: fleet.live().length, adds: added, stepMs }, work.fetches, work.census)
}
