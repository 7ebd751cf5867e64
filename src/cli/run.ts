// What every command does around its own work: find its repo, open a backend on it (see
// backend.ts), stop cleanly on a signal, and write its output.
import { once } from 'node:events'
import { constants as osConstants } from 'node:os'
import type { Command } from 'commander'
import { errorBody } from '../api/error-handler.js'
import { ApiError, InvalidArgumentError, PeerLinkError } from '../errors.js'
import { resolveRepoPath } from '../repo/repo.js'
import { openBackend, type Backend } from './backend.js'
import { jsonText, type JsonOutput } from './format.js'

interface GlobalOptions { repo?: string }

/** The option of every command that can print its result as JSON. */
export interface JsonFlag { json?: boolean }

export function repoOf (cmd: Command): string {
  return resolveRepoPath((cmd.optsWithGlobals() as GlobalOptions).repo)
}

/** Told first when a signal interrupts the command: a bar to end, what was kept to say. */
const interruptListeners = new Set<() => void>()

/** Calls `listener` if a signal interrupts the command; the function returned stops that. */
export function onInterrupt (listener: () => void): () => void {
  interruptListeners.add(listener)
  return () => { interruptListeners.delete(listener) }
}

/** How long a command's process may linger after its node failed to stop whole. */
const HALF_STOPPED_EXIT_MS = 2000

export async function withBackend<T> (cmd: Command, fn: (b: Backend) => Promise<T>): Promise<T> {
  const backend = await openBackend(repoOf(cmd))
  // A signal interrupts the command (the local backend aborts it and waits for it to clean
  // up, the daemon's aborts the request and with it the daemon's work), then the process
  // exits as a shell reports a signal: 128 + its number.
  let interrupted: Promise<void> | undefined
  const stop = (signal: NodeJS.Signals): void => {
    const code = 128 + osConstants.signals[signal]
    process.exitCode = code
    if (interrupted === undefined) for (const listener of interruptListeners) listener()
    interrupted ??= backend.close().finally(() => process.exit(code))
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  let failed = false
  try {
    return await fn(backend)
  } catch (err) {
    failed = true
    if (interrupted !== undefined) await interrupted // the command failed because it was stopped
    throw err
  } finally {
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
    // A failure while closing (a full disk refusing the peer store's last write) must not hide
    // the command's own failure, which says what went wrong and sets the exit status.
    if (interrupted === undefined) {
      await backend.close().catch((err: unknown) => {
        // A node that could not stop whole may keep sockets or timers open, which would keep
        // the process alive: the command is over, so the process ends soon whatever they hold.
        setTimeout(() => process.exit(), HALF_STOPPED_EXIT_MS).unref()
        if (!failed) throw err
      })
    }
  }
}

/** Lines to standard output. */
export function print (lines: string | string[]): void {
  for (const line of typeof lines === 'string' ? [lines] : lines) process.stdout.write(line + '\n')
}

export function printJson (value: JsonOutput): void {
  print(jsonText(value))
}

/** A line to standard error: what is said about the output rather than the output itself. */
export function note (line: string): void {
  process.stderr.write(line + '\n')
}

/** Bytes to standard output, waiting while the reader is behind. */
export async function writeOut (piece: Uint8Array): Promise<void> {
  if (!process.stdout.write(piece)) await once(process.stdout, 'drain')
}

/** What `--json` prints when a command fails (the API's error body, one level down). */
export interface ErrorOut { error: { name: string, code: string, message: string, exitCode: number } }

export function errorOut (err: unknown): ErrorOut {
  if (!(err instanceof PeerLinkError)) {
    const e = err as Error
    return { error: { name: e?.name ?? 'Error', code: 'ERR_UNEXPECTED', message: `unexpected error: ${e?.message ?? String(err)}`, exitCode: 1 } }
  }
  const { error: name, code, message, exitCode } = errorBody(err)
  // Through a daemon the error is the daemon's own, relayed: its name and code, not the relay's.
  const remote = err instanceof ApiError ? err : undefined
  return { error: { name: remote?.remoteName ?? name, code: remote?.remoteCode ?? code, message, exitCode } }
}

/** Whether the command line asks for JSON (before any "--", after which words are operands). */
export function wantsJson (argv: string[]): boolean {
  const end = argv.indexOf('--')
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json')
}

/**
 * How a failed command ends: its exit status, its message on standard error and, when the
 * command line asks for JSON, one JSON object (ErrorOut) on standard output. A usage error
 * is Commander's message about the command line, which Commander has printed already.
 */
export function fail (err: unknown, json: boolean, usage?: string): void {
  const out = errorOut(usage !== undefined ? new InvalidArgumentError(usage.replace(/^error: /, '')) : err)
  if (usage === undefined) {
    const stack = out.error.exitCode === 1 && process.env.DEBUG !== undefined ? `\n${String((err as Error)?.stack)}` : ''
    note(`peerlink: ${out.error.message}${stack}`)
  }
  if (json) process.stdout.write(JSON.stringify(out) + '\n')
  process.exitCode = out.error.exitCode
}
