// The churn scenario's nodes: `peerlink daemon` processes on 127.0.0.1 that start, crash
// (kill -9), leave (SIGTERM, repo deleted) and restart, with what happened to each recorded:
// churn events, daemons that exited by themselves, and the warnings and errors they logged.
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { killDaemonProcess, startDaemonProcess, stopDaemonProcess, type DaemonProcess } from '../../lib/daemons.js'
import type { ProcessSet } from '../../lib/processes.js'
import { tally } from '../../lib/stats.js'
import { STABLE_NODES, TIMEOUT, type SimNode } from './plan.js'
import type { ChurnEvent, Death } from './report.js'

export const portsOf = (addrs: string[]): string[] => addrs.flatMap(a => /\/tcp\/(\d+)/.exec(a)?.[1] ?? [])

export class Fleet {
  readonly nodes: SimNode[] = []
  readonly events: ChurnEvent[] = []
  readonly deaths: Death[] = []
  /** Warnings and errors the daemons logged, by message. */
  readonly daemonLog = new Map<string, number>()
  /** The period under way, for the records. */
  period = 0
  /** Set once the periods are over: the daemons' stops at the end are planned. */
  over = false
  private bootstrap: string[] = []
  private readonly started = Date.now()

  constructor (private readonly dir: string, private readonly processes: ProcessSet, private readonly signal: AbortSignal) {}

  live (): SimNode[] {
    return this.nodes.filter(n => n.state === 'live')
  }

  byPeer (peer: string): SimNode | undefined {
    return this.nodes.find(n => n.peerId === peer)
  }

  event (node: SimNode, kind: ChurnEvent['kind']): void {
    this.events.push({ period: this.period, node: node.id, kind, atMs: Date.now() - this.started })
  }

  newNode (stable = false): SimNode {
    const id = this.nodes.length
    const n: SimNode = { id, repo: join(this.dir, `node-${id}`), stable, state: 'crashed', peerId: '', ports: [], starts: 0, holds: new Set() }
    this.nodes.push(n)
    return n
  }

  /** The network: the first stable node, the second through it, then the rest through both. */
  async startAll (count: number): Promise<void> {
    for (let i = 0; i < STABLE_NODES; i++) {
      const n = this.newNode(true)
      await this.launch(n)
      this.bootstrap.push(...(n.daemon?.dialable ?? []))
    }
    await Promise.all(Array.from({ length: count - STABLE_NODES }, () => this.newNode()).map(async n => { await this.launch(n) }))
  }

  /** Starts (or restarts) a node's daemon. */
  async launch (n: SimNode): Promise<void> {
    this.signal.throwIfAborted()
    const d = await startDaemonProcess(n.repo, { bootstrap: this.bootstrap, timeoutMs: TIMEOUT.start, processes: this.processes, signal: this.signal })
    if (this.signal.aborted) {
      await stopDaemonProcess(d, TIMEOUT.stop)
      this.signal.throwIfAborted()
    }
    this.watch(n, d)
    n.daemon = d
    n.state = 'live'
    n.peerId = d.info.peerId
    n.ports = portsOf(d.info.addresses)
    n.starts++
  }

  async crash (n: SimNode): Promise<void> {
    n.state = 'crashed'
    this.event(n, 'crash')
    await killDaemonProcess(n.daemon as DaemonProcess)
  }

  async leave (n: SimNode): Promise<void> {
    n.state = 'left'
    this.event(n, 'leave')
    await stopDaemonProcess(n.daemon as DaemonProcess, TIMEOUT.stop)
    n.holds.clear()
    await rm(n.repo, { recursive: true, force: true })
  }

  /**
   * Tallies the daemon's log lines (pino JSON) by message, and records an exit nobody asked
   * for, with its last lines to say why.
   */
  private watch (n: SimNode, d: DaemonProcess): void {
    let partial = ''
    const recent: string[] = []
    d.child.stderr?.on('data', (b: Buffer) => {
      const lines = (partial + b.toString()).split('\n')
      partial = lines.pop() ?? ''
      for (const line of lines) {
        if (line.trim() === '') continue
        recent.push(line.slice(0, 300))
        if (recent.length > 12) recent.shift()
        tally(this.daemonLog, logMessage(line))
      }
    })
    d.child.once('exit', (code, sig) => {
      if (this.over || n.daemon !== d || n.state !== 'live') return
      n.state = 'crashed'
      this.event(n, 'died')
      this.deaths.push({ period: this.period, node: n.id, exit: sig !== null ? `signal ${sig}` : `code ${String(code)}`, stderr: [...recent, partial].join('\n').trim() })
    })
  }
}

/** A daemon's log line as "level: message (error)", or its start when it is not JSON. */
function logMessage (line: string): string {
  try {
    const j = JSON.parse(line) as { level?: number, msg?: string, err?: { message?: string } }
    const level = j.level === 40 ? 'warn' : j.level === 50 ? 'error' : j.level === 60 ? 'fatal' : String(j.level)
    return `${level}: ${String(j.msg ?? '')}${j.err?.message !== undefined ? ` (${j.err.message})` : ''}`.slice(0, 200)
  } catch {
    return line.slice(0, 160)
  }
}
