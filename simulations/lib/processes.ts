// Child processes for simulations, benchmarks and tests: one bounded way to run a command and
// collect what it printed, the stop (SIGTERM, then SIGKILL) and the kill of a long-lived
// child, and a set that tracks every child it started so one close() stops them all, also
// when a run fails or is interrupted.
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process'

export interface RunResult {
  /** The exit code; null when the child was killed by a signal (as by the time bound). */
  code: number | null
  stdout: string
  stderr: string
  /** Wall time from spawn to exit, ms. */
  ms: number
  /** The child ran past its bound and was killed. */
  timedOut: boolean
}

/** Waits for a spawned child (stdout and stderr piped) to exit, killing it after `timeoutMs`. */
export async function collect (child: ChildProcess, timeoutMs: number): Promise<RunResult> {
  const started = performance.now()
  let stdout = ''
  let stderr = ''
  let timedOut = false
  child.stdout?.on('data', (d: Buffer) => { stdout += d.toString() })
  // A chatty child's stderr is kept to its tail: that is where the reason for a failure is.
  child.stderr?.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-65536) })
  const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL') }, timeoutMs)
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      if (child.exitCode !== null || child.signalCode !== null) { resolve(child.exitCode); return }
      child.once('error', reject)
      child.once('close', resolve)
    })
    return { code, stdout, stderr, ms: performance.now() - started, timedOut }
  } finally {
    clearTimeout(timer)
  }
}

const gone = (child: ChildProcess): boolean => child.exitCode !== null || child.signalCode !== null || child.pid === undefined

/** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code (null when killed) once the process is gone. */
export async function stopChild (child: ChildProcess, graceMs = 10_000): Promise<number | null> {
  if (gone(child)) return child.exitCode
  const exited = new Promise<number | null>(resolve => child.once('exit', (code) => { resolve(code) }))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
  const code = await exited
  clearTimeout(timer)
  return code
}

/** kill -9, as a crash; resolves once the process is gone. */
export async function killChild (child: ChildProcess): Promise<void> {
  if (gone(child)) return
  const exited = new Promise(resolve => child.once('exit', resolve))
  child.kill('SIGKILL')
  await exited
}

export interface SpawnOptions { stdio?: StdioOptions, env?: NodeJS.ProcessEnv }

/**
 * Every child started through it, until it is closed; once closed it refuses to start
 * more, so work still in flight after an abort cannot leave a process behind.
 */
export class ProcessSet {
  private readonly children = new Set<ChildProcess>()
  private closed = false

  constructor (private readonly name = 'the run') {}

  spawn (command: string, args: string[], options: SpawnOptions = {}): ChildProcess {
    if (this.closed) throw new Error(`${this.name} is stopping: no new processes`)
    const child = spawn(command, args, { stdio: options.stdio ?? ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env })
    this.children.add(child)
    const forget = (): void => { this.children.delete(child) }
    child.once('exit', forget)
    child.once('error', forget)
    return child
  }

  /** Runs a command to its end (killed after `timeoutMs`) and collects its output. */
  async run (command: string, args: string[], timeoutMs: number, env?: NodeJS.ProcessEnv): Promise<RunResult> {
    return await collect(this.spawn(command, args, { env }), timeoutMs)
  }

  /** Stops every child still running (SIGTERM, SIGKILL after `graceMs`); safe to call again. */
  async close (graceMs = 5000): Promise<void> {
    this.closed = true
    await Promise.all([...this.children].map(async c => { await stopChild(c, graceMs) }))
  }
}

/** Where the children of callers that bring no set of their own are tracked (never closed). */
export const defaultProcesses = new ProcessSet()
