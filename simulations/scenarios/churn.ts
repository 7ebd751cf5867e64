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
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { runCli, type CliResult } from '../lib/cli.js'
import { killDaemonProcess, startDaemonProcess, stopDaemonProcess, type DaemonProcess } from '../lib/daemons.js'
import { barChart, lineChart } from '../lib/plot.js'
import { pool } from '../lib/pool.js'
import { type Scenario, type ScenarioContext, type ScenarioResult } from '../lib/scenario.js'
import { median, percentile, round } from '../lib/stats.js'

/** Share of the churnable (non-bootstrap) live nodes killed with SIGKILL each period; at least one. */
const CRASH_RATE = 0.1
/** Share of the churnable live nodes that leave with SIGTERM each period (rounded at random). */
const LEAVE_RATE = 0.1
/** Of the nodes that join to replace those gone, the share that restarts a crashed repo (the rest are new repos). */
const RESTART_SHARE = 0.5
/** Bootstrap nodes everyone joins through; they never churn. */
const STABLE_NODES = 2
const PERIODS = { quick: 3, full: 10 }
/** New files per period (and before the first), each added by a different random live node that stays. */
const ADDS = { quick: 2, full: 3 }
/** Fetches per period, each of a random earlier file some node that stays up holds, by a random node that stays and lacks it. */
const FETCHES = { quick: 3, full: 8 }
/** Extra fetches per period of a file only nodes going this period (or none up) hold, when there is one. */
const ORPHAN_FETCHES = 1
const FETCH_CONCURRENCY = 2
/** Files whose provider records are looked up after each period. */
const CENSUS_FILES = { quick: 2, full: 6 }
const CENSUS_CONCURRENCY = 3
/** Crashes and leaves land at random moments within this long after a period's adds and fetches begin. */
const CHURN_WINDOW_MS = 3000
const FILE_BYTES = { min: 256 * 1024, max: 3 * 1024 * 1024 }
/** Bounds on each CLI call (the child is killed past them) and on a daemon's start. */
const TIMEOUT = { add: 30_000, fetch: 45_000, findProviders: 20_000, start: 30_000, stop: 10_000 }
/** find-providers --timeout, ms. */
const LOOKUP_MS = 5000

type NodeState = 'live' | 'crashed' | 'left'

interface SimNode {
  id: number
  repo: string
  stable: boolean
  state: NodeState
  peerId: string
  /** TCP ports of the current (or last) incarnation. */
  ports: string[]
  daemon?: DaemonProcess
  starts: number
  /** Files (indices) held whole in the repo: added here or fetched whole. */
  holds: Set<number>
}

interface SimFile { index: number, cid: string, path: string, size: number, period: number, addedBy: number, provided: boolean }

