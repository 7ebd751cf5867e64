// The capped scenario's results, from the runs alone (no I/O).
import { barChart, lineChart } from '../../lib/plot.js'
import type { ScenarioResult } from '../../lib/scenario.js'
import { round } from '../../lib/stats.js'

export interface Run {
  providers: number
  /**
   * False when a cap was lifted: the first provider's for the reference (it alone) and
   * `fast-first` (it among the slow ones), every provider's for `none-capped` (the machine's
   * ceiling for that many daemons).
   */
  capped: boolean
  mode: 'capped' | 'uncapped' | 'fast-first' | 'none-capped'
  /** The median round's throughput, MB/s (10^6 bytes), and its wall time. */
  mbps: number
  ms: number
  /** Of `ms`, the fetch in the daemon (the rest is the CLI's start and its request). */
  fetchMs: number
  /** CPU seconds (user + system) the fetching daemon used during the fetch. */
  fetcherCpuS: number
  /** Seconds the fetching daemon's main thread was ready to run but waited for a core. */
  fetcherWaitS: number
  /** The same for the providers' daemons, together. */
  providersCpuS: number
  /** The whole machine's busy CPU seconds during the fetch (every process and the kernel's network work), and their share of all its cores' time. */
  machineCpuS: number
  machineBusy: number
  identical: boolean
  /** Every round's throughput. */
  roundsMbps?: number[]
  /**
   * In the median round, per provider: bytes of blocks the fetch stored from it, bytes of blocks
   * it sent that had come already (duplicates, as the fetch counted them), its rate as the fetch
   * measured it (bytes/s), when it joined the fetch (ms from its start: discovery and the dial),
   * bytes its interface sent, and why it served nothing when it did not.
   */
  perProvider: Array<{ provider: number, creditedBytes: number, duplicateBytes: number, rate: number, joinedMs?: number, sentBytes: number, reason?: string }>
}

/** How each mode is named after its provider count in progress lines and notes. */
export const MODE_LABELS: Record<Run['mode'], string> = { capped: '', uncapped: ' (no cap)', 'fast-first': ' (the first one uncapped)', 'none-capped': ' (none capped)' }

export interface CappedSettings { size: number, rounds: number, rateMbit: number, quick: boolean, cores: number }

/** The ideal for N capped providers: N × R, but never more than the fetcher reached from one uncapped. */
export function ideal (n: number, rateMbit: number, uncappedMbps: number): number {
  return Math.min(n * rateMbit / 8, uncappedMbps)
}

/** When the last provider joined the fetch, ms from its start (-1 when one never did). */
function lastJoined (r: Run): number {
  return r.perProvider.some(p => p.joinedMs === undefined) ? -1 : Math.max(...r.perProvider.map(p => p.joinedMs as number))
}

