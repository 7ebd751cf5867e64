// partition: fetch success while the network is split in two and after it heals.
//
// Every node is a `peerlink daemon` process in its own network namespace, joined to the
// others by a veth pair whose outer end sits on a bridge in the root namespace; `tc netem`
// adds latency and loss on each node's interface when the kernel has netem. Three phases:
//   connected:   files added on random nodes are fetched by CID from other nodes;
//   partitioned: one half's veth ends move to a second bridge, so the halves cannot reach
//                each other; each side adds fresh files, fetched from its own side (should
//                work) and from the other side (should fail, with an error, in bounded time);
//   healed:      the veth ends move back and, after a settle time, the other side fetches
//                again the files the partition kept from it; from the heal on, a watcher asks
//                the DHT across until it names the holders (the recovery time), and fetches
//                that failed after the heal are retried once it has.
// Adds and fetches go through the CLI run inside the node's namespace (each namespace has its
// own loopback, where the daemon's API listens), each bounded by a kill timer. The seed fixes
// the halves, who adds and fetches what, the file contents and the node identities (so the
// DHT's geometry); timings are measured. Needs Linux, root and iproute2; skipped otherwise.
import { existsSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { cpus } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { CLI } from '../../lib/cli.js'
import { Lab } from '../../lib/lab.js'
import { pool } from '../../lib/pool.js'
import { skipped, type Scenario, type ScenarioContext, type ScenarioResult } from '../../lib/scenario.js'
import { round } from '../../lib/stats.js'
import { startNetwork, checkDaemons, type PartitionNetwork } from './network.js'
import { CONCURRENCY, makePlan, type FilePlan, type Phase, type PartitionPlan } from './plan.js'
import { nodeJson, reachability, tcpAcross, watchRecovery } from './probes.js'
import { report, type Added, type Sample } from './report.js'

export const partition: Scenario = {
  name: 'partition',
  description: 'fetch success while the network is split in two and after it heals (namespaces, veth, bridges, netem)',
  nodes: { default: 6, quick: 4, min: 4, max: 16 },
  timeLimit: { quick: 120_000, full: 600_000 },
  run
}

async function run (ctx: ScenarioContext): Promise<ScenarioResult> {
  const opened = await Lab.open(ctx.defer)
  if ('skipped' in opened) return skipped(opened.skipped)
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build PeerLink first (npm run build:ts)`)
  const { lab, bridge } = opened
  const plan = makePlan(ctx.rng, ctx.nodes, ctx.quick)
  const bridgeB = await lab.addBridge('b')
  const net = await startNetwork(ctx, lab, bridge, plan)
  if (typeof net === 'string') return skipped(net)
  const work = new Work(ctx, lab, net, plan)

  // 1. Connected.
  ctx.progress.update('connected: adding', true)
  const connectedFiles = await work.add(plan.files.filter(f => f.phase === 'connected'))
  await work.fetch('connected', connectedFiles.flatMap(file => file.plan.fetchers.map(to => ({ phase: 'connected' as const, file, to }))))
  checkDaemons(net)

  // 2. Partitioned: side B's veth ends move to the second bridge.
  ctx.progress.update(`partitioning: A = nodes ${plan.sideA.join(',')}, B = nodes ${plan.sideB.join(',')}`, true)
  const partitionAt = work.since()
  for (const n of net.nodes.filter(n => n.side === 'B')) await lab.attach(n, bridgeB)
  const split = await reachability(lab, net.nodes)
  if (split.crossOpen > 0 || split.sameClosed > 0) throw new Error(`the partition did not take: ${split.crossOpen} connections across it opened, ${split.sameClosed} within a side failed`)
  const partFiles = await work.add(plan.files.filter(f => f.phase === 'partitioned'))
  await work.fetch('partitioned (same side and across)', partFiles.flatMap(file => [
    ...file.plan.fetchers.map(to => ({ phase: 'partitioned_same_side' as const, file, to })),
    ...file.plan.crossFetchers.map(to => ({ phase: 'partitioned_cross' as const, file, to }))
  ]))
  checkDaemons(net)

  // 3. Healed: back on one bridge; after the settle time, the other side tries again, and
  // what fails then is retried once the watcher has seen lookups across work.
  ctx.progress.update('healing', true)
  const healed = Date.now()
  const healAt = work.since()
  for (const n of net.nodes.filter(n => n.side === 'B')) await lab.attach(n, bridge)
  const tcpAtHeal = await tcpAcross(lab, net.nodes)
  const joined = await reachability(lab, net.nodes)
  if (joined.crossOpen < joined.cross || joined.sameClosed > 0) throw new Error(`the heal did not take: ${joined.cross - joined.crossOpen} connections across failed`)
  const watching = watchRecovery(lab, net.nodes, partFiles, healed, plan.timing.recovery, ctx.signal)
  watching.catch(() => {}) // awaited below; a failure before then must not go unhandled
  await sleep(plan.timing.settle, undefined, { signal: ctx.signal })
  const afterHeal = await work.fetch('healed', partFiles.flatMap(file => file.plan.crossFetchers.map(to => ({ phase: 'healed' as const, file, to }))))
  ctx.progress.update('waiting for lookups across the healed partition to work', true)
  const recovery = await watching
  // Without a recovery the retries would only fail again, and cost up to the fetch timeout.
  const retry = recovery.ms === undefined ? [] : afterHeal.filter(s => !s.ok).map(s => ({ phase: 'healed_retry' as const, file: partFiles.find(f => f.cid === s.cid) as Added, to: s.to }))
  await work.fetch('healed, retried', retry)
  checkDaemons(net)

  return report({
    nodes: ctx.nodes,
    timing: plan.timing,
    sideA: plan.sideA,
    sideB: plan.sideB,
    lab: { tag: lab.tag, bridgeA: bridge, bridgeB, subnet: lab.subnet },
    netem: net.netem,
    netemWhy: net.netemWhy,
    peerIds: net.nodes.map(n => n.peerId),
    mesh: net.mesh,
    partitionAt,
    healAt,
    reachability: { partitioned: split, healed: joined },
    tcpAtHeal,
    recovery,
    added: work.added,
    samples: work.samples,
    cpus: cpus().length
  })
}

interface FetchJob { phase: Phase, file: Added, to: number }

/** Adds and fetches through the CLI inside the nodes' namespaces, recorded as they finish. */
class Work {
  readonly samples: Sample[] = []
  readonly added: Added[] = []
  private readonly started = Date.now()
  private readonly fileDir: string

  constructor (private readonly ctx: ScenarioContext, private readonly lab: Lab, private readonly net: PartitionNetwork, private readonly plan: PartitionPlan) {
    this.fileDir = join(ctx.dir, 'files')
  }

  /** Seconds since the connected phase started. */
  since (): number {
    return (Date.now() - this.started) / 1000
  }

  /** Adds the files on their nodes; throws when any add fails (nothing after it would mean anything). */
  async add (files: FilePlan[]): Promise<Added[]> {
    await mkdir(this.fileDir, { recursive: true })
    const out: Added[] = []
    await pool(files, CONCURRENCY, async (f) => {
      const path = join(this.fileDir, f.name)
      await writeFile(path, this.plan.contents.get(f.name) as Buffer)
      const r = await nodeJson<Array<{ cid: string, provided?: boolean }>>(this.lab, this.net.nodes[f.adder], ['add', path], this.plan.timing.add)
      const a: Added = { plan: f, ms: r.run.ms }
      if (r.value !== undefined) {
        a.cid = r.value[0].cid
        a.provided = r.value[0].provided
      } else {
        a.error = r.run.timedOut ? `add killed after ${this.plan.timing.add / 1000} s` : r.error
      }
      out.push(a)
      this.added.push(a)
    })
    const failed = out.filter(a => a.cid === undefined)
    if (failed.length > 0) throw new Error(`adding failed on node ${failed[0].plan.adder}: ${String(failed[0].error)}`)
    return files.map(f => out.find(a => a.plan === f) as Added)
  }

  async fetch (label: string, jobs: FetchJob[]): Promise<Sample[]> {
    const out: Sample[] = []
    await pool(jobs, CONCURRENCY, async (job) => {
      const s = await this.fetchOne(job)
      out.push(s)
      this.samples.push(s)
      this.ctx.progress.update(`${label}: ${out.length}/${jobs.length} fetches, ${out.filter(x => x.ok).length} worked`)
    })
    return out
  }

  private async fetchOne (job: FetchJob): Promise<Sample> {
    const at = this.since()
    const timeout = this.plan.timing.fetch
    const r = await nodeJson<{ size: number, ms: number, providers: unknown[] }>(this.lab, this.net.nodes[job.to], ['fetch', job.file.cid as string, '--pin-only'], timeout)
    const s: Sample = { phase: job.phase, file: job.file.plan.name, cid: job.file.cid as string, from: job.file.plan.adder, to: job.to, size: job.file.plan.size, ok: false, wallMs: round(r.run.ms), at: round(at, 2) }
    if (r.value !== undefined) {
      s.ok = r.value.size === job.file.plan.size
      s.fetchMs = r.value.ms
      s.providers = r.value.providers.length
      if (!s.ok) s.error = `fetched ${r.value.size} bytes, expected ${job.file.plan.size}`
    } else {
      s.timedOut = r.run.timedOut
      s.error = r.run.timedOut ? `no answer: the fetch was killed after ${timeout / 1000} s` : r.error
    }
    return s
  }
}
