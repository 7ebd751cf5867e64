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
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { cpus } from 'node:os'
import { join } from 'node:path'
import { generateKeyPairFromSeed, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { initRepo, repoPaths } from '../../src/repo/repo.js'
import { CLI } from '../lib/cli.js'
import { barChart, type PlotSpec } from '../lib/plot.js'
import { pool } from '../lib/pool.js'
import { collect, stopChild, type RunResult as Run } from '../lib/processes.js'
import { type Scenario, type ScenarioContext, type ScenarioResult } from '../lib/scenario.js'
import { median, percentile, round } from '../lib/stats.js'

const NETEM_ARGS = ['delay', '20ms', '5ms', 'loss', '1%']
const NETEM_LABEL = '20ms±5ms 1% loss'
const FILE_MIN = 512 * 1024
const FILE_MAX = 2 * 1024 * 1024
/** The node's libp2p port and API address inside its own namespace (each has its own stack). */
const P2P_PORT = 4001
const API_ADDRESS = '127.0.0.1:5021'
const START_TIMEOUT = 20_000
const FETCH_TIMEOUT = { quick: 30_000, full: 60_000 }
const ADD_TIMEOUT = { quick: 40_000, full: 60_000 }
/** How long every node gets to connect to every other before the phases start. */
const MESH_WAIT = { quick: 15_000, full: 45_000 }
/** Time after the heal before the cross fetches start. */
const SETTLE = { quick: 5_000, full: 15_000 }
/** Longest the watcher waits, from the heal, for lookups across to work again. */
const RECOVERY_WAIT = { quick: 40_000, full: 150_000 }
/** Adds or fetches run at once (each is a CLI process). */
const CONCURRENCY = 6

const PHASES = ['connected', 'partitioned_same_side', 'partitioned_cross', 'healed', 'healed_retry'] as const
type Phase = typeof PHASES[number]
/** Labels for plots, numbered so the axes keep the phases in order. */
const PHASE_LABEL: Record<Phase, string> = {
  connected: '1 connected',
  partitioned_same_side: '2 split, same side',
  partitioned_cross: '3 split, across',
  healed: '4 healed, across',
  healed_retry: '5 healed, retried'
}

interface Node {
  i: number
  ns: string
  hostIf: string
  nsIf: string
  ip: string
  repo: string
  side: 'A' | 'B'
  peerId: string
  daemon?: ChildProcess
  log: string
}

interface FilePlan { name: string, size: number, adder: number, phase: 'connected' | 'partitioned', fetchers: number[], crossFetchers: number[] }

interface Added { plan: FilePlan, cid?: string, ms: number, provided?: boolean, error?: string }

interface Sample {
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

export const partition: Scenario = {
  name: 'partition',
  description: 'fetch success while the network is split in two and after it heals (namespaces, veth, bridges, netem)',
  nodes: { default: 6, quick: 4, min: 4, max: 16 },
  timeLimit: { quick: 120_000, full: 600_000 },
  async run (ctx) {
    const skip = (reason: string): ScenarioResult => ({ headline: {}, data: {}, targets: [], plots: [], notes: [], skipped: reason })
    if (process.platform !== 'linux') return skip(`network namespaces need Linux, this is ${process.platform}`)
    if (process.getuid?.() !== 0) return skip('needs root to make network namespaces, veth pairs and bridges (run it as root, e.g. with sudo)')
    const ipTool = findTool('ip')
    if (ipTool === undefined) return skip('needs iproute2\'s `ip` command, not found in PATH, /usr/sbin or /sbin')
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build PeerLink first (npm run build:ts)`)

    const plan = makePlan(ctx)
    const lab = new Lab(ipTool, findTool('tc'), ctx)
    ctx.defer(async () => { await lab.close() })

    // A bridge first: where the kernel or container refuses, nothing else is tried.
    const made = await lab.tryIp(['link', 'add', lab.bridgeA, 'type', 'bridge'])
    if (made.code !== 0) {
      if (/not permitted|permission/i.test(made.stderr)) return skip(`cannot make a bridge here (${made.stderr.trim()}): needs CAP_NET_ADMIN`)
      throw new Error(`ip link add ${lab.bridgeA} type bridge failed: ${made.stderr.trim()}`)
    }
    lab.links.push(lab.bridgeA)
    await lab.makeBridge(lab.bridgeB)
    await lab.ip(['link', 'set', lab.bridgeA, 'up'])
    await lab.ip(['link', 'set', lab.bridgeB, 'up'])

    const nodes: Node[] = []
    ctx.progress.update(`making ${ctx.nodes} namespaces on ${lab.bridgeA}`, true)
    for (let i = 0; i < ctx.nodes; i++) {
      const node: Node = {
        i,
        ns: `${lab.tag}-${i}`,
        hostIf: `${lab.tag}h${i}`,
        nsIf: `${lab.tag}n${i}`,
        ip: `${lab.subnet}.${i + 1}`,
        repo: join(ctx.dir, `node${i}`),
        side: plan.sideA.includes(i) ? 'A' : 'B',
        peerId: '',
        log: ''
      }
      nodes.push(node)
      try {
        await lab.makeNode(node)
      } catch (err) {
        if (i === 0 && /not permitted|permission denied/i.test((err as Error).message)) return skip(`cannot make a network namespace here (${(err as Error).message})`)
        throw err
      }
    }

    // netem on each node's own interface: a packet is delayed (or lost) once, as it leaves its
    // sender, so a round trip twice. Detected by trying it, since many kernels lack sch_netem.
    let netem = 'unavailable'
    let netemWhy = ''
    if (lab.tc === undefined) {
      netemWhy = '`tc` not found'
    } else {
      const first = await lab.tryIp(['netns', 'exec', nodes[0].ns, lab.tc, 'qdisc', 'add', 'dev', nodes[0].nsIf, 'root', 'netem', ...NETEM_ARGS])
      if (first.code === 0) {
        netem = NETEM_LABEL
        for (const n of nodes.slice(1)) await lab.ip(['netns', 'exec', n.ns, lab.tc, 'qdisc', 'add', 'dev', n.nsIf, 'root', 'netem', ...NETEM_ARGS])
      } else {
        netemWhy = `tc qdisc add … netem failed: ${first.stderr.trim()}`
      }
    }
    ctx.progress.update(`netem: ${netem}${netemWhy !== '' ? ` (${netemWhy})` : ''}`, true)

    // Repos written here, with identities from the seed so peer ids (and the DHT's shape) repeat.
    const keys = await Promise.all(nodes.map(async n => await generateKeyPairFromSeed('Ed25519', plan.identitySeeds[n.i])))
    for (const n of nodes) n.peerId = peerIdFromPrivateKey(keys[n.i]).toString()
    const bootstrap = [`/ip4/${nodes[0].ip}/tcp/${P2P_PORT}/p2p/${nodes[0].peerId}`]
    for (const n of nodes) {
      await initRepo(n.repo, (c) => {
        c.network.listen = [`/ip4/${n.ip}/tcp/${P2P_PORT}`]
        c.network.bootstrap = n.i === 0 ? [] : bootstrap
        c.network.mdns = false
        // 10.x is private: keep such addresses in DHT answers, and never refuse the subnet.
        c.network.privateAddresses = true
        c.network.allow = ['/ip4/127.0.0.0/ipcidr/8', `/ip4/${lab.subnet}.0/ipcidr/24`]
        c.api.address = API_ADDRESS
      })
      await writeFile(repoPaths(n.repo).identity, privateKeyToProtobuf(keys[n.i]), { mode: 0o600 })
    }

    ctx.progress.update('starting daemons', true)
    await lab.startDaemon(nodes[0])
    await Promise.all(nodes.slice(1).map(async n => { await lab.startDaemon(n) }))
    const mesh = await waitForMesh(lab, nodes, ctx.quick ? MESH_WAIT.quick : MESH_WAIT.full, ctx)
    const meshCounts = mesh.counts.map(c => c < 0 ? '?' : c).join(', ')
    ctx.progress.update(`${mesh.full ? 'all connected' : 'not all connected'}: peers per node ${meshCounts} (${mesh.ms} ms)`, true)

    const fileDir = join(ctx.dir, 'files')
    await mkdir(fileDir)
    const samples: Sample[] = []
    const added: Added[] = []
    const started = Date.now()
    const fetchTimeout = ctx.quick ? FETCH_TIMEOUT.quick : FETCH_TIMEOUT.full
    const addTimeout = ctx.quick ? ADD_TIMEOUT.quick : ADD_TIMEOUT.full

    const addAll = async (files: FilePlan[]): Promise<Added[]> => {
      const out: Added[] = []
      await pool(files, CONCURRENCY, async (f) => {
        const path = join(fileDir, f.name)
        await writeFile(path, plan.contents.get(f.name) as Buffer)
        const r = await lab.cli(nodes[f.adder], ['add', path, '--json'], addTimeout)
        const a: Added = { plan: f, ms: r.ms }
        const j = r.code === 0 ? parseJson<Array<{ cid: string, provided?: boolean }>>(r.stdout) : undefined
        if (j !== undefined) {
          a.cid = j[0].cid
          a.provided = j[0].provided
        } else {
          a.error = r.timedOut ? `add killed after ${addTimeout / 1000} s` : cliError(r)
        }
        out.push(a)
        added.push(a)
      })
      const failed = out.filter(a => a.cid === undefined)
      if (failed.length > 0) throw new Error(`adding failed on node ${failed[0].plan.adder}: ${String(failed[0].error)}`)
      return files.map(f => out.find(a => a.plan === f) as Added)
    }

    const fetchAll = async (label: string, jobs: Array<{ phase: Phase, file: Added, to: number }>): Promise<Sample[]> => {
      const out: Sample[] = []
      let done = 0
      await pool(jobs, CONCURRENCY, async (job) => {
        const t = (Date.now() - started) / 1000
        const r = await lab.cli(nodes[job.to], ['fetch', job.file.cid as string, '--json'], fetchTimeout)
        const s: Sample = { phase: job.phase, file: job.file.plan.name, cid: job.file.cid as string, from: job.file.plan.adder, to: job.to, size: job.file.plan.size, ok: false, wallMs: round(r.ms), at: round(t, 2) }
        if (r.code === 0) {
          const j = parseJson<{ size: number, ms: number, providers: unknown[] }>(r.stdout)
          s.ok = j?.size === job.file.plan.size
          s.fetchMs = j?.ms
          s.providers = j?.providers.length
          if (!s.ok) s.error = j === undefined ? `unreadable output: ${r.stdout.slice(0, 200)}` : `fetched ${j.size} bytes, expected ${job.file.plan.size}`
        } else {
          s.timedOut = r.timedOut
          s.error = r.timedOut ? `no answer: the fetch was killed after ${fetchTimeout / 1000} s` : cliError(r)
        }
        out.push(s)
        samples.push(s)
        ctx.progress.update(`${label}: ${++done}/${jobs.length} fetches, ${out.filter(x => x.ok).length} worked`)
      })
      return out
    }

    // 1. Connected.
    ctx.progress.update('connected: adding', true)
    const connectedFiles = await addAll(plan.files.filter(f => f.phase === 'connected'))
    await fetchAll('connected', connectedFiles.flatMap(file => file.plan.fetchers.map(to => ({ phase: 'connected' as const, file, to }))))
    lab.checkDaemons(nodes)

    // 2. Partitioned: side B's veth ends move to the second bridge.
    ctx.progress.update(`partitioning: A = nodes ${plan.sideA.join(',')}, B = nodes ${plan.sideB.join(',')}`, true)
    const partitionAt = (Date.now() - started) / 1000
    for (const n of nodes.filter(n => n.side === 'B')) await lab.ip(['link', 'set', n.hostIf, 'master', lab.bridgeB])
    const split = await reachability(lab, nodes)
    if (split.crossOpen > 0 || split.sameClosed > 0) throw new Error(`the partition did not take: ${split.crossOpen} connections across it opened, ${split.sameClosed} within a side failed`)
    const partFiles = await addAll(plan.files.filter(f => f.phase === 'partitioned'))
    const addedDuringPartition = partFiles.map(a => ({ node: a.plan.adder, ms: round(a.ms), provided: a.provided }))
    await fetchAll('partitioned (same side and across)', partFiles.flatMap(file => [
      ...file.plan.fetchers.map(to => ({ phase: 'partitioned_same_side' as const, file, to })),
      ...file.plan.crossFetchers.map(to => ({ phase: 'partitioned_cross' as const, file, to }))
    ]))
    lab.checkDaemons(nodes)

    // 3. Healed: back on one bridge; after the settle time, the other side tries again, and
    // what fails then is retried once the watcher has seen lookups across work.
    ctx.progress.update('healing', true)
    const healed = Date.now()
    const healAt = (healed - started) / 1000
    for (const n of nodes.filter(n => n.side === 'B')) await lab.ip(['link', 'set', n.hostIf, 'master', lab.bridgeA])
    const tcpAtHeal = await tcpAcross(lab, nodes)
    const joined = await reachability(lab, nodes)
    if (joined.crossOpen < joined.cross || joined.sameClosed > 0) throw new Error(`the heal did not take: ${joined.cross - joined.crossOpen} connections across failed`)
    const recoveryWait = ctx.quick ? RECOVERY_WAIT.quick : RECOVERY_WAIT.full
    const watching = watchRecovery(lab, nodes, partFiles, healed, recoveryWait, ctx)
    watching.catch(() => {}) // awaited below; a failure before then must not go unhandled
    const settle = ctx.quick ? SETTLE.quick : SETTLE.full
    await sleep(settle, ctx.signal)
    const afterHeal = await fetchAll('healed', partFiles.flatMap(file => file.plan.crossFetchers.map(to => ({ phase: 'healed' as const, file, to }))))
    ctx.progress.update('waiting for lookups across the healed partition to work', true)
    const recovery = await watching
    // Without a recovery the retries would only fail again, and cost up to the fetch timeout.
    const retry = recovery.ms === undefined ? [] : afterHeal.filter(s => !s.ok).map(s => ({ phase: 'healed_retry' as const, file: partFiles.find(f => f.cid === s.cid) as Added, to: s.to }))
    await fetchAll('healed, retried', retry)
    lab.checkDaemons(nodes)

    // Figures.
    const by = (p: Phase): Sample[] => samples.filter(s => s.phase === p).sort((a, b) => a.at - b.at)
    const rate = (p: Phase): number => by(p).length === 0 ? NaN : by(p).filter(s => s.ok).length / by(p).length
    const okMs = (p: Phase): number[] => by(p).filter(s => s.ok).map(s => s.fetchMs as number)
    const pct = (x: number): string => Number.isNaN(x) ? 'n/a' : `${round(x * 100)} %`
    const num = (x: number, digits = 1): number | string => Number.isNaN(x) ? 'n/a' : round(x, digits)
    const perPhase = PHASES.map(p => ({
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
    const crossFails = by('partitioned_cross').filter(s => !s.ok)
    // A healed fetch counts once: it worked at the first try or at the retry.
    const eventually = by('healed').length === 0 ? NaN : by('healed').filter(h => h.ok || by('healed_retry').some(r => r.ok && r.cid === h.cid && r.to === h.to)).length / by('healed').length
    const errors = countErrors(samples.filter(s => !s.ok))
    const headline: Record<string, number | string | boolean> = {
      nodes: ctx.nodes,
      netem,
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
      partition_add_median_ms: num(median(addedDuringPartition.map(a => a.ms))),
      heal_recovery_s: recovery.ms !== undefined ? round(recovery.ms / 1000) : `not within ${recoveryWait / 1000} s`,
      tcp_rto_across_at_heal_max_ms: tcpAtHeal?.maxRtoMs ?? 'n/a'
    }
    const targets = [
      { name: 'connected: fetch success 100 %', ok: rate('connected') === 1, detail: `${pct(rate('connected'))} of ${by('connected').length}` },
      { name: 'partitioned, same side: fetch success ≥ 90 %', ok: rate('partitioned_same_side') >= 0.9, detail: `${pct(rate('partitioned_same_side'))} of ${by('partitioned_same_side').length}` },
      {
        name: `healed, across: fetch success ≥ 90 % within ${recoveryWait / 1000} s of the heal (first try after a ${settle / 1000} s settle, or a retry once lookups across work)`,
        ok: eventually >= 0.9,
        detail: `${pct(eventually)} of ${by('healed').length}; first try ${pct(rate('healed'))}; lookups across worked ${recovery.ms !== undefined ? `${round(recovery.ms / 1000)} s` : `not within ${recoveryWait / 1000} s`} after the heal`
      }
    ]
    const timeline: Array<Record<string, unknown>> = samples.map(s => ({ at: s.at, ms: s.ok ? s.fetchMs : s.wallMs, phase: PHASE_LABEL[s.phase], outcome: s.ok ? 'fetched' : s.timedOut === true ? 'killed (no answer)' : 'failed' }))
    const notes = [
      `${ctx.nodes} \`peerlink daemon\` processes, each in its own network namespace (${lab.tag}-0…${ctx.nodes - 1}) with a veth pair to a bridge in the root namespace (${lab.bridgeA}), addresses ${lab.subnet}.1…${ctx.nodes}/24; every node bootstraps from node 0; node identities come from the seed. Before the phases every node waited (up to ${(ctx.quick ? MESH_WAIT.quick : MESH_WAIT.full) / 1000} s) to be connected to every other: ${mesh.full ? `all were, after ${round(mesh.ms / 1000)} s` : `not all were; peers per node at the start ${meshCounts} (? = its API did not answer)`}.`,
      netem === 'unavailable'
        ? `netem unavailable (${netemWhy}): the run had no added latency or loss; veth on one host answers in well under a millisecond.`
        : `netem ${NETEM_LABEL} on each node's own interface (egress), so a packet between two nodes is delayed once and may be lost once; round trips ≈ 40 ms.`,
      `Halves A = nodes ${plan.sideA.join(', ')} and B = nodes ${plan.sideB.join(', ')} (from the seed). The partition moves B's veth ends to a second bridge (${lab.bridgeB}); TCP connects between the halves were checked to fail (and within each half to work) before measuring, and to work again after the heal.`,
      `Connected: ${connectedFiles.length} files of ${FILE_MIN / 1024} KiB–${FILE_MAX / 1048576} MiB added on random nodes, each fetched by CID from other nodes. Partitioned: each side adds fresh files (held only there), fetched from the same side and from the other side. Healed: after a ${settle / 1000} s settle, the nodes that failed across fetch the same files again.`,
      `Fetches are \`peerlink fetch <cid> --json\` run inside the node's namespace, at most ${CONCURRENCY} at once, killed after ${fetchTimeout / 1000} s; fetch times are the daemon's own (FetchResult.ms) for fetches that worked, wall times of the CLI call for those that failed. A fetch's time includes pinning and providing the root once it has the data, and during the partition that provide also waits on DHT peers across it. ${cpus().length} CPUs shared by every daemon and CLI process.`,
      `Adds during the partition took ${addedDuringPartition.map(a => `${a.ms} ms`).join(', ')} (provided: ${addedDuringPartition.map(a => String(a.provided)).join(', ')}).`,
      `Recovery: from the heal on, node ${recovery.probes.map(p => `${p.from} asked the DHT for ${p.file} (held across)`).join(' and node ')} every second (lookups bounded at 4 s) until it named a holder: ${recovery.ms !== undefined ? `both did ${round(recovery.ms / 1000)} s after the heal` : `not within ${recoveryWait / 1000} s`}. ${recovery.ms !== undefined ? 'Fetches that failed after the heal were retried then (phase "healed, retried").' : 'Fetches that failed after the heal were not retried.'}`,
      tcpAtHeal === undefined
        ? 'TCP state at the heal not recorded (`ss` not found).'
        : `At the heal, ${tcpAtHeal.connections} TCP connections across the partition were still open; ${tcpAtHeal.backingOff} were in retransmission backoff (RTO up to ${tcpAtHeal.maxRtoMs} ms, backoff up to ${tcpAtHeal.maxBackoff}).${rate('healed') < 1 && tcpAtHeal.backingOff > 0 ? ' libp2p keeps using such a connection and dials nothing new while it is open (PeerLink sets the connection monitor not to abort a connection whose ping fails: CONNECTION_MONITOR in src/node/host.ts), so traffic across resumes only at TCP\'s next retransmission.' : ''}`,
      errors.length > 0 ? `Errors seen: ${errors.map(e => `${e.count}× ${e.phase}: "${e.error}"`).join('; ')}.` : 'No fetch failed.'
    ]
    return {
      headline,
      data: {
        netem,
        netemWhy: netemWhy === '' ? undefined : netemWhy,
        sideA: plan.sideA,
        sideB: plan.sideB,
        peerIds: nodes.map(n => n.peerId),
        mesh,
        partitionAt: round(partitionAt, 2),
        healAt: round(healAt, 2),
        settleMs: settle,
        fetchTimeoutMs: fetchTimeout,
        reachability: { partitioned: split, healed: joined },
        tcpAtHeal,
        recovery: { ...recovery, waitMs: recoveryWait },
        phases: perPhase,
        added: added.map(a => ({ file: a.plan.name, size: a.plan.size, node: a.plan.adder, phase: a.plan.phase, cid: a.cid, ms: round(a.ms), provided: a.provided, error: a.error })),
        errors,
        // In schedule order (the order they finished in depends on timing).
        samples: [...samples].sort((a, b) => PHASES.indexOf(a.phase) - PHASES.indexOf(b.phase) || a.file.localeCompare(b.file) || a.to - b.to)
      },
      targets,
      plots: [
        { name: 'success', title: 'Fetch success by phase', spec: barChart('fetch success by phase', perPhase.filter(p => p.fetches > 0).map(p => ({ phase: p.label, success: p.success_pct })), { field: 'phase', title: 'phase' }, { field: 'success', title: 'fetches that worked (%)' }) },
        { name: 'fetch-times', title: 'Fetch times by phase', spec: barChart('median fetch time (fetches that worked)', perPhase.filter(p => p.ok > 0).map(p => ({ phase: p.label, ms: p.median_ms })), { field: 'phase', title: 'phase' }, { field: 'ms', title: 'ms' }) },
        { name: 'timeline', title: 'Every fetch over time', spec: timelineChart(timeline, partitionAt, healAt) }
      ],
      notes
    }
  }
}

/** Everything the seed decides, drawn up front so the draws never depend on timings. */
function makePlan (ctx: ScenarioContext): { sideA: number[], sideB: number[], identitySeeds: Uint8Array[], files: FilePlan[], contents: Map<string, Buffer> } {
  const rng = ctx.rng
  const all = Array.from({ length: ctx.nodes }, (_, i) => i)
  const identitySeeds = all.map(() => new Uint8Array(rng.bytes(32)))
  const shuffled = rng.sample(all, all.length)
  const sideA = shuffled.slice(0, Math.floor(all.length / 2)).sort((a, b) => a - b)
  const sideB = shuffled.slice(Math.floor(all.length / 2)).sort((a, b) => a - b)
  const files: FilePlan[] = []
  const size = (): number => FILE_MIN + rng.int(FILE_MAX - FILE_MIN + 1)
  const connected = ctx.quick ? 2 : Math.min(ctx.nodes, 4)
  for (let f = 0; f < connected; f++) {
    const adder = rng.pick(all)
    files.push({ name: `connected-${f}.bin`, size: size(), adder, phase: 'connected', fetchers: rng.sample(all.filter(i => i !== adder), 2), crossFetchers: [] })
  }
  const perSide = ctx.quick ? 1 : 2
  for (const [side, other] of [[sideA, sideB], [sideB, sideA]]) {
    for (let f = 0; f < perSide; f++) {
      const adder = rng.pick(side)
      files.push({
        name: `partitioned-${side === sideA ? 'A' : 'B'}${f}.bin`,
        size: size(),
        adder,
        phase: 'partitioned',
        fetchers: rng.sample(side.filter(i => i !== adder), ctx.quick ? 1 : 3),
        crossFetchers: rng.sample(other, ctx.quick ? 2 : 3).sort((a, b) => a - b)
      })
    }
  }
  const contents = new Map(files.map(f => [f.name, rng.bytes(f.size)]))
  return { sideA, sideB, identitySeeds, files, contents }
}

/**
 * What this run made (namespaces, links, processes) and how to unmake it. Once closed it
 * refuses to make anything more, so work still in flight after an abort cannot leak.
 */
class Lab {
  readonly tag: string
  readonly bridgeA: string
  readonly bridgeB: string
  readonly subnet: string
  readonly namespaces: string[] = []
  /** Root-namespace links to delete (bridges, veth ends not yet moved), in order made. */
  readonly links: string[] = []
  private readonly children = new Set<ChildProcess>()
  private closed = false
  private closing: Promise<void> | undefined

  readonly ss = findTool('ss')

  constructor (readonly ipTool: string, readonly tc: string | undefined, private readonly ctx: ScenarioContext) {
    // Interface names are at most 15 characters: "pl" + pid (≤ 7 digits) + "h" + index.
    this.tag = `pl${process.pid}`
    this.bridgeA = `plbr${process.pid}a`
    this.bridgeB = `plbr${process.pid}b`
    this.subnet = `10.213.${process.pid % 256}`
  }

  /** Runs a command, tracked, killed after `timeoutMs`; refused once the lab is closed. */
  async exec (cmd: string, args: string[], timeoutMs: number, env?: NodeJS.ProcessEnv): Promise<Run> {
    const child = this.spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env })
    return await collect(child, timeoutMs)
  }

  spawn (cmd: string, args: string[], options: { stdio: StdioOptions, env?: NodeJS.ProcessEnv }): ChildProcess {
    if (this.closed) throw new Error('the partition scenario is stopping')
    const child = spawn(cmd, args, { stdio: options.stdio, env: options.env ?? process.env })
    this.children.add(child)
    child.once('exit', () => { this.children.delete(child) })
    child.once('error', () => { this.children.delete(child) })
    return child
  }

  async tryIp (args: string[], timeoutMs = 10_000): Promise<Run> {
    return await this.exec(this.ipTool, args, timeoutMs)
  }

  async ip (args: string[]): Promise<string> {
    const r = await this.tryIp(args)
    if (r.code !== 0) throw new Error(`ip ${args.join(' ')} failed: ${r.timedOut ? 'timed out' : r.stderr.trim()}`)
    return r.stdout
  }

  async makeBridge (name: string): Promise<void> {
    this.links.push(name)
    await this.ip(['link', 'add', name, 'type', 'bridge'])
  }

  async makeNode (n: Node): Promise<void> {
    this.namespaces.push(n.ns)
    await this.ip(['netns', 'add', n.ns])
    this.links.push(n.hostIf)
    await this.ip(['link', 'add', n.hostIf, 'type', 'veth', 'peer', 'name', n.nsIf])
    await this.ip(['link', 'set', n.nsIf, 'netns', n.ns])
    await this.ip(['link', 'set', n.hostIf, 'master', this.bridgeA])
    await this.ip(['link', 'set', n.hostIf, 'up'])
    await this.ip(['-n', n.ns, 'link', 'set', 'lo', 'up'])
    await this.ip(['-n', n.ns, 'addr', 'add', `${n.ip}/24`, 'dev', n.nsIf])
    await this.ip(['-n', n.ns, 'link', 'set', n.nsIf, 'up'])
  }

  /** `peerlink daemon` inside the node's namespace; resolves once its api.json is written. */
  async startDaemon (n: Node): Promise<void> {
    const child = this.spawn(this.ipTool, ['netns', 'exec', n.ns, process.execPath, CLI, '--repo', n.repo, 'daemon'], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, PEERLINK_LOG_LEVEL: 'warn' }
    })
    n.daemon = child
    child.stderr?.on('data', (d: Buffer) => { n.log = (n.log + d.toString()).slice(-8192) })
    const apiFile = repoPaths(n.repo).api
    const deadline = Date.now() + START_TIMEOUT
    while (!existsSync(apiFile) && child.exitCode === null && child.signalCode === null && Date.now() < deadline) await sleep(50, this.ctx.signal)
    this.ctx.signal.throwIfAborted()
    if (!existsSync(apiFile)) {
      throw new Error(child.exitCode !== null ? `node ${n.i}'s daemon exited (${child.exitCode}): ${n.log.trim()}` : `node ${n.i}'s daemon did not start within ${START_TIMEOUT / 1000} s: ${n.log.trim()}`)
    }
  }

  /** Throws when a daemon has died (a CLI call would then quietly open the repo itself). */
  checkDaemons (nodes: Node[]): void {
    for (const n of nodes) {
      const d = n.daemon
      if (d !== undefined && (d.exitCode !== null || d.signalCode !== null)) throw new Error(`node ${n.i}'s daemon exited (${d.exitCode ?? d.signalCode}): ${n.log.trim()}`)
    }
  }

  /** The CLI against the node's daemon, inside its namespace. */
  async cli (n: Node, args: string[], timeoutMs: number): Promise<Run> {
    return await this.exec(this.ipTool, ['netns', 'exec', n.ns, process.execPath, CLI, '--repo', n.repo, ...args], timeoutMs)
  }

  /** A small Node script inside the node's namespace (cheaper than the CLI: no libp2p to load). */
  async script (n: Node, code: string, args: string[], timeoutMs = 10_000): Promise<Run> {
    return await this.exec(this.ipTool, ['netns', 'exec', n.ns, process.execPath, '-e', code, ...args], timeoutMs)
  }

  /** Stops every process, then deletes every namespace and link; safe to call again. */
  async close (): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true
      await Promise.all([...this.children].map(async c => { await stopChild(c, 5000) }))
      for (const ns of this.namespaces) {
        // Anything still inside (nothing should be) would keep the namespace alive.
        const pids = await collect(spawn(this.ipTool, ['netns', 'pids', ns], { stdio: ['ignore', 'pipe', 'pipe'] }), 5000)
        for (const pid of pids.stdout.split(/\s+/).filter(p => /^\d+$/.test(p))) {
          try { process.kill(Number(pid), 'SIGKILL') } catch {}
        }
        const r = await collect(spawn(this.ipTool, ['netns', 'del', ns], { stdio: ['ignore', 'pipe', 'pipe'] }), 10_000)
        if (r.code !== 0 && !/no such file/i.test(r.stderr)) process.stderr.write(`partition: ip netns del ${ns}: ${r.stderr.trim()}\n`)
      }
      // Deleting a namespace deletes its veth ends and so their peers; what is left goes here.
      for (const link of [...this.links].reverse()) {
        const r = await collect(spawn(this.ipTool, ['link', 'del', link], { stdio: ['ignore', 'pipe', 'pipe'] }), 10_000)
        if (r.code !== 0 && !/cannot find device|does not exist/i.test(r.stderr)) process.stderr.write(`partition: ip link del ${link}: ${r.stderr.trim()}\n`)
      }
    })()
    await this.closing
  }
}

