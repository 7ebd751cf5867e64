// `peerlink daemon` processes, for tests, benchmarks and simulations: start one (on a fresh
// loopback repo, or on a repo made beforehand, optionally under a prefix such as
// `ip netns exec <namespace>`), with a bounded wait for its api.json; stop it (SIGTERM, then
// SIGKILL after a bound) or kill it outright, as a crash.
import type { ChildProcess } from 'node:child_process'
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { cliCommand, runCli } from './cli.js'
import { defaultProcesses, killChild, stopChild, type ProcessSet } from './processes.js'

export interface DaemonProcess {
  child: ChildProcess
  repo: string
  info: { address: string, pid: number, peerId: string, addresses: string[], gateway?: string }
  /** Addresses to dial or bootstrap from, each ending in this daemon's /p2p/ id. */
  dialable: string[]
  /** The tail of what the daemon wrote to stderr (its warnings and errors). */
  log: () => string
}

export interface DaemonOptions {
  /** Used only when the repo is made here (a repo that exists keeps its config). */
  bootstrap?: string[]
  /** More arguments to `peerlink daemon`. */
  args?: string[]
  env?: NodeJS.ProcessEnv
  nodeArgs?: string[]
  /** Bound on the wait for the daemon's api.json, ms (default 15 s). */
  timeoutMs?: number
  /** A command the daemon runs under, as `ip netns exec <namespace>`. */
  prefix?: string[]
  processes?: ProcessSet
  signal?: AbortSignal
}

/** Turns a daemon's listen addresses into dialable ones ending in exactly one /p2p/ part. */
export function dialable (info: { peerId: string, addresses: string[] }): string[] {
  return info.addresses.map(a => a.includes('/p2p/') ? a : `${a}/p2p/${info.peerId}`)
}

/** Inits a repo whose daemon listens, serves its API and its gateway on free loopback ports. */
export async function initDaemonRepo (repo: string, bootstrap: string[] = []): Promise<void> {
  const init = await runCli(['--repo', repo, 'init', '--listen', '/ip4/127.0.0.1/tcp/0', '--api', '127.0.0.1:0', ...(bootstrap.length > 0 ? ['--bootstrap', ...bootstrap] : [])])
  if (init.code !== 0) throw new Error(`peerlink init failed (${String(init.code)}): ${init.stderr}`)
  // A gateway on a free port too: the default one (8021) can be only one daemon's.
  const configFile = join(repo, 'config.json')
  const config = JSON.parse(readFileSync(configFile, 'utf8')) as { gateway?: { address?: string } }
  writeFileSync(configFile, JSON.stringify({ ...config, gateway: { ...config.gateway, address: '127.0.0.1:0' } }, null, 2) + '\n')
}

/** Inits a repo as initDaemonRepo does (unless it exists) and starts `peerlink daemon` on it. */
export async function startDaemonProcess (repo: string, options: DaemonOptions = {}): Promise<DaemonProcess> {
  if (!existsSync(join(repo, 'config.json'))) await initDaemonRepo(repo, options.bootstrap)
  const apiFile = join(repo, 'api.json')
  rmSync(apiFile, { force: true }) // left behind by a daemon that was killed
  const { command, args } = cliCommand(['--repo', repo, 'daemon', ...(options.args ?? [])], options)
  const child = (options.processes ?? defaultProcesses).spawn(command, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, PEERLINK_LOG_LEVEL: 'warn', ...options.env }
  })
  let stderr = ''
  child.stderr?.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-8192) })
  const deadline = Date.now() + (options.timeoutMs ?? 15_000)
  while (!existsSync(apiFile) && child.exitCode === null && child.signalCode === null && Date.now() < deadline && options.signal?.aborted !== true) await sleep(25)
  if (!existsSync(apiFile)) {
    child.kill('SIGKILL')
    options.signal?.throwIfAborted()
    throw new Error(child.exitCode !== null ? `daemon exited (${child.exitCode}): ${stderr.trim()}` : `daemon did not start within ${(options.timeoutMs ?? 15_000) / 1000} s: ${stderr.trim()}`)
  }
  let info: DaemonProcess['info']
  try {
    info = JSON.parse(await readFile(apiFile, 'utf8')) as DaemonProcess['info']
  } catch (err) {
    child.kill('SIGKILL')
    throw new Error(`daemon wrote an unreadable api.json: ${(err as Error).message}`)
  }
  return { child, repo, info, dialable: dialable(info), log: () => stderr }
}

export async function stopDaemonProcess (d: DaemonProcess, graceMs = 10_000): Promise<number | null> {
  return await stopChild(d.child, graceMs)
}

/** kill -9, as a crash; resolves once the process is gone. */
export async function killDaemonProcess (d: DaemonProcess): Promise<void> {
  await killChild(d.child)
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

/** CPU seconds (user + system) and bytes sent towards the disk so far by a running process. */
export interface ProcessCost { cpuSeconds: number, writtenBytes: number }

/** Clock ticks per second of /proc/<pid>/stat's times: USER_HZ, 100 on every Linux ABI Node runs on. */
const USER_HZ = 100

/**
 * From /proc/<pid>/stat (utime, stime) and /proc/<pid>/io (write_bytes: page-cache pages
 * dirtied for storage, counted when dirtied, so unflushed writes count too); zeros when unknown.
 */
export function processCost (pid: number): ProcessCost {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name (field 2) may hold spaces: the fields are counted after its ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / USER_HZ
    const m = /^write_bytes:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))
    return { cpuSeconds, writtenBytes: m === null ? 0 : Number(m[1]) }
  } catch {
    return { cpuSeconds: 0, writtenBytes: 0 }
  }
}

/**
 * Seconds a process's main thread has so far spent ready to run but waiting for a core
 * (/proc/<pid>/schedstat's run delay, the thread group leader's); 0 when unknown. Where it
 * grows with the work, the cores and not the work's own pace set how fast it goes.
 */
export function runDelay (pid: number): number {
  try {
    const delayNs = Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1])
    return Number.isFinite(delayNs) ? delayNs / 1e9 : 0
  } catch {
    return 0
  }
}

/**
 * The whole machine's CPU seconds so far from /proc/stat's first line: `busy` (every state but
 * idle and iowait; the kernel's interrupt and softirq work, such as veth, bridge and `tc`
 * traffic, included) and `total`, summed over the cores. Zeros when unknown.
 */
export function machineCpu (): { busy: number, total: number } {
  try {
    const [user, nice, system, idle, iowait, irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number)
    const busy = user + nice + system + irq + softirq + steal
    return { busy: busy / USER_HZ, total: (busy + idle + iowait) / USER_HZ }
  } catch {
    return { busy: 0, total: 0 }
  }
}
