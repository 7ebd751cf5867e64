// Each scenario's report is a pure function of its measurements: figures, targets and
// plots follow from made-up measurements without running a network.
import { expect } from 'chai'
import { report as adversaryReport, type Fetch as AdversaryFetch } from '../../simulations/scenarios/adversary.js'
import { report as cappedReport, type Run as CappedRun } from '../../simulations/scenarios/capped/report.js'
import { periodStats, report as churnReport, type ChurnMeasurements, type FetchRecord } from '../../simulations/scenarios/churn/report.js'
import { SIZES } from '../../simulations/scenarios/churn/plan.js'
import { report as erasureReport, type Case } from '../../simulations/scenarios/erasure.js'
import { report as lookupReport } from '../../simulations/scenarios/lookup.js'
import { TIMING, type FilePlan } from '../../simulations/scenarios/partition/plan.js'
import { countErrors, report as partitionReport, type PartitionMeasurements, type Sample } from '../../simulations/scenarios/partition/report.js'
import { report as swarmReport } from '../../simulations/scenarios/swarm.js'

const fetchRecord = (o: Partial<FetchRecord>): FetchRecord => ({ period: 1, file: 0, fetcher: 2, liveHoldersAtStart: 1, eligible: true, ok: true, ms: 100, wallMs: 400, providers: 1, droppedProviders: 0, droppedLive: 0, deadProviders: 0, ...o })

function churnMeasurements (fetches: FetchRecord[]): ChurnMeasurements {
  const census = [{ period: 1, file: 0, querier: 3, records: 4, live: 3, dead: 1, deadCrashed: 1, deadLeft: 0, unknown: 0, staleAddrs: 0, liveHolders: 2, liveHoldersNamed: 2 }]
  return {
    nodes: 5,
    sizes: SIZES.quick,
    startMs: 1500,
    fleet: {
      nodes: [{ id: 0, stable: true, state: 'live', peerId: 'p0', starts: 1, holds: new Set([0]) }, { id: 1, stable: false, state: 'crashed', peerId: 'p1', starts: 2, holds: new Set() }],
      events: [{ period: 1, node: 1, kind: 'crash', atMs: 10 }, { period: 1, node: 1, kind: 'restart', atMs: 20 }],
      deaths: [],
      daemonLog: new Map([['warn: x', 2]])
    },
    files: [{ index: 0, cid: 'bafy', path: '/f', size: 10, period: 0, addedBy: 0, provided: true }],
    fetches,
    census,
    addFailures: [],
    periods: [periodStats({ period: 1, liveAfterChurn: 4, liveAfterJoin: 5, adds: 2, stepMs: { work: 1, join: 1, census: 1 } }, fetches, census)]
  }
}