/**
 * Waits (bounded) until every node is connected to every other. Returns the peers each node
 * had when last asked (-1: its API never answered) and how many asks went unanswered.
 */
async function waitForMesh (lab: Lab, nodes: Node[], timeoutMs: number, ctx: ScenarioContext): Promise<{ counts: number[], full: boolean, ms: number, unanswered: number }> {
  const started = Date.now()
  const ids = new Set(nodes.map(n => n.peerId))
  const counts: number[] = nodes.map(() => -1)
  let unanswered = 0
  while (true) {
    // Only nodes not yet connected to all are asked again: each ask is a process.
    await Promise.all(nodes.filter(n => counts[n.i] < nodes.length - 1).map(async (n) => {
      const r = await lab.script(n, PEERS_SCRIPT, [n.repo], 10_000)
      const peers = r.code === 0 ? parseJson<Array<{ peer: string }>>(r.stdout) : undefined
      if (peers === undefined) { unanswered++; return }
      counts[n.i] = new Set(peers.map(p => p.peer).filter(p => ids.has(p) && p !== n.peerId)).size
    }))
    if (counts.every(c => c === nodes.length - 1)) return { counts, full: true, ms: Date.now() - started, unanswered }
    if (Date.now() - started > timeoutMs) break
    ctx.progress.update(`waiting for connections: peers per node ${counts.map(c => c < 0 ? '?' : c).join(', ')}`)
    await sleep(1000, ctx.signal)
  }
  if (counts.every(c => c <= 0)) {
    throw new Error(counts.every(c => c < 0)
      ? `no daemon's API answered in ${timeoutMs / 1000} s`
      : `no node reached another over the bridge in ${timeoutMs / 1000} s (is bridged traffic filtered? with net.bridge.bridge-nf-call-iptables=1 a FORWARD DROP policy drops it)`)
  }
  return { counts, full: false, ms: Date.now() - started, unanswered }
}

