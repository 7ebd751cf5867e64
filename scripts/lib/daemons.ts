// `peerlink daemon` processes on fresh repos, for tests, benchmarks and simulations: start
// one (bounded wait for its api.json), talk to it through the CLI, stop it (SIGTERM, then
// SIGKILL after a bound) or kill it outright. Every child is tracked by PID so a caller
// can stop all of them, also when it fails.
import { spawn, type ChildProcess, type ChildProcessByStdio } from 'node:child_process'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'

export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url))

export interface CliResult { code: number | null, stdout: string, stderr: string }

/** Runs the built CLI as a user would; the child is killed if it overruns. */
export async function runCli (args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 15_000): Promise<CliResult> {
  return await run(spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }), timeoutMs)
}

/**
 * Runs the built CLI on a pseudo-terminal (util-linux `script`), as in an interactive shell:
 * standard output and error both arrive in `stdout`, with the terminal's control codes.
 */
export async function runCliInTerminal (args: string[], timeoutMs = 15_000): Promise<CliResult> {
  const quote = (s: string): string => `'${s.replaceAll("'", "'\\''")}'`
  const command = [process.execPath, CLI, ...args].map(quote).join(' ')
  return await run(spawn('script', ['--quiet', '--return', '--command', command, '/dev/null'], { env: { ...process.env, COLUMNS: '120' }, stdio: ['ignore', 'pipe', 'pipe'] }), timeoutMs)
}

async function run (child: ChildProcessByStdio<null, Readable, Readable>, timeoutMs: number): Promise<CliResult> {
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject)
      child.once('close', resolve)
    })
    return { code, stdout, stderr }
  } finally {
    clearTimeout(timer)
  }
}

export interface DaemonProcess {
  child: ChildProcess
  repo: string
  info: { address: string, pid: number, peerId: string, addresses: string[] }
  /** Addresses to dial or bootstrap from, each ending in this daemon's /p2p/ id. */
  dialable: string[]
}

/** Turns a daemon's listen addresses into dialable ones ending in exactly one /p2p/ part. */
export function dialable (info: { peerId: string, addresses: string[] }): string[] {
  return info.addresses.map(a => a.includes('/p2p/') ? a : `${a}/p2p/${info.peerId}`)
}

/** Inits a repo listening on a free loopback port (unless it exists) and starts `peerlink daemon` on it. */
export async function startDaemonProcess (repo: string, options: { bootstrap?: string[], env?: NodeJS.ProcessEnv, nodeArgs?: string[], timeoutMs?: number } = {}): Promise<DaemonProcess> {
  const bootstrap = options.bootstrap ?? []
  // A repo that exists (a restart) keeps its config: init refuses options on it.
  if (!existsSync(join(repo, 'config.json'))) {
    const init = await runCli(['--repo', repo, 'init', '--listen', '/ip4/127.0.0.1/tcp/0', '--api', '127.0.0.1:0', ...(bootstrap.length > 0 ? ['--bootstrap', ...bootstrap] : [])])
    if (init.code !== 0) throw new Error(`peerlink init failed (${init.code}): ${init.stderr}`)
  }
  const apiFile = join(repo, 'api.json')
  rmSync(apiFile, { force: true }) // left behind by a daemon that was killed
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), CLI, '--repo', repo, 'daemon'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, PEERLINK_LOG_LEVEL: 'warn', ...options.env }
  })
  let stderr = ''
  child.stderr?.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-8192) })
  const deadline = Date.now() + (options.timeoutMs ?? 15_000)
  while (!existsSync(apiFile) && child.exitCode === null && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 25))
  if (!existsSync(apiFile)) {
    child.kill('SIGKILL')
    throw new Error(child.exitCode !== null ? `daemon exited (${child.exitCode}): ${stderr}` : 'daemon did not start in time')
  }
  let info: DaemonProcess['info']
  try {
    info = JSON.parse(await readFile(apiFile, 'utf8')) as DaemonProcess['info']
  } catch (err) {
    child.kill('SIGKILL')
    throw new Error(`daemon wrote an unreadable api.json: ${(err as Error).message}`)
  }
  return { child, repo, info, dialable: dialable(info) }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code (null when killed) once the process is gone. */
export async function stopChild (child: ChildProcess, graceMs = 10_000): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return child.exitCode
  const exited = new Promise<number | null>(resolve => child.once('exit', (code) => { resolve(code) }))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
  const code = await exited
  clearTimeout(timer)
  return code
}

export async function stopDaemonProcess (d: DaemonProcess, graceMs = 10_000): Promise<number | null> {
  return await stopChild(d.child, graceMs)
}

/** kill -9, as a crash; resolves once the process is gone. */
export async function killDaemonProcess (d: DaemonProcess): Promise<void> {
  if (d.child.exitCode !== null || d.child.signalCode !== null) return
  const exited = new Promise(resolve => d.child.once('exit', resolve))
  d.child.kill('SIGKILL')
  await exited
}

/** The peak resident set of a running process (VmHWM), in bytes; 0 when unknown. */
export function peakRss (pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m === null ? 0 : Number(m[1]) * 1024
  } catch {
    return 0
  }
}