interface FetchRecord {
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

interface CensusRecord { period: number, file: number, querier: number, records: number, live: number, dead: number, deadCrashed: number, deadLeft: number, unknown: number, staleAddrs: number, liveHolders: number, liveHoldersNamed: number, error?: string }

interface ChurnEvent { period: number, node: number, kind: 'crash' | 'leave' | 'restart' | 'join' | 'died', atMs: number }

/** A daemon that exited though nobody stopped it: a crash of PeerLink itself. */
interface Death { period: number, node: number, exit: string, stderr: string }

interface PeriodStats {
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

const portsOf = (addrs: string[]): string[] => addrs.flatMap(a => /\/tcp\/(\d+)/.exec(a)?.[1] ?? [])

const parseJson = <T>(text: string): T | undefined => {
  try {
    return JSON.parse(text) as T
  } catch {
    return undefined
  }
}

const firstLine = (r: CliResult, timeoutMs: number): string => r.code === null
  ? `timed out after ${timeoutMs} ms`
  : (r.stderr.trim().split('\n').find(l => l.trim() !== '') ?? `exit code ${String(r.code)}`).replace(/^peerlink: /, '')

const tally = (m: Map<string, number>, key: string): void => { m.set(key, (m.get(key) ?? 0) + 1) }

async function run (ctx: ScenarioContext): Promise<ScenarioResult> {
  const { rng, signal } = ctx
  const started = Date.now()
  const periods = ctx.quick ? PERIODS.quick : PERIODS.full
  const adds = ctx.quick ? ADDS.quick : ADDS.full
  const fetchesPerPeriod = ctx.quick ? FETCHES.quick : FETCHES.full
  const censusFiles = ctx.quick ? CENSUS_FILES.quick : CENSUS_FILES.full
  const filesDir = join(ctx.dir, 'files')
  const outDir = join(ctx.dir, 'out')
  await mkdir(filesDir, { recursive: true })
  await mkdir(outDir, { recursive: true })

  // CLI children and daemon starts still under way when the run ends (interrupted or failed)
  // are waited for last: each is bounded, and a daemon that comes up after the abort is
  // stopped by launch itself.
  const inflight = new Set<Promise<unknown>>()
  ctx.defer(async () => { while (inflight.size > 0) await Promise.allSettled([...inflight]) })
  const track = async <T>(p: Promise<T>): Promise<T> => {
    inflight.add(p)
    try {
      return await p
    } finally {
      inflight.delete(p)
    }
  }
  const cli = async (args: string[], timeoutMs: number): Promise<CliResult> => await track(runCli(args, {}, timeoutMs))

  const nodes: SimNode[] = []
  /** Files added so far (a failed add is left out; its index is not reused). */
  const files: SimFile[] = []
  let nextFile = 0
  const fetches: FetchRecord[] = []
  const census: CensusRecord[] = []
  const events: ChurnEvent[] = []
  const perPeriod: PeriodStats[] = []
  const daemonLog = new Map<string, number>()
  const addFailures: string[] = []
  const deaths: Death[] = []
  let period = 0
  /** Set once the periods are over: the daemons' stops at the end are planned. */
  let over = false
  let bootstrap: string[] = []

  const live = (): SimNode[] => nodes.filter(n => n.state === 'live')
  const byPeer = (peer: string): SimNode | undefined => nodes.find(n => n.peerId === peer)

  const eventAt = (period: number, node: SimNode, kind: ChurnEvent['kind']): void => { events.push({ period, node: node.id, kind, atMs: Date.now() - started }) }

  /** Starts (or restarts) a node's daemon; its stop is registered before anything else can fail. */
  const launch = async (n: SimNode): Promise<void> => { await track(start(n)) }
  const start = async (n: SimNode): Promise<void> => {
    signal.throwIfAborted()
    const d = await startDaemonProcess(n.repo, { bootstrap: n.stable && n.id === 0 ? [] : bootstrap, timeoutMs: TIMEOUT.start })
    ctx.defer(async () => { await stopDaemonProcess(d, TIMEOUT.stop) })
    if (signal.aborted) {
      await stopDaemonProcess(d, TIMEOUT.stop)
      signal.throwIfAborted()
    }
    // Warnings and errors the daemon logs (pino JSON lines), tallied by message; the last few
    // lines are kept to say why, should the daemon exit by itself.
    let partial = ''
    const recent: string[] = []
    d.child.stderr?.on('data', (b: Buffer) => {
      const lines = (partial + b.toString()).split('\n')
      partial = lines.pop() ?? ''
      for (const line of lines) {
        if (line.trim() === '') continue
        recent.push(line.slice(0, 300))
        if (recent.length > 12) recent.shift()
        let msg = line.slice(0, 160)
        try {
          const j = JSON.parse(line) as { level?: number, msg?: string, err?: { message?: string } }
          msg = `${j.level === 40 ? 'warn' : j.level === 50 ? 'error' : j.level === 60 ? 'fatal' : String(j.level)}: ${String(j.msg ?? '')}${j.err?.message !== undefined ? ` (${j.err.message})` : ''}`.slice(0, 200)
        } catch {}
        tally(daemonLog, msg)
      }
    })
    d.child.once('exit', (code, sig) => {
      if (over || n.daemon !== d || n.state !== 'live') return
      n.state = 'crashed'
      eventAt(period, n, 'died')
      deaths.push({ period, node: n.id, exit: sig !== null ? `signal ${sig}` : `code ${String(code)}`, stderr: [...recent, partial].join('\n').trim() })
    })
    n.daemon = d
    n.state = 'live'
    n.peerId = d.info.peerId
    n.ports = portsOf(d.info.addresses)
    n.starts++
  }

  const newNode = (stable: boolean): SimNode => {
    const id = nodes.length
    const n: SimNode = { id, repo: join(ctx.dir, `node-${id}`), stable, state: 'crashed', peerId: '', ports: [], starts: 0, holds: new Set() }
    nodes.push(n)
    return n
  }

  // The network: the first stable node, the second through it, then the rest through both.
  ctx.progress.update(`starting ${ctx.nodes} daemons`, true)
  const first = newNode(true)
  await launch(first)
  bootstrap = first.daemon?.dialable ?? []
  const second = newNode(true)
  await launch(second)
  bootstrap = [...bootstrap, ...(second.daemon?.dialable ?? [])]
  await Promise.all(Array.from({ length: ctx.nodes - STABLE_NODES }, () => newNode(false)).map(launch))
  const startMs = Date.now() - started
  ctx.progress.update(`${ctx.nodes} daemons up in ${(startMs / 1000).toFixed(1)} s`, true)

  /** Seeded file contents for each adder (drawn before anything runs, so the seed fixes them). */
  const planAdds = (adders: SimNode[], period: number): Array<{ n: SimNode, index: number, size: number, bytes: Buffer, period: number }> => adders.map(n => {
    const size = FILE_BYTES.min + rng.int(FILE_BYTES.max - FILE_BYTES.min + 1)
    return { n, index: nextFile++, size, bytes: rng.bytes(size), period }
  })
  /** Adds the files through their nodes' daemons; returns how many were added. */
  const addFiles = async (toAdd: ReturnType<typeof planAdds>): Promise<number> => {
    const added = await Promise.all(toAdd.map(async (a): Promise<boolean> => {
      const path = join(filesDir, `file-${a.index}.bin`)
      await writeFile(path, a.bytes)
      const r = await cli(['--repo', a.n.repo, 'add', '--json', path], TIMEOUT.add)
      if (r.code !== 0) {
        addFailures.push(firstLine(r, TIMEOUT.add))
        return false
      }
      const out = parseJson<Array<{ cid: string, provided?: boolean }>>(r.stdout)
      if (out?.[0]?.cid === undefined) {
        addFailures.push(`unreadable output: ${r.stdout.slice(0, 200)}`)
        return false
      }
      a.n.holds.add(a.index)
      files.push({ index: a.index, cid: out[0].cid, path, size: a.size, period: a.period, addedBy: a.n.id, provided: out[0].provided === true })
      return true
    }))
    files.sort((a, b) => a.index - b.index)
    return added.filter(ok => ok).length
  }

  // Files to fetch in the first period.
  ctx.progress.update(`${adds} nodes add the first files`, true)
  await addFiles(planAdds(rng.sample(live(), adds), 0))

  for (period = 1; period <= periods; period++) {
    signal.throwIfAborted()
    const tag = `period ${period}/${periods}`
    const stepMs = { work: 0, join: 0, census: 0 }
    let stepStart = Date.now()
    const endStep = (name: keyof typeof stepMs): void => { stepMs[name] = Date.now() - stepStart; stepStart = Date.now() }

    // 1. Who goes this period, who adds a file, and which fetches run meanwhile.
    const churnable = live().filter(n => !n.stable)
    const crashCount = Math.min(churnable.length, Math.max(1, Math.round(CRASH_RATE * churnable.length)))
    const leaveWanted = LEAVE_RATE * churnable.length
    const leaveCount = Math.min(churnable.length - crashCount, Math.floor(leaveWanted) + (rng.next() < leaveWanted % 1 ? 1 : 0))
    const victims = rng.sample(churnable, crashCount + leaveCount)
    const crashers = victims.slice(0, crashCount)
    const leavers = victims.slice(crashCount)
    const staying = live().filter(n => !victims.includes(n))
    const toAdd = planAdds(rng.sample(staying, adds), period)
    // Fetches of files a node that stays holds (other holders may go while they run), and
    // ORPHAN_FETCHES of files only nodes that go (or nobody up) hold, to see how those fail.
    const keptBy = (f: SimFile): boolean => staying.some(n => n.holds.has(f.index))
    const plan: Array<{ fetcher: SimNode, file: SimFile }> = []
    const lacks = (n: SimNode, f: SimFile): boolean => !n.holds.has(f.index) && !plan.some(p => p.fetcher === n && p.file === f)
    const choose = (among: SimFile[]): boolean => {
      const candidates = staying.filter(n => among.some(f => lacks(n, f)))
      if (candidates.length === 0) return false
      const fetcher = rng.pick(candidates)
      plan.push({ fetcher, file: rng.pick(among.filter(f => lacks(fetcher, f))) })
      return true
    }
    const kept = files.filter(keptBy)
    for (let i = 0; i < fetchesPerPeriod; i++) if (!choose(kept)) break
    const orphans = files.filter(f => !keptBy(f))
    for (let i = 0; i < ORPHAN_FETCHES; i++) if (!choose(orphans)) break
    const churnPlan = [
      ...crashers.map(n => ({ n, kind: 'crash' as const, delay: rng.int(CHURN_WINDOW_MS) })),
      ...leavers.map(n => ({ n, kind: 'leave' as const, delay: rng.int(CHURN_WINDOW_MS) }))
    ]

    // 2. The adds, the fetches and the crashes and leaves, all at once.
    signal.throwIfAborted()
    ctx.progress.update(`${tag}: ${toAdd.length} adds and ${plan.length} fetches while ${crashers.length} crash and ${leavers.length} leave`)
    const adding = addFiles(toAdd)
    const churning = Promise.all(churnPlan.map(async (c) => {
      await sleep(c.delay, undefined, { signal })
      const d = c.n.daemon as DaemonProcess
      if (c.kind === 'crash') {
        c.n.state = 'crashed'
        eventAt(period, c.n, 'crash')
        await killDaemonProcess(d)
      } else {
        c.n.state = 'left'
        eventAt(period, c.n, 'leave')
        await stopDaemonProcess(d, TIMEOUT.stop)
        c.n.holds.clear()
        await rm(c.n.repo, { recursive: true, force: true })
      }
    }))
    const fetching = pool(plan, FETCH_CONCURRENCY, async ({ fetcher, file }) => {
      signal.throwIfAborted()
      const holdersAtStart = nodes.filter(n => n.state === 'live' && n.holds.has(file.index))
      const out = join(outDir, `${fetcher.id}-${file.index}.bin`)
      const t0 = Date.now()
      const r = await cli(['--repo', fetcher.repo, 'fetch', file.cid, '-o', out, '--json'], TIMEOUT.fetch)
      const wallMs = Date.now() - t0
      // Eligible: some node held it whole and stayed up for the whole fetch.
      const eligible = holdersAtStart.some(n => n.state === 'live')
      const rec: FetchRecord = { period, file: file.index, fetcher: fetcher.id, liveHoldersAtStart: holdersAtStart.length, eligible, ok: false, wallMs }
      const res = r.code === 0 ? parseJson<{ ms: number, size: number, rebuiltChunks: number, providers: Array<{ peer: string, dropped: boolean }> }>(r.stdout) : undefined
      if (r.code === 0 && res === undefined) {
        rec.error = `unreadable output: ${r.stdout.slice(0, 200)}`
      } else if (res !== undefined) {
        const same = res.size === file.size && Buffer.compare(await readFile(out).catch(() => Buffer.alloc(0)), await readFile(file.path)) === 0
        rec.ok = same
        rec.ms = res.ms
        rec.providers = res.providers.length
        rec.droppedProviders = res.providers.filter(p => p.dropped).length
        rec.droppedLive = res.providers.filter(p => p.dropped && byPeer(p.peer)?.state === 'live').length
        rec.deadProviders = res.providers.filter(p => byPeer(p.peer)?.state !== 'live').length
        rec.rebuiltChunks = res.rebuiltChunks
        if (!same) rec.error = 'the fetched file differs from the one added'
        else fetcher.holds.add(file.index)
      } else {
        rec.error = firstLine(r, TIMEOUT.fetch)
      }
      await rm(out, { force: true })
      fetches.push(rec)
    })
    const [added] = await Promise.all([adding, fetching, churning])
    endStep('work')
    const liveAfterChurn = live().length

    // 3. As many join as went: some crashed repos come back (recovery), the rest are new.
    signal.throwIfAborted()
    const joiners: Array<{ n: SimNode, kind: 'restart' | 'join' }> = []
    for (let i = 0; i < victims.length; i++) {
      const crashed = nodes.filter(n => n.state === 'crashed' && !joiners.some(j => j.n === n))
      if (crashed.length > 0 && rng.next() < RESTART_SHARE) joiners.push({ n: rng.pick(crashed), kind: 'restart' })
      else joiners.push({ n: newNode(false), kind: 'join' })
    }
    ctx.progress.update(`${tag}: ${joiners.length} nodes join (${joiners.filter(j => j.kind === 'restart').length} restarted after a crash)`)
    await Promise.all(joiners.map(async (j) => {
      await launch(j.n)
      eventAt(period, j.n, j.kind)
    }))
    endStep('join')

    // 4. Provider records: who the DHT names for a sample of files, against who is up.
    signal.throwIfAborted()
    const sample = rng.sample(files, censusFiles)
    const queries = sample.map(file => ({ file, querier: rng.pick(live()) }))
    ctx.progress.update(`${tag}: looking up providers of ${queries.length} files`)
    await pool(queries, CENSUS_CONCURRENCY, async ({ file, querier }) => {
      signal.throwIfAborted()
      const r = await cli(['--repo', querier.repo, 'find-providers', '--json', '--timeout', String(LOOKUP_MS), file.cid], TIMEOUT.findProviders)
      const liveHolders = nodes.filter(n => n !== querier && n.state === 'live' && n.holds.has(file.index))
      const rec: CensusRecord = { period, file: file.index, querier: querier.id, records: 0, live: 0, dead: 0, deadCrashed: 0, deadLeft: 0, unknown: 0, staleAddrs: 0, liveHolders: liveHolders.length, liveHoldersNamed: 0 }
      const found = r.code === 0 ? parseJson<Array<{ peer: string, addrs: string[] }>>(r.stdout) : undefined
      if (found === undefined) {
        rec.error = r.code === 0 ? `unreadable output: ${r.stdout.slice(0, 200)}` : firstLine(r, TIMEOUT.findProviders)
      } else {
        rec.records = found.length
        for (const p of found) {
          const n = byPeer(p.peer)
          if (n === undefined) rec.unknown++
          else if (n.state === 'live') {
            rec.live++
            if (liveHolders.includes(n)) rec.liveHoldersNamed++
            // A node restarted on a new port: are the addresses handed out its current ones?
            if (!portsOf(p.addrs).some(port => n.ports.includes(port))) rec.staleAddrs++
          } else {
            rec.dead++
            if (n.state === 'crashed') rec.deadCrashed++
            else rec.deadLeft++
          }
        }
      }
      census.push(rec)
    })
    endStep('census')

    const pf = fetches.filter(f => f.period === period)
    const pe = pf.filter(f => f.eligible)
    const pc = census.filter(c => c.period === period)
    perPeriod.push({
      period,
      liveAfterChurn,
      liveAfterJoin: live().length,
      adds: added,
      fetches: pf.length,
      eligible: pe.length,
      eligibleOk: pe.filter(f => f.ok).length,
      successRate: pe.length === 0 ? NaN : pe.filter(f => f.ok).length / pe.length,
      medianFetchMs: median(pe.filter(f => f.ok).map(f => f.ms as number)),
      records: pc.reduce((a, c) => a + c.records, 0),
      staleRecords: pc.reduce((a, c) => a + c.dead, 0),
      stepMs
    })
    const last = perPeriod[perPeriod.length - 1]
    ctx.progress.update(`${tag}: ${last.eligibleOk}/${last.eligible} eligible fetches ok, ${last.staleRecords}/${last.records} provider records stale`, true)
  }

  over = true

  // Figures.
  const eligible = fetches.filter(f => f.eligible)
  const eligibleOk = eligible.filter(f => f.ok)
  const ineligible = fetches.filter(f => !f.eligible)
  const orphaned = ineligible.filter(f => f.liveHoldersAtStart === 0)
  const lostHolder = ineligible.filter(f => f.liveHoldersAtStart > 0)
  // Successful eligible fetches that were handed a provider that was down (a stale record or
  // a node that went mid-fetch), against those that were not.
  const withDead = eligibleOk.filter(f => (f.deadProviders ?? 0) > 0).map(f => f.ms as number)
  const withoutDead = eligibleOk.filter(f => (f.deadProviders ?? 0) === 0).map(f => f.ms as number)
  const staleOfCrashed = census.reduce((a, c) => a + c.deadCrashed, 0)
  const staleOfLeft = census.reduce((a, c) => a + c.deadLeft, 0)
  const healthyDropped = fetches.reduce((a, f) => a + (f.droppedLive ?? 0), 0)
  const rate = eligible.length === 0 ? NaN : eligibleOk.length / eligible.length
  const times = eligibleOk.map(f => f.ms as number)
  const records = census.reduce((a, c) => a + c.records, 0)
  const stale = census.reduce((a, c) => a + c.dead, 0)
  const liveHolders = census.reduce((a, c) => a + (c.error === undefined ? c.liveHolders : 0), 0)
  const liveNamed = census.reduce((a, c) => a + c.liveHoldersNamed, 0)
  const count = (kind: ChurnEvent['kind']): number => events.filter(e => e.kind === kind).length
  const failures = new Map<string, number>()
  for (const f of fetches) if (!f.ok) tally(failures, f.error ?? '?')

  const headline = {
    fetch_success_rate_eligible: round(rate, 3),
    fetches: fetches.length,
    eligible_fetches: eligible.length,
    median_fetch_ms: round(median(times), 0),
    p90_fetch_ms: round(percentile(times, 90), 0),
    stale_provider_records_fraction: round(records === 0 ? NaN : stale / records, 3),
    live_holders_named_fraction: round(liveHolders === 0 ? NaN : liveNamed / liveHolders, 3),
    crashes: count('crash'),
    graceful_leaves: count('leave'),
    joins: count('join') + count('restart'),
    restarts_after_crash: count('restart')
  }
  const target = {
    name: 'fetch success ≥ 99 % with a live provider',
    ok: eligible.length > 0 && rate >= 0.99,
    detail: eligible.length === 0
      ? 'no eligible fetches ran'
      : `${eligibleOk.length} of ${eligible.length} fetches with a live holder succeeded (${round(rate * 100, 1)} %)${eligible.filter(f => !f.ok).map(f => `; period ${f.period}, file ${f.file}, node ${f.fetcher}: ${f.error ?? '?'}`).join('')}`
  }

  const rateValues = perPeriod.flatMap(p => [
    { period: p.period, value: Number.isNaN(p.successRate) ? null : round(p.successRate * 100, 1), series: 'success %' },
    { period: p.period, value: p.liveAfterChurn, series: 'live nodes' }
  ])
  const timeValues = perPeriod.flatMap(p => {
    const ok = fetches.filter(f => f.period === p.period && f.eligible && f.ok)
    return [
      { period: p.period, ms: Number.isNaN(p.medianFetchMs) ? null : round(p.medianFetchMs, 0), series: 'median' },
      { period: p.period, ms: ok.length === 0 ? null : Math.max(...ok.map(f => f.ms as number)), series: 'slowest' }
    ]
  })
  const recordValues = perPeriod.flatMap(p => [
    { period: p.period, records: p.records - p.staleRecords, kind: 'names a live node' },
    { period: p.period, records: p.staleRecords, kind: 'names a dead node' }
  ])

  return {
    headline,
    data: {
      periods,
      stableNodes: STABLE_NODES,
      rates: { crash: CRASH_RATE, leave: LEAVE_RATE, restartShare: RESTART_SHARE },
      perPeriod: { adds, fetches: fetchesPerPeriod, censusFiles },
      startMs,
      ineligibleFetches: {
        noLiveHolderAtStart: { count: orphaned.length, ok: orphaned.filter(f => f.ok).length },
        holdersWentDuringFetch: { count: lostHolder.length, ok: lostHolder.filter(f => f.ok).length }
      },
      fetchMsByDeadProvider: {
        some: { count: withDead.length, median: median(withDead) },
        none: { count: withoutDead.length, median: median(withoutDead) }
      },
      addFailures,
      deaths,
      addsNotProvided: files.filter(f => !f.provided).length,
      staleRecordsOf: { crashed: staleOfCrashed, left: staleOfLeft },
      staleAddressRecords: census.reduce((a, c) => a + c.staleAddrs, 0),
      healthyProvidersDropped: healthyDropped,
      censusErrors: census.filter(c => c.error !== undefined).length,
      failures: Object.fromEntries(failures),
      daemonLog: Object.fromEntries([...daemonLog].sort((a, b) => b[1] - a[1]).slice(0, 30)),
      periodStats: perPeriod,
      files: files.map(f => ({ index: f.index, cid: f.cid, size: f.size, period: f.period, addedBy: f.addedBy, provided: f.provided, holdersAtEnd: nodes.filter(n => n.holds.has(f.index)).map(n => n.id) })),
      nodes: nodes.map(n => ({ id: n.id, stable: n.stable, state: n.state, starts: n.starts, peerId: n.peerId, holds: n.holds.size })),
      fetches,
      census,
      events
    },
    targets: [target, {
      name: 'no daemon exits by itself',
      ok: deaths.length === 0,
      detail: deaths.length === 0
        ? `${nodes.reduce((a, n) => a + n.starts, 0)} daemon starts; every exit was a planned crash or leave`
        : deaths.map(d => `period ${d.period}, node ${d.node} exited (${d.exit}); its last output:\n${d.stderr}`).join('\n')
    }],
    plots: [
      { name: 'success-and-live', title: 'Fetch success and live nodes per period', spec: lineChart('Eligible fetches that succeeded (%), and nodes up after the churn', rateValues, { field: 'period', title: 'period' }, { field: 'value', title: '% / nodes' }, { field: 'series', title: 'series' }) },
      { name: 'fetch-time', title: 'Time to fetch per period', spec: lineChart('Time to fetch (daemon side, successful eligible fetches)', timeValues, { field: 'period', title: 'period' }, { field: 'ms', title: 'ms' }, { field: 'series', title: 'series' }) },
      { name: 'provider-records', title: 'Provider records found per period', spec: barChart('Provider records found in the sample, by whether their node is up', recordValues, { field: 'period', title: 'period' }, { field: 'records', title: 'records' }, { field: 'kind', title: 'record' }) }
    ],
    notes: [
      `Each node is its own \`peerlink daemon\` process on 127.0.0.1, driven through the CLI; ${STABLE_NODES} are bootstrap nodes that never churn. ${adds} nodes add files before the first of ${periods} periods. In each period, while ${adds} random live nodes add a new file (${FILE_BYTES.min / 1024} KiB to ${FILE_BYTES.max / 1048576} MiB of seeded random bytes, default import settings), up to ${fetchesPerPeriod} fetches by CID of earlier files that a node staying up holds, plus ${ORPHAN_FETCHES} of a file that only departing or dead nodes hold, run ${FETCH_CONCURRENCY} at a time (each by a random live node lacking the file, output checked byte for byte), and meanwhile ${round(CRASH_RATE * 100, 0)} % of the churnable nodes (at least one) are killed with SIGKILL and about ${round(LEAVE_RATE * 100, 0)} % stop with SIGTERM (repo deleted), at random moments in the first ${CHURN_WINDOW_MS / 1000} s; then as many nodes join, each restarting a crashed repo with probability ${RESTART_SHARE} (when there is one) or else starting a new repo; then ${censusFiles} sampled files are looked up with \`find-providers\` from a random live node.`,
      'A fetch is eligible when at least one node that holds the file whole (it added the file, or fetched all of it) was up when the fetch began and stayed up to its end. Holders hold whole files, so "a live provider per stripe" is the same as a live holder here. Times are the daemon\'s own FetchResult.ms; the wall times in results.json add the CLI process\'s start-up.',
      `Stale provider records are records naming a node that is down: ${staleOfCrashed} named crashed nodes not (yet) restarted and ${staleOfLeft} nodes that had left gracefully (a graceful stop withdraws nothing; a Kademlia provider record cannot be taken back). PeerLink reprovides every pinned root every 12 h and records live 24 h, so within a run of minutes no periodic reprovide happens and every such record stays until it expires; the only reproviding in play is the provide after each add and fetch and the round a daemon runs when it starts, which is how a restarted repo is named again. live_holders_named_fraction is how many of the live holders (other than the asking node) the lookups named: whether providing keeps up with the nodes that do hold a file.`,
      `Not counted (ineligible): ${orphaned.length} fetches of files no live node held (${orphaned.filter(f => f.ok).length} succeeded) and ${lostHolder.length} whose every holder went while they ran (${lostHolder.filter(f => f.ok).length} succeeded, having finished the transfer first). Successful eligible fetches handed a provider that was down: ${withDead.length} (median ${round(median(withDead), 0)} ms, against ${round(median(withoutDead), 0)} ms for the rest); providers that were up but dropped by a fetch: ${healthyDropped}. The ${ctx.nodes} daemons started in ${(startMs / 1000).toFixed(1)} s.`
    ]
  }
}

export const churn: Scenario = {
  name: 'churn',
  description: 'nodes crash, leave and join while files are added and fetched: fetch success, time to fetch, stale provider records',
  nodes: { default: 12, quick: 5, min: 4, max: 40 },
  timeLimit: { quick: 90_000, full: 900_000 },
  run
}
