// The partition scenario's results, from its measurements alone (no I/O): headline figures,
// targets, plots, notes and the data for results.json.
import type { PlotSpec } from '../../lib/plot.js'
import { barChart } from '../../lib/plot.js'
import type { ScenarioResult } from '../../lib/scenario.js'
import { median, percentile, round } from '../../lib/stats.js'
import { CONCURRENCY, FILE_MAX, FILE_MIN, NETEM_LABEL, PHASE_LABEL, PHASES, RECOVERY_LOOKUP_MS, type FilePlan, type Phase, type Timing } from './plan.js'

export interface Added { plan: FilePlan, cid?: string, ms: number, provided?: boolean, error?: string }

export interface Sample {
  phase: Phase
  file: string
  cid: string
  from: number
  to: number
  size: number
  ok: boolean
  /** Wall time of the CLI call (process start included), ms. */
  wallMs: number
  /** The daemon's own fetch time (FetchResult.ms), for successful fetches. */
  fetchMs?: number
  providers?: number
  /** Seconds since the connected phase started. */
  at: number
  error?: string
  timedOut?: boolean
}

export interface Mesh { counts: number[], full: boolean, ms: number, unanswered: number }
export interface Reachability { cross: number, crossOpen: number, same: number, sameClosed: number }
export interface TcpAcross { connections: number, backingOff: number, maxRtoMs: number, maxBackoff: number }
export interface RecoveryPoll { at: number, file: string, from: number, found: boolean, ms: number, error?: string }
export interface Recovery { ms?: number, probes: Array<{ file: string, from: number }>, polls: RecoveryPoll[] }

export interface PartitionMeasurements {
  nodes: number
  timing: Timing
  sideA: number[]
  sideB: number[]
  /** Names in the lab, for the notes. */
  lab: { tag: string, bridgeA: string, bridgeB: string, subnet: string }
  /** The netem label, or 'unavailable' with the reason in netemWhy. */
  netem: string
  netemWhy: string
  peerIds: string[]
  mesh: Mesh
  /** Seconds since the connected phase started. */
  partitionAt: number
  healAt: number
  reachability: { partitioned: Reachability, healed: Reachability }
  /** Undefined when `ss` was not found. */
  tcpAtHeal?: TcpAcross
  recovery: Recovery
  added: Added[]
  samples: Sample[]
  cpus: number
}

/** Distinct failure messages per phase (CIDs and peer ids shortened away), with counts. */
export function countErrors (failed: Sample[]): Array<{ phase: Phase, error: string, count: number }> {
  const out: Array<{ phase: Phase, error: string, count: number }> = []
  for (const s of failed) {
    const error = (s.error ?? '').replace(/\b(baf|bafk|Qm|12D3)[A-Za-z0-9]{20,}/g, '<id>')
    const e = out.find(x => x.phase === s.phase && x.error === error)
    if (e !== undefined) e.count++
    else out.push({ phase: s.phase, error, count: 1 })
  }
  return out
}

const pct = (x: number): string => Number.isNaN(x) ? 'n/a' : `${round(x * 100)} %`
const num = (x: number, digits = 1): number | string => Number.isNaN(x) ? 'n/a' : round(x, digits)

/** Figures per phase, from the samples. */
function phases (samples: Sample[]): { by: (p: Phase) => Sample[], rate: (p: Phase) => number, okMs: (p: Phase) => number[] } {
  const by = (p: Phase): Sample[] => samples.filter(s => s.phase === p).sort((a, b) => a.at - b.at)
  const rate = (p: Phase): number => by(p).length === 0 ? NaN : by(p).filter(s => s.ok).length / by(p).length
  const okMs = (p: Phase): number[] => by(p).filter(s => s.ok).map(s => s.fetchMs as number)
  return { by, rate, okMs }
}

interface PhaseFigures { phase: Phase, label: string, fetches: number, ok: number, success: number, success_pct: number, median_ms: number, p90_ms: number, failed_median_wall_ms: number, timed_out: number }

/** The per-phase table of results.json and the plots. */
function phaseFigures ({ by, rate, okMs }: ReturnType<typeof phases>): PhaseFigures[] {
  return PHASES.map(p => ({
    phase: p,
    label: PHASE_LABEL[p],
    fetches: by(p).length,
    ok: by(p).filter(s => s.ok).length,
    success: round(rate(p), 3),
    success_pct: round(rate(p) * 100, 1),
    median_ms: round(median(okMs(p))),
    p90_ms: round(percentile(okMs(p), 90)),
    failed_median_wall_ms: round(median(by(p).filter(s => !s.ok).map(s => s.wallMs))),
    timed_out: by(p).filter(s => s.timedOut === true).length
  }))
}

