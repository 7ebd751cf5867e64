// swarm: one file, more and more providers; fetch throughput and each provider's share.
//
// Every node is its own `peerlink daemon` process, so providers do not share an event loop
// with the fetcher. For each provider count p the first p providers hold the file (they
// added it) and a fresh daemon fetches it by CID through the DHT, to a file, checked
// byte-for-byte; the fetcher is stopped afterwards.
import { createHash } from 'node:crypto'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { runCli } from '../lib/cli.js'
import { startDaemonProcess, stopDaemonProcess, type DaemonProcess } from '../lib/daemons.js'
import { barChart, lineChart } from '../lib/plot.js'
import type { Scenario, ScenarioResult } from '../lib/scenario.js'
import { round } from '../lib/stats.js'

const COUNTS = [1, 2, 4, 8, 16]
const QUICK_COUNTS = [1, 2, 3]

export interface Run { providers: number, mbps: number, ms: number, identical: boolean, shares: Array<{ peer: number, share: number }> }

export const swarm: Scenario = {
  name: 'swarm',
  description: 'one file from 1 to 16 providers: throughput and per-provider share',
  nodes: { default: 16, quick: 2, min: 1, max: 32 },
  timeLimit: { quick: 120_000, full: 1_200_000 },
  async run (ctx) {
    const counts = [...new Set([...(ctx.quick ? QUICK_COUNTS : COUNTS).filter(c => c < ctx.nodes), ctx.nodes])]
    const size = (ctx.quick ? 8 : 256) * 1024 * 1024
    const input = join(ctx.dir, 'swarm.bin')
    const bytes = ctx.rng.bytes(size)
    await writeFile(input, bytes)
    const digest = createHash('sha256').update(bytes).digest('hex')
    const daemons: DaemonProcess[] = []
    ctx.defer(async () => { await Promise.all(daemons.map(async d => await stopDaemonProcess(d))) })
    const start = async (name: string, bootstrap: string[]): Promise<DaemonProcess> => {
      const d = await startDaemonProcess(join(ctx.dir, name), { bootstrap })
      daemons.push(d)
      return d
    }
    const cli = async (d: DaemonProcess, ...args: string[]): Promise<string> => {
      const r = await runCli(['--repo', d.repo, ...args], {}, 300_000)
      if (r.code !== 0) throw new Error(`peerlink ${args[0]} failed (${String(r.code)}): ${r.stderr.trim()}`)
      return r.stdout
    }
    const providers: DaemonProcess[] = []
    let cid = ''
    const runs: Run[] = []
    for (const p of counts) {
      while (providers.length < p) {
        ctx.signal.throwIfAborted()
        const d = await start(`provider${providers.length}`, providers.slice(0, 2).flatMap(x => x.dialable))
        cid = (JSON.parse(await cli(d, 'add', '--json', input)) as Array<{ cid: string }>)[0].cid
        providers.push(d)
        ctx.progress.update(`${providers.length} providers hold the file`)
      }
      await new Promise(resolve => setTimeout(resolve, 500)) // the last provide settles at its peers
      const fetcher = await start(`fetcher${p}`, providers.slice(0, 2).flatMap(x => x.dialable))
      const out = join(ctx.dir, `out${p}.bin`)
      try {
        const t0 = performance.now()
        const r = JSON.parse(await cli(fetcher, 'fetch', cid, '-o', out, '--json')) as { size: number, providers: Array<{ peer: string, bytes: number }> }
        const ms = performance.now() - t0
        const identical = createHash('sha256').update(await readFile(out)).digest('hex') === digest
        const total = r.providers.reduce((a, x) => a + x.bytes, 0)
        const shares = providers.slice(0, p).map((d, i) => ({ peer: i + 1, share: round((r.providers.find(x => x.peer === d.info.peerId)?.bytes ?? 0) / Math.max(1, total), 3) }))
        runs.push({ providers: p, mbps: round(size / ms / 1000), ms: round(ms), identical, shares })
        ctx.progress.update(`${p} providers: ${runs.at(-1)?.mbps} MB/s, ${shares.filter(s => s.share > 0).length} served`, true)
      } finally {
        await stopDaemonProcess(fetcher)
        daemons.splice(daemons.indexOf(fetcher), 1)
        await rm(out, { force: true })
      }
    }
    return report(runs, size, ctx.quick)
  }
}

/** The results, from the fetches alone (no I/O). */
export function report (runs: Run[], size: number, quick: boolean): ScenarioResult {
  const one = runs[0]
  const best = runs.reduce((a, b) => b.mbps > a.mbps ? b : a)
  const last = runs.at(-1) as Run
  return {
    headline: {
      file_mib: size / 1024 / 1024,
      mbps_1_provider: one.mbps,
      mbps_most_providers: last.mbps,
      most_providers: last.providers,
      best_mbps: best.mbps,
      best_at_providers: best.providers,
      providers_serving_at_most: last.shares.filter(s => s.share > 0).length
    },
    targets: [
      { name: 'every fetch byte-identical', ok: runs.every(r => r.identical), detail: `${runs.filter(r => r.identical).length}/${runs.length}` },
      // A quick run's small file measures start-up and lookups more than transfer.
      ...(quick ? [] : [{ name: 'more providers never slower than one (within 10 %)', ok: runs.every(r => r.mbps >= one.mbps * 0.9), detail: runs.map(r => `${r.providers}: ${r.mbps} MB/s`).join(', ') }])
    ],
    data: { runs, fileBytes: size },
    plots: [
      { name: 'throughput', title: 'Fetch throughput against providers', spec: lineChart('fetch throughput (MB/s)', runs.map(r => ({ providers: r.providers, mbps: r.mbps })), { field: 'providers', title: 'providers', log: true }, { field: 'mbps', title: 'MB/s' }) },
      { name: 'shares', title: 'Per-provider share', spec: barChart('share of blocks served by each provider', runs.flatMap(r => r.shares.map(s => ({ providers: r.providers, peer: `provider ${s.peer}`, share: s.share }))), { field: 'providers', title: 'providers' }, { field: 'share', title: 'share of bytes' }, { field: 'peer', title: 'provider' }) }
    ],
    notes: [
      `A ${size / 1024 / 1024} MiB file; every node a separate daemon process on 127.0.0.1; the machine has 2 cores, so many providers compete with the fetcher for CPU.`,
      'Throughput is the file size over the wall time of `peerlink fetch` (CLI start to output written and synced).'
    ]
  }
}
