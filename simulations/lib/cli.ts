// The built CLI (`node dist/cli.js`), run as a user would: bounded, its output collected, and
// for `--json` commands parsed, with one readable error line when it failed.
import { fileURLToPath } from 'node:url'
import { collect, defaultProcesses, type ProcessSet, type RunResult } from './processes.js'

export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url))

export type CliResult = RunResult

export interface CliOptions {
  /** The child is killed past this, ms (default 15 s). */
  timeoutMs?: number
  env?: NodeJS.ProcessEnv
  /** A command the CLI runs under, as `ip netns exec <namespace>`. */
  prefix?: string[]
  /** Where the child is tracked, to be stopped with the rest. */
  processes?: ProcessSet
}

/** The command line that runs the CLI with `args`: under `prefix`, node given `nodeArgs`, when given. */
export function cliCommand (args: string[], o: { prefix?: string[], nodeArgs?: string[] } = {}): { command: string, args: string[] } {
  const argv = [...(o.prefix ?? []), process.execPath, ...(o.nodeArgs ?? []), CLI, ...args]
  return { command: argv[0], args: argv.slice(1) }
}

/** Runs `peerlink <args>`; the child is killed if it overruns. */
export async function peerlink (args: string[], options: CliOptions = {}): Promise<CliResult> {
  const { command, args: argv } = cliCommand(args, options)
  return await (options.processes ?? defaultProcesses).run(command, argv, options.timeoutMs ?? 15_000, { ...process.env, ...options.env })
}

/** Runs the built CLI as a user would (the tests' short form of `peerlink`). */
export async function runCli (args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 15_000): Promise<CliResult> {
  return await peerlink(args, { env, timeoutMs })
}

export type CliJson<T> = { run: CliResult, value: T, error?: undefined } | { run: CliResult, value?: undefined, error: string }

/** Runs `peerlink <args> --json` and parses what it printed; `error` says why when there is no value. */
export async function peerlinkJson<T> (args: string[], options: CliOptions = {}): Promise<CliJson<T>> {
  const run = await peerlink([...args, '--json'], options)
  if (run.code !== 0) return { run, error: cliError(run, options.timeoutMs ?? 15_000) }
  const value = parseJson<T>(run.stdout)
  return value === undefined ? { run, error: `unreadable output: ${run.stdout.slice(0, 200)}` } : { run, value }
}

export function parseJson<T> (text: string): T | undefined {
  try {
    return JSON.parse(text) as T
  } catch {
    return undefined
  }
}

/** Why a CLI call failed, in one line: its `peerlink: …` error (prefix dropped), else its last line of stderr. */
export function cliError (r: CliResult, timeoutMs?: number): string {
  if (r.timedOut) return `timed out after ${timeoutMs !== undefined ? `${timeoutMs} ms` : 'its bound'}`
  const lines = r.stderr.split('\n').map(l => l.trim()).filter(l => l !== '')
  const line = lines.find(l => l.startsWith('peerlink: ')) ?? lines.at(-1)
  return line?.replace(/^peerlink: /, '') ?? `exit code ${String(r.code)}`
}

export interface TerminalOptions {
  /** The child is killed past this, ms (default 15 s). */
  timeoutMs?: number
  /** The terminal's width (a pseudo-terminal has none of its own: programs then guess 80). */
  columns?: number
}

/** The CLI running on a pseudo-terminal: what it has shown so far, keys to type, its end. */
export interface TerminalRun {
  /** Everything written to the terminal so far, control codes included. */
  output: () => string
  /** Types `text` on the terminal: "\x03" is Ctrl-C, which the terminal turns into SIGINT. */
  type: (text: string) => void
  done: Promise<CliResult>
}

/**
 * Starts the built CLI on a pseudo-terminal (util-linux `script`), as in an interactive shell:
 * standard output and error both arrive in `output`, with the terminal's control codes; what
 * is typed goes through the terminal, so Ctrl-C reaches the CLI as a signal from it.
 */
export function startCliInTerminal (args: string[], o: TerminalOptions = {}): TerminalRun {
  const quote = (s: string): string => `'${s.replaceAll("'", "'\\''")}'`
  const { command, args: argv } = cliCommand(args)
  const line = `stty cols ${o.columns ?? 120} rows 24 && exec ${[command, ...argv].map(quote).join(' ')}`
  const child = defaultProcesses.spawn('script', ['--quiet', '--return', '--command', line, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] })
  let shown = ''
  child.stdout?.on('data', (d: Buffer) => { shown += d.toString() })
  const done = collect(child, o.timeoutMs ?? 15_000).finally(() => { child.stdin?.destroy() })
  return { output: () => shown, type: (text) => { child.stdin?.write(text) }, done }
}

/** Runs the built CLI on a pseudo-terminal to its end (see startCliInTerminal). */
export async function runCliInTerminal (args: string[], o: TerminalOptions = {}): Promise<CliResult> {
  return await startCliInTerminal(args, o).done
}