export function report (m: PartitionMeasurements): ScenarioResult {
  const samples = phases(m.samples)
  const { by, rate, okMs } = samples
  const perPhase = phaseFigures(samples)
  const crossFails = by('partitioned_cross').filter(s => !s.ok)
  // A healed fetch counts once: it worked at the first try or at the retry.
  const eventually = by('healed').length === 0 ? NaN : by('healed').filter(h => h.ok || by('healed_retry').some(r => r.ok && r.cid === h.cid && r.to === h.to)).length / by('healed').length
  const duringPartition = m.added.filter(a => a.plan.phase === 'partitioned').map(a => ({ node: a.plan.adder, ms: round(a.ms), provided: a.provided }))
  const recoveredIn = m.recovery.ms !== undefined ? round(m.recovery.ms / 1000) : undefined
  const headline: Record<string, number | string | boolean> = {
    nodes: m.nodes,
    netem: m.netem,
    connected_success: num(rate('connected'), 3),
    partitioned_same_side_success: num(rate('partitioned_same_side'), 3),
    partitioned_cross_success: num(rate('partitioned_cross'), 3),
    healed_success: num(rate('healed'), 3),
    healed_retry_success: num(rate('healed_retry'), 3),
    healed_eventual_success: num(eventually, 3),
    connected_median_ms: num(median(okMs('connected'))),
    partitioned_same_side_median_ms: num(median(okMs('partitioned_same_side'))),
    partitioned_cross_median_ms: num(median(okMs('partitioned_cross'))),
    healed_median_ms: num(median(okMs('healed'))),
    partitioned_cross_fail_median_ms: num(median(crossFails.map(s => s.wallMs))),
    partitioned_cross_killed: crossFails.filter(s => s.timedOut === true).length,
    partition_add_median_ms: num(median(duringPartition.map(a => a.ms))),
    heal_recovery_s: recoveredIn ?? `not within ${m.timing.recovery / 1000} s`,
    tcp_rto_across_at_heal_max_ms: m.tcpAtHeal?.maxRtoMs ?? 'n/a'
  }
  const targets = [
    { name: 'connected: fetch success 100 %', ok: rate('connected') === 1, detail: `${pct(rate('connected'))} of ${by('connected').length}` },
    { name: 'partitioned, same side: fetch success ≥ 90 %', ok: rate('partitioned_same_side') >= 0.9, detail: `${pct(rate('partitioned_same_side'))} of ${by('partitioned_same_side').length}` },
    {
      name: `healed, across: fetch success ≥ 90 % within ${m.timing.recovery / 1000} s of the heal (first try after a ${m.timing.settle / 1000} s settle, or a retry once lookups across work)`,
      ok: eventually >= 0.9,
      detail: `${pct(eventually)} of ${by('healed').length}; first try ${pct(rate('healed'))}; lookups across worked ${recoveredIn !== undefined ? `${recoveredIn} s` : `not within ${m.timing.recovery / 1000} s`} after the heal`
    }
  ]
  const timeline: Array<Record<string, unknown>> = m.samples.map(s => ({ at: s.at, ms: s.ok ? s.fetchMs : s.wallMs, phase: PHASE_LABEL[s.phase], outcome: s.ok ? 'fetched' : s.timedOut === true ? 'killed (no answer)' : 'failed' }))
  const errors = countErrors(m.samples.filter(s => !s.ok))
  return {
    headline,
    data: {
      netem: m.netem,
      netemWhy: m.netemWhy === '' ? undefined : m.netemWhy,
      sideA: m.sideA,
      sideB: m.sideB,
      peerIds: m.peerIds,
      mesh: m.mesh,
      partitionAt: round(m.partitionAt, 2),
      healAt: round(m.healAt, 2),
      settleMs: m.timing.settle,
      fetchTimeoutMs: m.timing.fetch,
      reachability: m.reachability,
      tcpAtHeal: m.tcpAtHeal,
      recovery: { ...m.recovery, waitMs: m.timing.recovery },
      phases: perPhase,
      added: m.added.map(a => ({ file: a.plan.name, size: a.plan.size, node: a.plan.adder, phase: a.plan.phase, cid: a.cid, ms: round(a.ms), provided: a.provided, error: a.error })),
      errors,
      // In schedule order (the order they finished in depends on timing).
      samples: [...m.samples].sort((a, b) => PHASES.indexOf(a.phase) - PHASES.indexOf(b.phase) || a.file.localeCompare(b.file) || a.to - b.to)
    },
    targets,
    plots: [
      { name: 'success', title: 'Fetch success by phase', spec: barChart('fetch success by phase', perPhase.filter(p => p.fetches > 0).map(p => ({ phase: p.label, success: p.success_pct })), { field: 'phase', title: 'phase' }, { field: 'success', title: 'fetches that worked (%)' }) },
      { name: 'fetch-times', title: 'Fetch times by phase', spec: barChart('median fetch time (fetches that worked)', perPhase.filter(p => p.ok > 0).map(p => ({ phase: p.label, ms: p.median_ms })), { field: 'phase', title: 'phase' }, { field: 'ms', title: 'ms' }) },
      { name: 'timeline', title: 'Every fetch over time', spec: timelineChart(timeline, m.partitionAt, m.healAt) }
    ],
    notes: notes(m, rate('healed'), duringPartition, errors)
  }
}