export function report (runs: Run[], s: CappedSettings): ScenarioResult {
  const reference = runs.find(r => r.mode === 'uncapped') as Run
  const fast = runs.find(r => r.mode === 'fast-first')
  const machine = runs.find(r => r.mode === 'none-capped')
  const capped = runs.filter(r => r.capped)
  const rows = capped.map(r => {
    const sent = r.perProvider.reduce((a, p) => a + p.sentBytes, 0)
    const duplicate = r.perProvider.reduce((a, p) => a + p.duplicateBytes, 0)
    return { providers: r.providers, mbps: r.mbps, duplicateOverFile: round(duplicate / s.size, 3), ideal: round(ideal(r.providers, s.rateMbit, reference.mbps), 2), ratio: round(r.mbps / ideal(r.providers, s.rateMbit, reference.mbps), 2), sentOverFile: round(sent / s.size, 3) }
  })
  const headline: ScenarioResult['headline'] = { file_mib: s.size / 1024 / 1024, rate_mbit: s.rateMbit, uncapped_1_provider_mbps: reference.mbps }
  for (const r of rows) {
    headline[`mbps_${r.providers}`] = r.mbps
    headline[`ratio_${r.providers}`] = r.ratio
    headline[`sent_over_file_${r.providers}`] = r.sentOverFile
    headline[`duplicate_over_file_${r.providers}`] = r.duplicateOverFile
    const run = capped.find(c => c.providers === r.providers) as Run
    headline[`all_joined_ms_${r.providers}`] = lastJoined(run)
    headline[`machine_busy_${r.providers}`] = run.machineBusy
    headline[`cpu_s_per_gib_${r.providers}`] = round(run.machineCpuS / (s.size / 2 ** 30), 1)
    headline[`fetcher_wait_share_${r.providers}`] = waitShare(run)
  }
  if (fast !== undefined) headline.mbps_fast_first = fast.mbps
  if (machine !== undefined) headline[`mbps_${machine.providers}_none_capped`] = machine.mbps
  return {
    headline,
    targets: [
      { name: 'every fetch byte-identical', ok: runs.every(r => r.identical), detail: `${runs.filter(r => r.identical).length}/${runs.length} runs` },
      // A quick run's small file measures start-up and the lookup more than the links.
      ...(s.quick
        ? []
        : [
            { name: 'throughput ≥ 0.8 × min(N × R, uncapped single-provider rate)', ok: rows.every(r => r.ratio >= 0.8), detail: rows.map(r => `${r.providers}: ${r.mbps}/${r.ideal} = ${r.ratio}`).join(', ') },
            { name: 'bytes the providers sent ≤ 1.05 × the file', ok: rows.every(r => r.sentOverFile <= 1.05), detail: rows.map(r => `${r.providers}: ${r.sentOverFile}`).join(', ') },
            // Within the 5 % two rounds of the same fetch differ by on this machine.
            ...(fast === undefined ? [] : [{ name: 'one fast and the others slow: ≥ 0.95 × the fast one alone', ok: fast.mbps >= 0.95 * reference.mbps, detail: `${fast.providers} providers, the first uncapped: ${fast.mbps} MB/s; it alone: ${reference.mbps} MB/s` }])
          ])
    ],
    data: { runs, rows, settings: s },
    plots: [
      {
        name: 'throughput',
        title: 'Throughput against providers, each uplink capped',
        spec: lineChart(`fetch throughput (MB/s), uplinks capped at ${s.rateMbit} Mbit/s; ideal: min(N × R, uncapped)`, rows.flatMap(r => [
          { providers: r.providers, mbps: r.mbps, series: 'measured' },
          { providers: r.providers, mbps: r.ideal, series: 'ideal' }
        ]), { field: 'providers', title: 'providers', log: true }, { field: 'mbps', title: 'MB/s' }, { field: 'series', title: '' })
      },
      {
        name: 'served',
        title: 'Bytes of the file each provider served, as the fetch counted them',
        spec: barChart('bytes stored from each provider ÷ file size', capped.flatMap(r => r.perProvider.map(p => ({ providers: r.providers, provider: `provider ${p.provider}`, share: round(p.creditedBytes / s.size, 3) }))), { field: 'providers', title: 'providers' }, { field: 'share', title: 'served ÷ file' }, { field: 'provider', title: 'provider' })
      },
      {
        name: 'shares',
        title: 'Bytes each provider sent, as a share of the file',
        spec: barChart('bytes each provider sent ÷ file size', capped.flatMap(r => r.perProvider.map(p => ({ providers: r.providers, provider: `provider ${p.provider}`, share: round(p.sentBytes / s.size, 3) }))), { field: 'providers', title: 'providers' }, { field: 'share', title: 'sent ÷ file' }, { field: 'provider', title: 'provider' })
      }
    ],
    notes: [
      `A ${s.size / 1024 / 1024} MiB file; each node a daemon process in its own network namespace on one bridge; each provider's uplink capped at ${s.rateMbit} Mbit/s (${s.rateMbit / 8} MB/s) by tc tbf (64 KiB burst, 100 ms queue), the fetcher's not. This kernel has no netem: the links add no latency beyond the caps' queues.`,
      `Throughput is the file size over the wall time of \`peerlink fetch\` by a fresh fetcher (new repo and identity), the median of ${s.rounds} round${s.rounds === 1 ? '' : 's'}. The ideal is N × R, bounded by the fetcher's own single-provider rate with no cap (${reference.mbps} MB/s, measured first in the same run).`,
      ...(machine === undefined
        ? []
        : [`With no cap at all, ${machine.providers} providers gave ${machine.mbps} MB/s (rounds ${(machine.roundsMbps ?? [machine.mbps]).join(', ')}): what this machine's cores carry from that many daemons and a fetcher, against ${reference.mbps} MB/s from one. Capped, ${machine.providers} gave ${capped.find(r => r.providers === machine.providers)?.mbps ?? '–'} MB/s.`]),
      `Of each median round's wall time, the fetch in the daemon took (the rest is the CLI's start and its request; the DHT announce follows in the background): ${runs.map(r => `${r.providers}${MODE_LABELS[r.mode]}: ${round(r.fetchMs / 1000, 2)} s of ${round(r.ms / 1000, 2)} s`).join(', ')}.`,
      'Bytes sent are read from each provider\'s interface counters: they include TCP, Noise and Yamux framing and the DHT (about 2-4 % over the blocks themselves).',
      `The fetching daemon's CPU (user + system) per GiB fetched: ${runs.map(r => `${r.providers}${MODE_LABELS[r.mode]}: ${cpuPerGiB(r, s.size)} s`).join(', ')}.`,
      `The whole machine (${s.cores} cores) during each median round: its busy share, and the CPU seconds the round cost in all (every process and the kernel's network work), of which the fetcher's and the providers': ${runs.map(r => `${r.providers}${MODE_LABELS[r.mode]}: ${Math.round(r.machineBusy * 100)} %, ${r.machineCpuS} s (${r.fetcherCpuS} + ${r.providersCpuS})`).join(', ')}. A fetch at a rate needs the machine's CPU seconds for it within the file's time at that rate: where the busy share nears 100 %, the cores and not the links set the rate.`,
      `The fetching daemon's main thread, ready to run but waiting for a core (its run delay), as a share of each median round's wall time: ${runs.map(r => `${r.providers}${MODE_LABELS[r.mode]}: ${Math.round(waitShare(r) * 100)} %`).join(', ')}. The busy share above is over the whole round, the start and the tail included; this counts only the time the fetch's own thread had work and no core.`,
      ...[...capped, ...[fast, machine].filter(r => r !== undefined)].map(r => `${r.providers} provider${r.providers === 1 ? '' : 's'}${MODE_LABELS[r.mode]}: ${runLine(r, s.size)}`)
    ]
  }
}