/**
 * Asks the DHT, from the other side, for one partition-era file of each side until it names
 * a node of the holding side; returns when both did (ms after `since`) or at the bound.
 */
async function watchRecovery (lab: Lab, nodes: Node[], files: Added[], since: number, boundMs: number, ctx: ScenarioContext): Promise<{ ms?: number, probes: Array<{ file: string, from: number }>, polls: Array<{ at: number, file: string, from: number, found: boolean, ms: number, error?: string }> }> {
  const probes = (['A', 'B'] as const).flatMap(side => files.filter(f => nodes[f.plan.adder].side === side).slice(0, 1))
  const polls: Array<{ at: number, file: string, from: number, found: boolean, ms: number, error?: string }> = []
  const pending = new Set(probes)
  let last = 0
  while (pending.size > 0 && Date.now() - since < boundMs) {
    await Promise.all([...pending].map(async (f) => {
      const from = nodes[f.plan.crossFetchers[0]]
      const holders = new Set(nodes.filter(n => n.side === nodes[f.plan.adder].side).map(n => n.peerId))
      const at = Date.now() - since
      const r = await lab.script(from, PROVIDERS_SCRIPT, [from.repo, f.cid as string, '4000'], 10_000)
      const found = parseJson<Array<{ peer: string }>>(r.stdout)?.some(p => holders.has(p.peer)) === true
      polls.push({ at: round(at / 1000, 2), file: f.plan.name, from: from.i, found, ms: round(r.ms), ...(found ? {} : { error: (r.stderr.trim() !== '' ? r.stderr.trim() : r.stdout).slice(0, 200) }) })
      if (found) { pending.delete(f); last = Date.now() - since }
    }))
    if (pending.size > 0) await sleep(1000, ctx.signal)
  }
  return { ms: pending.size === 0 ? last : undefined, probes: probes.map(f => ({ file: f.plan.name, from: f.plan.crossFetchers[0] })), polls }
}