function notes (m: PartitionMeasurements, healedRate: number, duringPartition: Array<{ ms: number, provided?: boolean }>, errors: ReturnType<typeof countErrors>): string[] {
  const { lab, mesh, recovery, tcpAtHeal, timing } = m
  const meshCounts = mesh.counts.map(c => c < 0 ? '?' : c).join(', ')
  const connectedFiles = m.added.filter(a => a.plan.phase === 'connected').length
  return [
    `${m.nodes} \`peerlink daemon\` processes, each in its own network namespace (${lab.tag}-0…${m.nodes - 1}) with a veth pair to a bridge in the root namespace (${lab.bridgeA}), addresses ${lab.subnet}.1…${m.nodes}/24; every node bootstraps from node 0; node identities come from the seed. Before the phases every node waited (up to ${timing.mesh / 1000} s) to be connected to every other: ${mesh.full ? `all were, after ${round(mesh.ms / 1000)} s` : `not all were; peers per node at the start ${meshCounts} (? = its API did not answer)`}.`,
    m.netem === 'unavailable'
      ? `netem unavailable (${m.netemWhy}): the run had no added latency or loss; veth on one host answers in well under a millisecond.`
      : `netem ${NETEM_LABEL} on each node's own interface (egress), so a packet between two nodes is delayed once and may be lost once; round trips ≈ 40 ms.`,
    `Halves A = nodes ${m.sideA.join(', ')} and B = nodes ${m.sideB.join(', ')} (from the seed). The partition moves B's veth ends to a second bridge (${lab.bridgeB}); TCP connects between the halves were checked to fail (and within each half to work) before measuring, and to work again after the heal.`,
    `Connected: ${connectedFiles} files of ${FILE_MIN / 1024} KiB–${FILE_MAX / 1048576} MiB added on random nodes, each fetched by CID from other nodes. Partitioned: each side adds fresh files (held only there), fetched from the same side and from the other side. Healed: after a ${timing.settle / 1000} s settle, the nodes that failed across fetch the same files again.`,
    `Fetches are \`peerlink fetch <cid> --pin-only --json\` run inside the node's namespace, at most ${CONCURRENCY} at once, killed after ${timing.fetch / 1000} s; fetch times are the daemon's own (FetchResult.ms) for fetches that worked, wall times of the CLI call for those that failed. A fetch's time includes pinning and providing the root once it has the data, and during the partition that provide also waits on DHT peers across it. ${m.cpus} CPUs shared by every daemon and CLI process.`,
    `Adds during the partition took ${duringPartition.map(a => `${a.ms} ms`).join(', ')} (provided: ${duringPartition.map(a => String(a.provided)).join(', ')}).`,
    `Recovery: from the heal on, node ${recovery.probes.map(p => `${p.from} asked the DHT for ${p.file} (held across)`).join(' and node ')} every second (\`peerlink find-providers --timeout ${RECOVERY_LOOKUP_MS}\`) until it named a holder: ${recovery.ms !== undefined ? `both did ${round(recovery.ms / 1000)} s after the heal` : `not within ${timing.recovery / 1000} s`}. ${recovery.ms !== undefined ? 'Fetches that failed after the heal were retried then (phase "healed, retried").' : 'Fetches that failed after the heal were not retried.'}`,
    tcpAtHeal === undefined
      ? 'TCP state at the heal not recorded (`ss` not found).'
      : `At the heal, ${tcpAtHeal.connections} TCP connections across the partition were still open; ${tcpAtHeal.backingOff} were in retransmission backoff (RTO up to ${tcpAtHeal.maxRtoMs} ms, backoff up to ${tcpAtHeal.maxBackoff}).${healedRate < 1 && tcpAtHeal.backingOff > 0 ? ' libp2p keeps using such a connection and dials nothing new while it is open (PeerLink sets the connection monitor not to abort a connection whose ping fails: CONNECTION_MONITOR in src/node/host.ts), so traffic across resumes only at TCP\'s next retransmission.' : ''}`,
    errors.length > 0 ? `Errors seen: ${errors.map(e => `${e.count}× ${e.phase}: "${e.error}"`).join('; ')}.` : 'No fetch failed.'
  ]
}

/** Each fetch as a point (time since the start against its duration), partition and heal as rules. */
function timelineChart (values: Array<Record<string, unknown>>, partitionAt: number, healAt: number): PlotSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'every fetch: when it started and how long it took (rules: partition, heal)',
    width: 480,
    height: 280,
    layer: [
      {
        data: { values },
        mark: { type: 'point', filled: true, size: 60 },
        encoding: {
          x: { field: 'at', type: 'quantitative', title: 'seconds since the first phase started' },
          y: { field: 'ms', type: 'quantitative', title: 'ms (to the result or the error)' },
          color: { field: 'phase', type: 'nominal', title: 'phase' },
          shape: { field: 'outcome', type: 'nominal', title: 'outcome' }
        }
      },
      {
        data: { values: [{ at: round(partitionAt, 2), event: 'partition' }, { at: round(healAt, 2), event: 'heal' }] },
        mark: { type: 'rule', strokeDash: [4, 4], color: 'gray' },
        encoding: { x: { field: 'at', type: 'quantitative' } }
      }
    ]
  } as PlotSpec
}
