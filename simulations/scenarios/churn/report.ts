// The churn scenario's results, from its measurements alone (no I/O): headline figures,
// targets, plots, notes and the data for results.json.
import { barChart, lineChart } from '../../lib/plot.js'
import type { ScenarioResult } from '../../lib/scenario.js'
import { median, percentile, round, sum, tally } from '../../lib/stats.js'
import { CHURN_WINDOW_MS, CRASH_RATE, FETCH_CONCURRENCY, FILE_BYTES, LEAVE_RATE, ORPHAN_FETCHES, RESTART_SHARE, STABLE_NODES, type SimFile, type SimNode, type Sizes } from './plan.js'

export interface FetchRecord {
  period: number
  file: number
  fetcher: number
  liveHoldersAtStart: number
  eligible: boolean
  ok: boolean
  /** Daemon-side fetch time from the FetchResult; undefined on failure. */
  ms?: number
  /** Wall time of the CLI call (process start included). */
  wallMs: number
  providers?: number
  droppedProviders?: number
  /** Dropped providers whose node was up when the fetch ended (a healthy provider given up on). */
  droppedLive?: number
  /** Providers the fetch was given whose node was down when it ended (stale records, or gone mid-fetch). */
  deadProviders?: number
  rebuiltChunks?: number
  error?: string
}

export interface CensusRecord { period: number, file: number, querier: number, records: number, live: number, dead: number, deadCrashed: number, deadLeft: number, unknown: number, staleAddrs: number, liveHolders: number, liveHoldersNamed: number, error?: string }

export interface ChurnEvent { period: number, node: number, kind: 'crash' | 'leave' | 'restart' | 'join' | 'died', atMs: number }

/** A daemon that exited though nobody stopped it: a crash of PeerLink itself. */
export interface Death { period: number, node: number, exit: string, stderr: string }

export interface PeriodStats {
  period: number
  liveAfterChurn: number
  liveAfterJoin: number
  adds: number
  fetches: number
  eligible: number
  eligibleOk: number
  successRate: number
  medianFetchMs: number
  records: number
  staleRecords: number
  /** Wall time of each step. */
  stepMs: { work: number, join: number, census: number }
}

export interface ChurnMeasurements {
  nodes: number
  sizes: Sizes
  /** How long the first daemons took to start, ms. */
  startMs: number
  fleet: { nodes: Array<Omit<SimNode, 'daemon' | 'repo' | 'ports'>>, events: ChurnEvent[], deaths: Death[], daemonLog: Map<string, number> }
  files: SimFile[]
  fetches: FetchRecord[]
  census: CensusRecord[]
  addFailures: string[]
  periods: PeriodStats[]
}

/** One period's figures from its records. */
export function periodStats (p: Omit<PeriodStats, 'fetches' | 'eligible' | 'eligibleOk' | 'successRate' | 'medianFetchMs' | 'records' | 'staleRecords'>, fetches: FetchRecord[], census: CensusRecord[]): PeriodStats {
  const pf = fetches.filter(f => f.period === p.period)
  const pe = pf.filter(f => f.eligible)
  const pc = census.filter(c => c.period === p.period)
  return {
    ...p,
    fetches: pf.length,
    eligible: pe.length,
    eligibleOk: pe.filter(f => f.ok).length,
    successRate: pe.length === 0 ? NaN : pe.filter(f => f.ok).length / pe.length,
    medianFetchMs: median(pe.filter(f => f.ok).map(f => f.ms as number)),
    records: sum(pc, c => c.records),
    staleRecords: sum(pc, c => c.dead)
  }
}