/** Open TCP connections between the halves (from `ss`), and how many are backing off. */
async function tcpAcross (lab: Lab, nodes: Node[]): Promise<{ connections: number, backingOff: number, maxRtoMs: number, maxBackoff: number } | undefined> {
  if (lab.ss === undefined) return undefined
  const out = { connections: 0, backingOff: 0, maxRtoMs: 0, maxBackoff: 0 }
  const side = new Map(nodes.map(n => [n.ip, n.side]))
  await Promise.all(nodes.map(async (n) => {
    const r = await lab.exec(lab.ipTool, ['netns', 'exec', n.ns, lab.ss as string, '-tnio', 'state', 'established'], 5000)
    let across = false
    for (const line of r.stdout.split('\n')) {
      const addrs = [...line.matchAll(/(\d+\.\d+\.\d+\.\d+):\d+/g)].map(m => m[1])
      if (addrs.length >= 2) { across = side.get(addrs[1]) !== undefined && side.get(addrs[1]) !== n.side; if (across) out.connections++ }
      const rto = /\brto:(\d+)/.exec(line)
      if (across && rto !== null) {
        const backoff = Number(/\bbackoff:(\d+)/.exec(line)?.[1] ?? 0)
        if (backoff > 0) out.backingOff++
        out.maxRtoMs = Math.max(out.maxRtoMs, Number(rto[1]))
        out.maxBackoff = Math.max(out.maxBackoff, backoff)
        across = false
      }
    }
  }))
  return out
}