/** The fetcher's main thread's wait for a core over the round's wall time. */
function waitShare (r: Run): number {
  return r.ms > 0 ? round(r.fetcherWaitS / (r.ms / 1000), 2) : 0
}

function cpuPerGiB (r: Run, size: number): number {
  return round(r.fetcherCpuS / (size / 2 ** 30), 2)
}

/** One run's per-provider figures as the fetch counted them, the bytes sent and the fetcher's CPU. */
export function runLine (r: Run, size: number): string {
  const sent = r.perProvider.reduce((a, p) => a + p.sentBytes, 0)
  const each = r.perProvider.map(p => `${round(p.creditedBytes / 1e6, 1)}/${round(p.duplicateBytes / 1e6, 1)} at ${round(p.rate / 1e6, 2)}, ${p.joinedMs === undefined ? 'never' : round(p.joinedMs / 1000, 2)}`)
  return `sent ÷ file ${round(sent / size, 3)}, in the daemon ${round(r.fetchMs / 1000, 2)} s of ${round(r.ms / 1000, 2)} s, fetcher CPU ${r.fetcherCpuS} s (${cpuPerGiB(r, size)} s/GiB), its main thread waiting ${r.fetcherWaitS} s for a core; per provider (MB served / duplicate at MB/s, joined after s): ${each.join('; ')}`
}