export function report (m: ChurnMeasurements): ScenarioResult {
  const { fetches, census } = m
  const eligible = fetches.filter(f => f.eligible)
  const eligibleOk = eligible.filter(f => f.ok)
  const rate = eligible.length === 0 ? NaN : eligibleOk.length / eligible.length
  const times = eligibleOk.map(f => f.ms as number)
  const records = sum(census, c => c.records)
  const stale = sum(census, c => c.dead)
  const liveHolders = sum(census, c => c.error === undefined ? c.liveHolders : 0)
  const count = (kind: ChurnEvent['kind']): number => m.fleet.events.filter(e => e.kind === kind).length
  const failures = new Map<string, number>()
  for (const f of fetches) if (!f.ok) tally(failures, f.error ?? '?')
  const deaths = m.fleet.deaths
  return {
    headline: {
      fetch_success_rate_eligible: round(rate, 3),
      fetches: fetches.length,
      eligible_fetches: eligible.length,
      median_fetch_ms: round(median(times), 0),
      p90_fetch_ms: round(percentile(times, 90), 0),
      stale_provider_records_fraction: round(records === 0 ? NaN : stale / records, 3),
      live_holders_named_fraction: round(liveHolders === 0 ? NaN : sum(census, c => c.liveHoldersNamed) / liveHolders, 3),
      crashes: count('crash'),
      graceful_leaves: count('leave'),
      joins: count('join') + count('restart'),
      restarts_after_crash: count('restart')
    },
    data: data(m, failures),
    targets: [{
      name: 'fetch success ≥ 99 % with a live provider',
      ok: eligible.length > 0 && rate >= 0.99,
      detail: eligible.length === 0
        ? 'no eligible fetches ran'
        : `${eligibleOk.length} of ${eligible.length} fetches with a live holder succeeded (${round(rate * 100, 1)} %)${eligible.filter(f => !f.ok).map(f => `; period ${f.period}, file ${f.file}, node ${f.fetcher}: ${f.error ?? '?'}`).join('')}`
    }, {
      name: 'no daemon exits by itself',
      ok: deaths.length === 0,
      detail: deaths.length === 0
        ? `${sum(m.fleet.nodes, n => n.starts)} daemon starts; every exit was a planned crash or leave`
        : deaths.map(d => `period ${d.period}, node ${d.node} exited (${d.exit}); its last output:\n${d.stderr}`).join('\n')
    }],
    plots: plots(m),
    notes: notes(m)
  }
}

/** Ineligible fetches by why, and eligible ones by whether they were handed a provider that was down. */
function breakdown (fetches: FetchRecord[]): { orphaned: FetchRecord[], lostHolder: FetchRecord[], withDead: number[], withoutDead: number[] } {
  const ineligible = fetches.filter(f => !f.eligible)
  const eligibleOk = fetches.filter(f => f.eligible && f.ok)
  return {
    orphaned: ineligible.filter(f => f.liveHoldersAtStart === 0),
    lostHolder: ineligible.filter(f => f.liveHoldersAtStart > 0),
    withDead: eligibleOk.filter(f => (f.deadProviders ?? 0) > 0).map(f => f.ms as number),
    withoutDead: eligibleOk.filter(f => (f.deadProviders ?? 0) === 0).map(f => f.ms as number)
  }
}

function data (m: ChurnMeasurements, failures: Map<string, number>): Record<string, unknown> {
  const { orphaned, lostHolder, withDead, withoutDead } = breakdown(m.fetches)
  return {
    periods: m.sizes.periods,
    stableNodes: STABLE_NODES,
    rates: { crash: CRASH_RATE, leave: LEAVE_RATE, restartShare: RESTART_SHARE },
    perPeriod: { adds: m.sizes.adds, fetches: m.sizes.fetches, censusFiles: m.sizes.censusFiles },
    startMs: m.startMs,
    ineligibleFetches: {
      noLiveHolderAtStart: { count: orphaned.length, ok: orphaned.filter(f => f.ok).length },
      holdersWentDuringFetch: { count: lostHolder.length, ok: lostHolder.filter(f => f.ok).length }
    },
    fetchMsByDeadProvider: {
      some: { count: withDead.length, median: median(withDead) },
      none: { count: withoutDead.length, median: median(withoutDead) }
    },
    addFailures: m.addFailures,
    deaths: m.fleet.deaths,
    addsNotProvided: m.files.filter(f => !f.provided).length,
    staleRecordsOf: { crashed: sum(m.census, c => c.deadCrashed), left: sum(m.census, c => c.deadLeft) },
    staleAddressRecords: sum(m.census, c => c.staleAddrs),
    healthyProvidersDropped: sum(m.fetches, f => f.droppedLive ?? 0),
    censusErrors: m.census.filter(c => c.error !== undefined).length,
    failures: Object.fromEntries(failures),
    daemonLog: Object.fromEntries([...m.fleet.daemonLog].sort((a, b) => b[1] - a[1]).slice(0, 30)),
    periodStats: m.periods,
    files: m.files.map(f => ({ index: f.index, cid: f.cid, size: f.size, period: f.period, addedBy: f.addedBy, provided: f.provided, holdersAtEnd: m.fleet.nodes.filter(n => n.holds.has(f.index)).map(n => n.id) })),
    nodes: m.fleet.nodes.map(n => ({ id: n.id, stable: n.stable, state: n.state, starts: n.starts, peerId: n.peerId, holds: n.holds.size })),
    fetches: m.fetches,
    census: m.census,
    events: m.fleet.events
  }
}

