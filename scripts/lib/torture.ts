// Crash torture: a daemon killed with SIGKILL at random moments of add, fetch, gc and verify,
// and checked after each kill (scripts/torture.ts runs it long; test/node/crash-torture.spec.ts
// runs a few rounds in `npm test`).
//
// A second daemon stays up as the provider of a few files. Each round picks an operation (the
// operations come in seeded shuffles of all four, so a few rounds cover each), prepares it
// (awaited, outside the kill window), starts it through the victim daemon's HTTP API, kills
// the daemon after a seeded fraction of the operation's expected duration (learnt from the
// runs that finished), checks the repo with the daemon down (torture-checks.ts), restarts the
// daemon on the same repo, and then:
//   - after a fetch, fetches the same root to the end and requires that it brings exactly the
//     blocks the index did not hold (a resume refetches nothing indexed);
//   - after blocks were damaged for a verify, repairs them through the daemon's verify.
// The seed fixes the schedule (operations, sizes, fractions, damage); where a kill lands in
// time still depends on the machine's speed, so a replayed seed hits similar, not identical,
// moments.
import { existsSync } from 'node:fs'
import { mkdir, open, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { CID } from 'multiformats/cid'
import type { AddOut } from '../../src/api/shapes.js'
import { findDaemon, type DaemonClient } from '../../src/cli/client.js'
import type { VerifyReport } from '../../src/files/verify.js'
import type { FetchResult } from '../../src/node/fetch.js'
import { peerlink } from '../../simulations/lib/cli.js'
import { killDaemonProcess, startDaemonProcess, type DaemonProcess } from '../../simulations/lib/daemons.js'
import { tempDir } from '../../simulations/lib/network.js'
import { ProcessSet } from '../../simulations/lib/processes.js'
import { Rng } from '../../simulations/lib/rng.js'
import { checkRepo } from './torture-checks.js'
import { addSources, type Source } from './torture-sources.js'

export const OPERATIONS = ['add', 'fetch', 'gc', 'verify'] as const
export type Operation = typeof OPERATIONS[number]

export interface TortureOptions {
  /** Kills to make (one per round). */
  kills: number
  seed: number
  /** Bound on the whole run, s: no round starts after it. */
  maxSeconds: number
  /** Stops the run after the round in progress (Ctrl-C). */
  signal?: AbortSignal
  /** One line per round, for a progress display. */
  log?: (line: string) => void
}

export interface TortureFailure { seed: number, round: number, operation: Operation, problem: string }

export interface OperationCounts { kills: number, interrupted: number, finished: number }

export interface TortureReport {
  seed: number
  kills: number
  rounds: number
  failures: TortureFailure[]
  by_operation: Record<Operation, OperationCounts>
  seconds: number
  /** Why the run ended before its kills: the time bound or a signal. */
  stopped?: 'max-seconds' | 'signal' | 'daemon-down'
}

/** What a round started, and what it leaves to check after the restart. */
interface Started {
  run: Promise<unknown>
  /** The root whose fetch must resume after the restart. */
  resume?: Source
}

/** Longest wait for a daemon call that runs without a kill (a resumed fetch, a repair). */
const CALL_BOUND_MS = 120_000

/** First guesses of how long each operation takes, ms; then learnt from finished runs. */
const FIRST_ESTIMATE: Record<Operation, number> = { add: 1500, fetch: 2000, gc: 300, verify: 1000 }

async function bounded<T> (p: Promise<T>, what: string, ms = CALL_BOUND_MS): Promise<T> {
  const done = new AbortController()
  const late = sleep(ms, undefined, { signal: done.signal }).then(() => { throw new Error(`${what} took over ${ms / 1000} s`) })
  late.catch(() => {}) // rejected by the abort below once the call has ended
  try {
    return await Promise.race([p, late])
  } finally {
    done.abort()
  }
}

export class Torture {
  private readonly rng: Rng
  private readonly processes = new ProcessSet('the torture run')
  private readonly estimate = { ...FIRST_ESTIMATE }
  private readonly report: TortureReport
  private dir = ''
  private victim?: DaemonProcess
  private sources: Source[] = []
  private pins: string[] = []
  /** Damaged on purpose, by root, until repaired. */
  private readonly damaged = new Map<string, string[]>()
  private plan: Operation[] = []

  constructor (private readonly options: TortureOptions) {
    this.rng = new Rng(options.seed)
    const counts = (): OperationCounts => ({ kills: 0, interrupted: 0, finished: 0 })
    this.report = { seed: options.seed, kills: 0, rounds: 0, failures: [], by_operation: { add: counts(), fetch: counts(), gc: counts(), verify: counts() }, seconds: 0 }
  }

  /** Runs every round, then stops every process and removes every file it made. */
  async run (): Promise<TortureReport> {
    const started = Date.now()
    const dir = await tempDir('peerlink-torture-')
    this.dir = dir.path
    try {
      await this.setUp()
      while (this.report.kills < this.options.kills) {
        if (this.aborted()) { this.report.stopped = 'signal'; break }
        if (Date.now() - started > this.options.maxSeconds * 1000) { this.report.stopped = 'max-seconds'; break }
        const failures: TortureFailure[] = []
        const round = this.report.rounds++
        const operation = this.nextOperation()
        const going = await this.round(round, operation, failures).catch((err: Error) => {
          failures.push({ seed: this.options.seed, round, operation, problem: `the round failed: ${err.message}` })
          return false
        })
        // A round cut short by Ctrl-C is not judged: a terminal's SIGINT reaches the daemons too.
        if (this.aborted()) { this.report.stopped = 'signal'; break }
        this.report.failures.push(...failures)
        if (!going) { this.report.stopped = 'daemon-down'; break }
      }
    } finally {
      await this.processes.close()
      await dir.cleanup()
      this.report.seconds = Math.round((Date.now() - started) / 100) / 10
    }
    return this.report
  }

  private aborted (): boolean {
    return this.options.signal?.aborted === true
  }

  private async setUp (): Promise<void> {
    const providerRepo = join(this.dir, 'provider')
    const init = await peerlink(['--repo', providerRepo, 'init', '--listen', '/ip4/127.0.0.1/tcp/0', '--api', '127.0.0.1:0'], { processes: this.processes })
    if (init.code !== 0) throw new Error(`peerlink init failed: ${init.stderr}`)
    this.sources = await addSources(providerRepo, join(this.dir, 'sources'), this.rng)
    await startDaemonProcess(providerRepo, { processes: this.processes, signal: this.options.signal })
    const client = await this.client(providerRepo)
    for (const s of this.sources) s.ticket = (await client.call<{ ticket: string }>('GET', `/ticket/${s.root.toString()}`)).ticket
    await mkdir(join(this.dir, 'outputs'))
    this.victim = await startDaemonProcess(join(this.dir, 'victim'), { processes: this.processes, signal: this.options.signal })
  }

  private async client (repo: string): Promise<DaemonClient> {
    const c = await findDaemon(repo)
    if (c === undefined) throw new Error(`no daemon answers on ${repo}`)
    return c
  }

  private nextOperation (): Operation {
    if (this.plan.length === 0) this.plan = this.rng.sample(OPERATIONS, OPERATIONS.length)
    return this.plan.shift() as Operation
  }

  /** One round; false when the victim daemon cannot be started again (the run cannot go on). */
  private async round (round: number, operation: Operation, failures: TortureFailure[]): Promise<boolean> {
    const fail = (problem: string): void => { failures.push({ seed: this.options.seed, round, operation, problem }) }
    const victim = this.victim as DaemonProcess
    const client = await this.client(victim.repo)
    const pinned: string[] = []
    let started: Started
    try {
      started = await this.start(operation, client, round)
    } catch (err) {
      fail(`preparing the ${operation} failed: ${(err as Error).message}`)
      await killDaemonProcess(victim)
      return await this.restart(fail)
    }
    const fraction = this.rng.next()
    const expected = this.estimate[operation]
    const t0 = Date.now()
    const outcome = await Promise.race([
      started.run.then(r => ({ finished: true, result: r }), (err: Error) => ({ finished: true, error: err })),
      sleep(fraction * expected).then(() => ({ finished: false }))
    ])
    await killDaemonProcess(victim)
    const counts = this.report.by_operation[operation]
    this.report.kills++
    counts.kills++
    const finished = outcome.finished && !('error' in outcome)
    if (outcome.finished && 'error' in outcome) fail(`the ${operation} failed before the kill: ${outcome.error?.message ?? ''}`)
    else if (finished) {
      counts.finished++
      this.estimate[operation] = 0.7 * expected + 0.3 * (Date.now() - t0)
      if (operation === 'add') pinned.push((outcome as { result: AddOut }).result.cid)
      if (started.resume !== undefined) pinned.push(started.resume.root.toString())
    } else counts.interrupted++
    await started.run.catch(() => {}) // the connection the kill cut
    const resume = started.resume
    const check = await checkRepo(victim.repo, {
      damaged: new Set([...this.damaged.values()].flat()),
      pinned,
      count: new Map(resume !== undefined ? [[resume.root.toString(), resume.needed]] : []),
      collected: operation === 'gc' && finished
    })
    for (const p of check.problems) fail(p)
    this.pins = check.pins
    this.options.log?.(`round ${round}: ${operation} ${outcome.finished ? 'had finished' : 'interrupted'} when killed at ${Math.round(fraction * 100)} % of ${Math.round(expected)} ms; ${check.problems.length === 0 ? 'repo sound' : `${check.problems.length} problems`}`)
    if (!await this.restart(fail)) return false
    await this.afterRestart(resume, check.held, fail)
    return true
  }

  private async restart (fail: (problem: string) => void): Promise<boolean> {
    try {
      this.victim = await startDaemonProcess((this.victim as DaemonProcess).repo, { processes: this.processes, timeoutMs: 30_000, signal: this.options.signal })
      return true
    } catch (err) {
      fail(`the daemon does not start again on its repo: ${(err as Error).message}`)
      return false
    }
  }

  /** The resumed fetch brings exactly what was not indexed; damage left by a verify is repaired. */
  private async afterRestart (resume: Source | undefined, held: Map<string, number>, fail: (problem: string) => void): Promise<void> {
    const client = await this.client((this.victim as DaemonProcess).repo)
    try {
      if (resume !== undefined) {
        const had = held.get(resume.root.toString()) ?? 0
        const r = await bounded(client.stream<FetchResult, unknown>('/fetch', this.fetchBody(resume), () => {}), 'the resumed fetch')
        if (r.fetchedBlocks !== resume.needed.length - had) {
          fail(`the resumed fetch of ${resume.name} brought ${r.fetchedBlocks} blocks; ${had} of ${resume.needed.length} were indexed, so ${resume.needed.length - had} were missing`)
        }
        await this.checkOutput(resume, fail)
        if (!this.pins.includes(resume.root.toString())) this.pins.push(resume.root.toString())
      }
      for (const root of [...this.damaged.keys()]) {
        const r = await bounded(client.call<VerifyReport>('POST', '/verify', { cid: root, repair: true }), 'the repair')
        if (!r.ok) fail(`verify --repair could not repair ${root}: ${r.unrecoverable.map(d => d.what).join(', ')}`)
        this.damaged.delete(root)
      }
    } catch (err) {
      fail(`after the restart: ${(err as Error).message}`)
    }
  }

  /** The resumed fetch wrote the source's bytes, and no temporary file of the killed one is left. */
  private async checkOutput (source: Source, fail: (problem: string) => void): Promise<void> {
    const outputs = join(this.dir, 'outputs')
    const left = (await readdir(outputs)).filter(n => !this.sources.some(s => s.name === n))
    if (left.length > 0) fail(`files left beside the fetch outputs: ${left.join(', ')}`)
    const [got, want] = await Promise.all([readFile(join(outputs, source.name)), readFile(source.path)])
    if (!got.equals(want)) fail(`the resumed fetch wrote ${got.length} bytes that differ from ${source.name} (${want.length} bytes)`)
  }

  /** Prepares an operation (awaited) and starts it through the daemon's API. */
  private async start (operation: Operation, client: DaemonClient, round: number): Promise<Started> {
    if (operation === 'add') return await this.startAdd(client, round)
    if (operation === 'fetch') return await this.startFetch(client)
    if (operation === 'gc') {
      // Something to collect: a pin removed (its blocks then go), most of the time.
      if (this.pins.length > 0 && this.rng.next() < 0.7) await client.call('POST', '/rm', { cids: [this.rng.pick(this.pins)] })
      return { run: client.call('POST', '/gc') }
    }
    return await this.startVerify(client)
  }

  private async startAdd (client: DaemonClient, round: number): Promise<Started> {
    const path = join(this.dir, 'inputs', `round-${round}`)
    const directory = this.rng.next() < 0.3
    const files = directory ? 2 + this.rng.int(3) : 1
    await mkdir(directory ? path : join(this.dir, 'inputs'), { recursive: true })
    for (let i = 0; i < files; i++) {
      const size = 1 + this.rng.int((directory ? 4 : 12) * 1024 * 1024)
      await writeFile(directory ? join(path, `file-${i}.bin`) : path, this.rng.bytes(size))
    }
    const chunkSize = this.rng.pick([64 * 1024, 256 * 1024, 1024 * 1024])
    const run = client.call<AddOut>('POST', '/add', { path, recursive: directory, chunkSize })
    const cleanup = async (): Promise<void> => { await rm(path, { recursive: true, force: true }) }
    return { run: run.finally(cleanup) }
  }

  private async startFetch (client: DaemonClient): Promise<Started> {
    const source = this.rng.pick(this.sources)
    const root = source.root.toString()
    if (this.pins.includes(root)) {
      // Start from nothing, or (half the time) from its blocks still stored but unpinned.
      await client.call('POST', '/rm', { cids: [root] })
      if (this.rng.next() < 0.5) await client.call('POST', '/gc')
    }
    return { run: client.stream('/fetch', this.fetchBody(source), () => {}), resume: source }
  }

  /** A fetch of a source that writes it to the same output each time (replacing it). */
  private fetchBody (source: Source): { target: string, output: string, force: boolean } {
    return { target: source.ticket, output: join(this.dir, 'outputs', source.name), force: true }
  }

  private async startVerify (client: DaemonClient): Promise<Started> {
    let source = this.sources.find(s => this.pins.includes(s.root.toString()))
    if (source === undefined) {
      source = this.rng.pick(this.sources)
      await bounded(client.stream('/fetch', { target: source.ticket }, () => {}), 'the fetch before a verify')
      this.pins.push(source.root.toString())
    }
    const victims = this.rng.sample(source.files, 1 + this.rng.int(2))
    for (const cid of victims) await this.damage((this.victim as DaemonProcess).repo, source, cid)
    this.damaged.set(source.root.toString(), victims.map(c => c.toString()))
    return { run: client.call('POST', '/verify', { cid: source.root.toString(), repair: true }) }
  }

  /**
   * Deletes a stored block's file or inverts 16 bytes of it: damage verify must find and
   * repair. A data chunk not stored loose is in the pack named after its root, at its offset
   * in the file: its bytes there are inverted.
   */
  private async damage (repo: string, source: Source, cid: CID): Promise<void> {
    const id = cid.toString()
    const loose = join(repo, 'blocks', 'data', id.slice(-2), id)
    const place = existsSync(loose) ? undefined : source.places.get(id)
    const packed = place !== undefined
    const file = packed ? join(repo, 'blocks', 'packs', source.root.toString()) : loose
    if (!packed && this.rng.next() < 0.3) { await rm(file); return }
    const fh = await open(file, 'r+')
    try {
      const start = place?.offset ?? 0
      const size = place?.size ?? (await fh.stat()).size
      const at = start + this.rng.int(Math.max(1, size - 16))
      const bytes = Buffer.alloc(16)
      const { bytesRead } = await fh.read(bytes, 0, 16, at)
      for (let i = 0; i < bytesRead; i++) bytes[i] ^= 0xff
      await fh.write(bytes, 0, bytesRead, at)
    } finally {
      await fh.close()
    }
  }
}

export async function runTorture (options: TortureOptions): Promise<TortureReport> {
  return await new Torture(options).run()
}
