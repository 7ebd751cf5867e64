// What the partition scenario asks of the running network, each through a process inside a
// node's namespace: peers (`peerlink peers --json`), providers (`peerlink find-providers
// --json`), TCP reachability (the lab's TCP probe) and TCP state (`ss`).
import { setTimeout as sleep } from 'node:timers/promises'
import { peerlinkJson } from '../../lib/cli.js'
import type { Lab, LabHost } from '../../lib/lab.js'
import { round } from '../../lib/stats.js'
import { TCP_PROBE } from '../../lib/tcp-probe.js'
import { P2P_PORT, RECOVERY_LOOKUP_MS } from './plan.js'
import type { Added, Mesh, Recovery, RecoveryPoll, Reachability, TcpAcross } from './report.js'

export interface PartitionNode extends LabHost {
  repo: string
  side: 'A' | 'B'
  peerId: string
}

/** `peerlink <args> --json` against a node's daemon, inside its namespace. */
export async function nodeJson<T> (lab: Lab, n: PartitionNode, args: string[], timeoutMs: number): ReturnType<typeof peerlinkJson<T>> {
  return await peerlinkJson<T>(['--repo', n.repo, ...args], { prefix: lab.prefix(n), processes: lab.processes, timeoutMs })
}

/**
 * Waits (bounded) until every node is connected to every other. Returns the peers each node
 * had when last asked (-1: its daemon never answered) and how many asks went unanswered.
 */
export async function waitForMesh (lab: Lab, nodes: PartitionNode[], timeoutMs: number, signal: AbortSignal, progress: (text: string) => void): Promise<Mesh> {
  const started = Date.now()
  const ids = new Set(nodes.map(n => n.peerId))
  const counts: number[] = nodes.map(() => -1)
  let unanswered = 0
  while (true) {
    // Only nodes not yet connected to all are asked again: each ask is a process.
    await Promise.all(nodes.filter(n => counts[n.index] < nodes.length - 1).map(async (n) => {
      const peers = (await nodeJson<Array<{ peer: string }>>(lab, n, ['peers'], 10_000)).value
      if (peers === undefined) { unanswered++; return }
      counts[n.index] = new Set(peers.map(p => p.peer).filter(p => ids.has(p) && p !== n.peerId)).size
    }))
    if (counts.every(c => c === nodes.length - 1)) return { counts, full: true, ms: Date.now() - started, unanswered }
    if (Date.now() - started > timeoutMs) break
    progress(`waiting for connections: peers per node ${counts.map(c => c < 0 ? '?' : c).join(', ')}`)
    await sleep(1000, undefined, { signal })
  }
  if (counts.every(c => c <= 0)) {
    throw new Error(counts.every(c => c < 0)
      ? `no daemon answered in ${timeoutMs / 1000} s`
      : `no node reached another over the bridge in ${timeoutMs / 1000} s (is bridged traffic filtered? with net.bridge.bridge-nf-call-iptables=1 a FORWARD DROP policy drops it)`)
  }
  return { counts, full: false, ms: Date.now() - started, unanswered }
}

/**
 * Asks the DHT, from the other side, for one partition-era file of each side until it names
 * a node of the holding side; returns when both did (ms after `since`) or at the bound.
 */
export async function watchRecovery (lab: Lab, nodes: PartitionNode[], files: Added[], since: number, boundMs: number, signal: AbortSignal): Promise<Recovery> {
  const probes = (['A', 'B'] as const).flatMap(side => files.filter(f => nodes[f.plan.adder].side === side).slice(0, 1))
  const polls: RecoveryPoll[] = []
  const pending = new Set(probes)
  let last = 0
  while (pending.size > 0 && Date.now() - since < boundMs) {
    await Promise.all([...pending].map(async (f) => {
      const from = nodes[f.plan.crossFetchers[0]]
      const holders = new Set(nodes.filter(n => n.side === nodes[f.plan.adder].side).map(n => n.peerId))
      const at = Date.now() - since
      const r = await nodeJson<Array<{ peer: string }>>(lab, from, ['find-providers', '--timeout', String(RECOVERY_LOOKUP_MS), f.cid as string], RECOVERY_LOOKUP_MS + 6000)
      const found = r.value?.some(p => holders.has(p.peer)) === true
      polls.push({ at: round(at / 1000, 2), file: f.plan.name, from: from.index, found, ms: round(r.run.ms), ...(found ? {} : { error: (r.error ?? 'no holder named').slice(0, 200) }) })
      if (found) { pending.delete(f); last = Date.now() - since }
    }))
    if (pending.size > 0) await sleep(1000, undefined, { signal })
  }
  return { ms: pending.size === 0 ? last : undefined, probes: probes.map(f => ({ file: f.plan.name, from: f.plan.crossFetchers[0] })), polls }
}

/** Open TCP connections between the halves (from `ss`), and how many are backing off. */
export async function tcpAcross (lab: Lab, nodes: PartitionNode[]): Promise<TcpAcross | undefined> {
  if (lab.ss === undefined) return undefined
  const out: TcpAcross = { connections: 0, backingOff: 0, maxRtoMs: 0, maxBackoff: 0 }
  const side = new Map(nodes.map(n => [n.ip, n.side]))
  await Promise.all(nodes.map(async (n) => {
    const r = await lab.exec(n, lab.ss as string, ['-tnio', 'state', 'established'], 5000)
    addTcpAcross(out, r.stdout, n.side, side)
  }))
  return out
}

/** Adds what one node's `ss -tnio` output says about its connections across to `out`. */
export function addTcpAcross (out: TcpAcross, ssOutput: string, ownSide: 'A' | 'B', sideOf: Map<string, 'A' | 'B'>): void {
  let across = false
  for (const line of ssOutput.split('\n')) {
    const addrs = [...line.matchAll(/(\d+\.\d+\.\d+\.\d+):\d+/g)].map(m => m[1])
    if (addrs.length >= 2) { across = sideOf.get(addrs[1]) !== undefined && sideOf.get(addrs[1]) !== ownSide; if (across) out.connections++ }
    const rto = /\brto:(\d+)/.exec(line)
    if (across && rto !== null) {
      const backoff = Number(/\bbackoff:(\d+)/.exec(line)?.[1] ?? 0)
      if (backoff > 0) out.backingOff++
      out.maxRtoMs = Math.max(out.maxRtoMs, Number(rto[1]))
      out.maxBackoff = Math.max(out.maxBackoff, backoff)
      across = false
    }
  }
}

/** TCP connects from every node to every other node's libp2p port: which open, which fail. */
export async function reachability (lab: Lab, nodes: PartitionNode[]): Promise<Reachability> {
  const r = { cross: 0, crossOpen: 0, same: 0, sameClosed: 0 }
  await Promise.all(nodes.map(async (n) => {
    const others = nodes.filter(o => o !== n)
    const res = await lab.exec(n, process.execPath, ['--import', 'tsx', TCP_PROBE, ...others.map(o => `${o.ip}:${P2P_PORT}`)], 15_000)
    const open = res.code === 0 ? (JSON.parse(res.stdout) as boolean[]) : others.map(() => false)
    others.forEach((o, k) => {
      if (o.side === n.side) { r.same++; if (!open[k]) r.sameClosed++ } else { r.cross++; if (open[k]) r.crossOpen++ }
    })
  }))
  return r
}
