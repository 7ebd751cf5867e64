// The checks `peerlink doctor` makes of a node: its repo, its daemon and the daemon's view of
// the network, and the repo's disk against the quota. Each gives a verdict and a message that
// says what to do; a failed one carries the exit status of the failure it stands for.
import { constants } from 'node:fs'
import { access, statfs } from 'node:fs/promises'
import type { StatusOut } from '../api/shapes.js'
import { ApiError, DiskFullError, PeerLinkError, QuotaExceededError, RepoNotFoundError } from '../errors.js'
import type { RepoConfig } from '../repo/config.js'
import { readConfig } from '../repo/repo.js'
import { findDaemon } from './client.js'
import { formatBytes } from './format.js'

export interface DoctorCheck {
  name: string
  verdict: 'ok' | 'warn' | 'fail'
  message: string
  /** A failed check's exit status: that of the failure it stands for. */
  exitCode?: number
}

/** How long the daemon's API may take to answer before it is reported as not answering. */
const API_WAIT = 10_000

/** Free space below this on the repo's disk fails (add and fetch keep this much head-room). */
const MIN_FREE = 16 * 1024 * 1024

/** A quota this full is a warning. */
const QUOTA_WARN = 0.9

const ok = (name: string, message: string): DoctorCheck => ({ name, verdict: 'ok', message })
const warn = (name: string, message: string): DoctorCheck => ({ name, verdict: 'warn', message })
const fail = (name: string, message: string, exitCode: number): DoctorCheck => ({ name, verdict: 'fail', message, exitCode })

/** The repo's config when it can be read, and the check that says so. */
export async function repoCheck (repo: string): Promise<{ check: DoctorCheck, config?: RepoConfig }> {
  let config: RepoConfig
  try {
    config = await readConfig(repo)
    await access(repo, constants.R_OK | constants.W_OK | constants.X_OK)
  } catch (err) {
    if (err instanceof RepoNotFoundError) return { check: warn('repo', `no repo at ${repo} yet: \`peerlink init\` (or \`npm start\`) makes one`) }
    const e = err as Error & { exitCode?: number }
    return { check: fail('repo', `${repo} cannot be used: ${e.message}`, err instanceof PeerLinkError ? err.exitCode : 1) }
  }
  return { check: ok('repo', `${repo} is readable and writable, format version ${config.version}`), config }
}

/** The daemon's status when its API answers, and the check that says whether it runs and answers. */
export async function daemonCheck (repo: string): Promise<{ check: DoctorCheck, status?: StatusOut }> {
  const client = await findDaemon(repo)
  if (client === undefined) return { check: warn('daemon', 'not running: start it with `peerlink daemon`') }
  const where = `pid ${client.info.pid}, API at http://${client.info.address}`
  try {
    const status = await client.call<StatusOut>('GET', '/status', undefined, AbortSignal.timeout(API_WAIT))
    return { check: ok('daemon', `running (${where}), answering with the repo's token`), status }
  } catch (err) {
    const why = (err as Error).name === 'TimeoutError' ? `no answer within ${API_WAIT / 1000} s` : (err as Error).message
    return { check: fail('daemon', `running (${where}) but its API failed: ${why}`, ApiError.exitCode) }
  }
}

const REACHABLE: Record<StatusOut['reachability'], string> = {
  public: 'reachable from outside (a public address)',
  relayed: 'reachable from outside only through a relay',
  private: 'not reachable from outside (private addresses only, no relay)'
}

/** How many connections are direct and how many relayed. */
function viaText (connections: StatusOut['connections']): string {
  const relayed = connections.filter(c => c.via === 'relayed').length
  return ` (${connections.length - relayed} direct, ${relayed} relayed)`
}

/**
 * For a node reachable only through a relay: whether hole punching can make its connections
 * direct, which takes a router that keeps the listening port (seen by peers on it).
 */
function punchCheck (observed: string[]): DoctorCheck {
  if (observed.length > 0) return ok('hole punching', `peers see this node at ${observed.join(', ')} (its listening port): peers behind routers that keep ports connect to it directly`)
  return warn('hole punching', 'no peer has seen this node on its listening port (its router changes ports, or it has dialled no public peer yet): its connections stay relayed; a forwarded port or network.upnp makes it reachable')
}

/** The lines only a running daemon can answer: addresses, hole punching behind a NAT, peers, the DHT. */
export function networkChecks (status: StatusOut | undefined, config: RepoConfig | undefined): DoctorCheck[] {
  if (status === undefined) {
    const configured = config !== undefined ? ` (network.listen: ${config.network.listen.join(', ')})` : ''
    return [warn('addresses', `daemon not running${configured}`), warn('peers', 'daemon not running'), warn('dht', 'daemon not running')]
  }
  const bootstrap = 'add one with `peerlink connect <multiaddr>` or `peerlink config set network.bootstrap <multiaddr>`'
  return [
    status.announced.length === 0
      ? warn('addresses', `listening on ${status.listen.join(', ') || 'nothing'} but announcing no address: no peer can dial this node`)
      : ok('addresses', `listening on ${status.listen.join(', ')}; announced ${status.announced.join(', ')}; ${REACHABLE[status.reachability]}`),
    ...(status.reachability === 'relayed' ? [punchCheck(status.observed)] : []),
    status.peers === 0 ? warn('peers', `no peer connected: ${bootstrap}`) : ok('peers', `${status.peers} connected${viaText(status.connections)}`),
    status.dhtPeers === 0
      ? warn('dht', 'the routing table is empty: finding providers and announcing need DHT peers')
      : ok('dht', `${status.dhtPeers} ${status.dhtPeers === 1 ? 'peer' : 'peers'} in the routing table`)
  ]
}

/**
 * The repo's disk against what it holds and the quota. `usage` is the blockstore's (from the
 * daemon, or the repo opened here), or why it could not be read; `quota` the one in force (the
 * daemon's loaded one while it runs).
 */
export async function diskCheck (repo: string, quota: number, read: { bytes: number } | string): Promise<DoctorCheck> {
  const usage = typeof read === 'string' ? undefined : read
  const fs = await statfs(repo).catch(() => undefined)
  if (fs === undefined) return warn('disk', `the free space of ${repo}'s disk cannot be read`)
  const free = fs.bavail * fs.bsize
  const held = typeof read === 'string' ? `the blockstore's usage is unknown (${read})` : `the blockstore holds ${formatBytes(read.bytes)}`
  const facts = `${formatBytes(free)} free on the repo's disk; ${held}${quota > 0 ? ` of a ${formatBytes(quota)} quota` : ', no quota'}`
  if (free < MIN_FREE) return fail('disk', `${facts}: add and fetch are refused below ${formatBytes(MIN_FREE)} free`, DiskFullError.exitCode)
  if (quota === 0 || usage === undefined) return usage === undefined ? warn('disk', facts) : ok('disk', facts)
  if (usage.bytes >= quota) return fail('disk', `${facts}: the quota is reached, add and fetch are refused (raise storage.quota, or rm and gc)`, QuotaExceededError.exitCode)
  if (free < quota - usage.bytes) return warn('disk', `${facts}: the disk fills before the quota does`)
  if (usage.bytes >= quota * QUOTA_WARN) return warn('disk', `${facts}: over ${QUOTA_WARN * 100} % of the quota is used`)
  return ok('disk', facts)
}