/** TCP connects from every node to every other node's libp2p port: which open, which fail. */
async function reachability (lab: Lab, nodes: Node[]): Promise<{ cross: number, crossOpen: number, same: number, sameClosed: number }> {
  const r = { cross: 0, crossOpen: 0, same: 0, sameClosed: 0 }
  await Promise.all(nodes.map(async (n) => {
    const others = nodes.filter(o => o !== n)
    const res = await lab.script(n, CONNECT_SCRIPT, others.map(o => `${o.ip}:${P2P_PORT}`), 10_000)
    const open = res.code === 0 ? (JSON.parse(res.stdout) as boolean[]) : others.map(() => false)
    others.forEach((o, k) => {
      if (o.side === n.side) { r.same++; if (!open[k]) r.sameClosed++ } else { r.cross++; if (open[k]) r.crossOpen++ }
    })
  }))
  return r
}

/** GET /peers from the daemon of the repo named in argv[1] (runs inside its namespace). */
const PEERS_SCRIPT = `
const fs = require('fs')
const repo = process.argv[1]
const info = JSON.parse(fs.readFileSync(repo + '/api.json', 'utf8'))
const token = fs.readFileSync(repo + '/api.token', 'utf8').trim()
fetch('http://' + info.address + '/api/v1/peers', { headers: { authorization: 'Bearer ' + token }, signal: AbortSignal.timeout(8000) })
  .then(r => r.json()).then(j => { process.stdout.write(JSON.stringify(j)) }, e => { process.stderr.write(String(e)); process.exitCode = 1 })
`