describe('simulation reports', () => {
  it('churn: success counts eligible fetches only, and stale records are those naming dead nodes', () => {
    const r = churnReport(churnMeasurements([fetchRecord({ ms: 100 }), fetchRecord({ ms: 300 }), fetchRecord({ eligible: false, liveHoldersAtStart: 0, ok: false, error: 'no providers' })]))
    expect(r.headline.fetch_success_rate_eligible).to.equal(1)
    expect(r.headline.eligible_fetches).to.equal(2)
    expect(r.headline.median_fetch_ms).to.equal(200)
    expect(r.headline.stale_provider_records_fraction).to.equal(0.25)
    expect(r.headline.crashes).to.equal(1)
    expect(r.headline.restarts_after_crash).to.equal(1)
    expect(r.targets.map(t => t.ok)).to.deep.equal([true, true])
    expect(r.plots.map(p => p.name)).to.deep.equal(['success-and-live', 'fetch-time', 'provider-records'])
    expect((r.data.failures as Record<string, number>)['no providers']).to.equal(1)
  })

  it('churn: a failed eligible fetch misses the 99 % target and says which', () => {
    const r = churnReport(churnMeasurements([fetchRecord({}), fetchRecord({ ok: false, ms: undefined, error: 'timed out after 45000 ms' })]))
    expect(r.targets[0].ok).to.equal(false)
    expect(r.targets[0].detail).to.include('1 of 2').and.include('timed out after 45000 ms')
  })

  it('partition: the healed target counts a fetch once, at its first try or its retry', () => {
    const plan: FilePlan = { name: 'partitioned-A0.bin', size: 10, adder: 0, phase: 'partitioned', fetchers: [1], crossFetchers: [2] }
    const sample = (phase: Sample['phase'], ok: boolean, at: number): Sample => ({ phase, file: plan.name, cid: 'bafyx', from: 0, to: 2, size: 10, ok, wallMs: 50, ...(ok ? { fetchMs: 40 } : { error: 'no providers of bafyxxxxxxxxxxxxxxxxxxxxxxxxxxxx found' }), at })
    const m: PartitionMeasurements = {
      nodes: 4,
      timing: TIMING.quick,
      sideA: [0, 1],
      sideB: [2, 3],
      lab: { tag: 'pl1', bridgeA: 'plbr1a', bridgeB: 'plbr1b', subnet: '10.213.1' },
      netem: 'unavailable',
      netemWhy: '`tc` not found',
      peerIds: ['a', 'b', 'c', 'd'],
      mesh: { counts: [3, 3, 3, 3], full: true, ms: 1000, unanswered: 0 },
      partitionAt: 10,
      healAt: 20,
      reachability: { partitioned: { cross: 8, crossOpen: 0, same: 4, sameClosed: 0 }, healed: { cross: 8, crossOpen: 8, same: 4, sameClosed: 0 } },
      recovery: { ms: 3000, probes: [{ file: plan.name, from: 2 }], polls: [] },
      added: [{ plan, cid: 'bafyx', ms: 100, provided: true }],
      samples: [sample('connected', true, 1), sample('partitioned_same_side', true, 11), sample('partitioned_cross', false, 12), sample('healed', false, 25), sample('healed_retry', true, 30)],
      cpus: 2
    }
    const r = partitionReport(m)
    expect(r.headline.healed_success).to.equal(0)
    expect(r.headline.healed_eventual_success).to.equal(1)
    expect(r.headline.heal_recovery_s).to.equal(3)
    expect(r.headline.tcp_rto_across_at_heal_max_ms).to.equal('n/a')
    expect(r.targets.every(t => t.ok)).to.equal(true)
    expect(r.plots.map(p => p.name)).to.deep.equal(['success', 'fetch-times', 'timeline'])
    expect(countErrors(m.samples.filter(s => !s.ok))).to.deep.equal([
      { phase: 'partitioned_cross', error: 'no providers of <id> found', count: 1 },
      { phase: 'healed', error: 'no providers of <id> found', count: 1 }
    ])
  })

  it('erasure: up to m missing blocks must give identical bytes, m + 1 a DataLossError naming one', () => {
    const c = (removed: number, ok: boolean): Case => ({ file: 0, removed, ok, identical: ok, parityUsed: removed, rebuiltChunks: removed, fetchedBlocks: 10, ms: 5, ...(ok ? {} : { error: 'DataLossError: gone', namesMissing: true }) })
    const r = erasureReport([0, 1, 2, 3, 4].map(n => c(n, true)).concat(c(5, false)), 1, 4)
    expect(r.targets.map(t => t.ok)).to.deep.equal([true, true])
    expect(r.headline.parity_used_at_m).to.equal(4)
    const broken = erasureReport([c(0, true), c(5, true)], 1, 4)
    expect(broken.targets[1].ok).to.equal(false)
  })

  it('lookup: median hops are held against ceil(log2 N)', () => {
    const r = lookupReport([{ n: 8, log2n: 3, provide_median_ms: 5, find_median_ms: 4, find_p90_ms: 6, hops_median: 4, hops_max: 5, success: 1 }], [], 4)
    expect(r.targets[0].ok).to.equal(true)
    expect(r.targets[1].ok).to.equal(false)
    expect(r.headline.ceil_log2_n).to.equal(3)
  })

  it('swarm: a quick run checks identical bytes only; a full run also that more providers are not slower', () => {
    const runs = [{ providers: 1, mbps: 100, ms: 10, identical: true, shares: [{ peer: 1, share: 1 }] }, { providers: 2, mbps: 80, ms: 12, identical: true, shares: [{ peer: 1, share: 0.5 }, { peer: 2, share: 0.5 }] }]
    expect(swarmReport(runs, 8 << 20, true).targets.map(t => t.ok)).to.deep.equal([true])
    expect(swarmReport(runs, 8 << 20, false).targets.map(t => t.ok)).to.deep.equal([true, false])
    expect(swarmReport(runs, 8 << 20, true).headline.providers_serving_at_most).to.equal(2)
  })

  it('capped: throughput against min(N × R, the uncapped reference), the whole machine\'s CPU and the fetcher\'s wait for a core beside it', () => {
    const size = 96 << 20
    const perProvider = (n: number): CappedRun['perProvider'] => Array.from({ length: n }, (_, i) => ({ provider: i + 1, creditedBytes: size / n, duplicateBytes: 0, rate: 6e6, joinedMs: 100, sentBytes: size / n }))
    const run = (providers: number, mode: CappedRun['mode'], mbps: number, machineBusy: number, machineCpuS: number, fetcherWaitS = 0): CappedRun => ({ providers, capped: mode === 'capped', mode, mbps, ms: Math.round(size / mbps / 1000), fetchMs: 1000, fetcherCpuS: 1, fetcherWaitS, providersCpuS: machineCpuS - 2, machineCpuS, machineBusy, identical: true, perProvider: perProvider(providers) })
    // The 8-provider round takes 3,355 ms; its fetcher waited 1.34 s of it for a core.
    const r = cappedReport([run(1, 'uncapped', 70, 0.6, 2), run(1, 'capped', 5.9, 0.2, 3), run(8, 'capped', 30, 0.9, 6, 1.34)], { size, rounds: 3, rateMbit: 50, quick: false, cores: 2 })
    expect(r.headline.ratio_1).to.equal(0.94)
    expect(r.headline.ratio_8).to.equal(0.6)
    expect(r.headline.machine_busy_8).to.equal(0.9)
    // 6 core-seconds for 96 MiB: 64 a GiB.
    expect(r.headline.cpu_s_per_gib_8).to.equal(64)
    expect(r.targets.find(t => t.name.startsWith('throughput'))?.ok).to.equal(false)
    expect(r.notes.join('\n')).to.include('8: 90 %, 6 s (1 + 4)')
    expect(r.headline.fetcher_wait_share_8).to.equal(0.4)
    expect(r.headline.fetcher_wait_share_1).to.equal(0)
    expect(r.notes.join('\n')).to.include('waiting for a core (its run delay), as a share of each median round\'s wall time: 1 (no cap): 0 %, 1: 0 %, 8: 40 %')
    expect(r.notes.join('\n')).to.include('its main thread waiting 1.34 s for a core')
  })

  it('adversary: every fetch, attacked or not, must be identical; the penalty is attacked over control', () => {
    const f = (attacked: boolean, ms: number, identical = true): AdversaryFetch => ({ file: 0, attacked, identical, ms, dropped: attacked ? 2 : 0 })
    const kinds = ['honest', 'honest', 'corrupt', 'stall', 'hostile'] as const
    const r = adversaryReport([...kinds], [f(false, 100), f(true, 150)], 4 << 20)
    expect(r.headline.time_penalty).to.equal(1.5)
    expect(r.headline.corrupt).to.equal(1)
    expect(r.targets[0].ok).to.equal(true)
    expect(adversaryReport([...kinds], [f(false, 100), f(true, 150, false)], 4 << 20).targets[0].ok).to.equal(false)
  })
})