function plots (m: ChurnMeasurements): ScenarioResult['plots'] {
  const rateValues = m.periods.flatMap(p => [
    { period: p.period, value: Number.isNaN(p.successRate) ? null : round(p.successRate * 100, 1), series: 'success %' },
    { period: p.period, value: p.liveAfterChurn, series: 'live nodes' }
  ])
  const timeValues = m.periods.flatMap(p => {
    const ok = m.fetches.filter(f => f.period === p.period && f.eligible && f.ok)
    return [
      { period: p.period, ms: Number.isNaN(p.medianFetchMs) ? null : round(p.medianFetchMs, 0), series: 'median' },
      { period: p.period, ms: ok.length === 0 ? null : Math.max(...ok.map(f => f.ms as number)), series: 'slowest' }
    ]
  })
  const recordValues = m.periods.flatMap(p => [
    { period: p.period, records: p.records - p.staleRecords, kind: 'names a live node' },
    { period: p.period, records: p.staleRecords, kind: 'names a dead node' }
  ])
  return [
    { name: 'success-and-live', title: 'Fetch success and live nodes per period', spec: lineChart('Eligible fetches that succeeded (%), and nodes up after the churn', rateValues, { field: 'period', title: 'period' }, { field: 'value', title: '% / nodes' }, { field: 'series', title: 'series' }) },
    { name: 'fetch-time', title: 'Time to fetch per period', spec: lineChart('Time to fetch (daemon side, successful eligible fetches)', timeValues, { field: 'period', title: 'period' }, { field: 'ms', title: 'ms' }, { field: 'series', title: 'series' }) },
    { name: 'provider-records', title: 'Provider records found per period', spec: barChart('Provider records found in the sample, by whether their node is up', recordValues, { field: 'period', title: 'period' }, { field: 'records', title: 'records' }, { field: 'kind', title: 'record' }) }
  ]
}

function notes (m: ChurnMeasurements): string[] {
  const { periods, adds, fetches: fetchesPerPeriod, censusFiles } = m.sizes
  const { orphaned, lostHolder, withDead, withoutDead } = breakdown(m.fetches)
  const staleOfCrashed = sum(m.census, c => c.deadCrashed)
  const staleOfLeft = sum(m.census, c => c.deadLeft)
  return [
    `Each node is its own \`peerlink daemon\` process on 127.0.0.1, driven through the CLI; ${STABLE_NODES} are bootstrap nodes that never churn. ${adds} nodes add files before the first of ${periods} periods. In each period, while ${adds} random live nodes add a new file (${FILE_BYTES.min / 1024} KiB to ${FILE_BYTES.max / 1048576} MiB of seeded random bytes, default import settings), up to ${fetchesPerPeriod} fetches by CID of earlier files that a node staying up holds, plus ${ORPHAN_FETCHES} of a file that only departing or dead nodes hold, run ${FETCH_CONCURRENCY} at a time (each by a random live node lacking the file, output checked byte for byte), and meanwhile ${round(CRASH_RATE * 100, 0)} % of the churnable nodes (at least one) are killed with SIGKILL and about ${round(LEAVE_RATE * 100, 0)} % stop with SIGTERM (repo deleted), at random moments in the first ${CHURN_WINDOW_MS / 1000} s; then as many nodes join, each restarting a crashed repo with probability ${RESTART_SHARE} (when there is one) or else starting a new repo; then ${censusFiles} sampled files are looked up with \`find-providers\` from a random live node.`,
    'A fetch is eligible when at least one node that holds the file whole (it added the file, or fetched all of it) was up when the fetch began and stayed up to its end. Holders hold whole files, so "a live provider per stripe" is the same as a live holder here. Times are the daemon\'s own FetchResult.ms; the wall times in results.json add the CLI process\'s start-up.',
    `Stale provider records are records naming a node that is down: ${staleOfCrashed} named crashed nodes not (yet) restarted and ${staleOfLeft} nodes that had left gracefully (a graceful stop withdraws nothing; a Kademlia provider record cannot be taken back). PeerLink reprovides every pinned root every 12 h and records live 24 h, so within a run of minutes no periodic reprovide happens and every such record stays until it expires; the only reproviding in play is the provide after each add and fetch and the round a daemon runs when it starts, which is how a restarted repo is named again. live_holders_named_fraction is how many of the live holders (other than the asking node) the lookups named: whether providing keeps up with the nodes that do hold a file.`,
    `Not counted (ineligible): ${orphaned.length} fetches of files no live node held (${orphaned.filter(f => f.ok).length} succeeded) and ${lostHolder.length} whose every holder went while they ran (${lostHolder.filter(f => f.ok).length} succeeded, having finished the transfer first). Successful eligible fetches handed a provider that was down: ${withDead.length} (median ${round(median(withDead), 0)} ms, against ${round(median(withoutDead), 0)} ms for the rest); providers that were up but dropped by a fetch: ${sum(m.fetches, f => f.droppedLive ?? 0)}. The ${m.nodes} daemons started in ${(m.startMs / 1000).toFixed(1)} s.`
  ]
}