/** GET /providers/<argv[2]>?timeout=<argv[3]> from the daemon of the repo named in argv[1]. */
const PROVIDERS_SCRIPT = `
const fs = require('fs')
const [repo, cid, timeout] = process.argv.slice(1)
const info = JSON.parse(fs.readFileSync(repo + '/api.json', 'utf8'))
const token = fs.readFileSync(repo + '/api.token', 'utf8').trim()
fetch('http://' + info.address + '/api/v1/providers/' + cid + '?timeout=' + timeout, { headers: { authorization: 'Bearer ' + token }, signal: AbortSignal.timeout(Number(timeout) + 4000) })
  .then(r => r.text()).then(t => { process.stdout.write(t) }, e => { process.stderr.write(String(e)); process.exitCode = 1 })
`

/** Tries a TCP connect to each host:port in argv, 1.5 s each; prints which opened. */
const CONNECT_SCRIPT = `
const net = require('net')
Promise.all(process.argv.slice(1).map(a => new Promise(resolve => {
  const i = a.lastIndexOf(':')
  const s = net.connect({ host: a.slice(0, i), port: Number(a.slice(i + 1)), timeout: 1500 })
  s.once('connect', () => { s.destroy(); resolve(true) })
  s.once('timeout', () => { s.destroy(); resolve(false) })
  s.once('error', () => resolve(false))
}))).then(r => process.stdout.write(JSON.stringify(r)))
`

function parseJson<T> (text: string): T | undefined {
  try {
    return JSON.parse(text) as T
  } catch {
    return undefined
  }
}

function findTool (name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':').filter(d => d !== ''), '/usr/sbin', '/sbin', '/usr/bin', '/bin']
  for (const d of dirs) if (existsSync(join(d, name))) return join(d, name)
  return undefined
}

/** The CLI's error line without its "peerlink: " prefix. */
function cliError (r: Run): string {
  const text = r.stderr.trim().split('\n').filter(l => l.trim() !== '').at(-1) ?? `exit status ${String(r.code)}`
  return text.replace(/^peerlink: /, '')
}

/** Distinct failure messages per phase (CIDs and peer ids shortened away), with counts. */
function countErrors (failed: Sample[]): Array<{ phase: Phase, error: string, count: number }> {
  const out: Array<{ phase: Phase, error: string, count: number }> = []
  for (const s of failed) {
    const error = (s.error ?? '').replace(/\b(baf|bafk|Qm|12D3)[A-Za-z0-9]{20,}/g, '<id>')
    const e = out.find(x => x.phase === s.phase && x.error === error)
    if (e !== undefined) e.count++
    else out.push({ phase: s.phase, error, count: 1 })
  }
  return out
}

async function sleep (ms: number, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted()
  await new Promise<void>((resolve, reject) => {
    const done = (): void => { clearTimeout(t); signal.removeEventListener('abort', abort); resolve() }
    const abort = (): void => { clearTimeout(t); reject(signal.reason) }
    const t = setTimeout(done, ms)
    signal.addEventListener('abort', abort, { once: true })
  })
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
