// nat: fetching between two peers each behind its own NAT router.
//
// The NAT lab (simulations/lib/lab-nat.ts): a bootstrap+relay daemon on the public segment,
// and per setting two routers with a peer behind each. Peer A adds a file and hands out its
// share link; peer B streams it with `peerlink cat` (time to first byte, total time, bytes
// checked), then says over which kind of connection it reached A (`peerlink peers`: direct,
// hole punched, or relayed). A second file is fetched by CID alone, so B must find A through the DHT. A file
// larger than the relay's data limit shows what a fetch the relay cuts off ends with. Settings:
// `cone` routers keep the source port (hole punching makes the connection direct), `strict`
// ones randomise it (the connection stays relayed); `cone-upnp` runs miniupnpd on A's router and network.upnp on A, so A
// announces the port its router maps and B can dial it directly. Needs Linux, root, iproute2
// and nftables (and miniupnpd for `cone-upnp`).
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { CLI, cliCommand } from '../../lib/cli.js'
import { NatLab, type NatKind } from '../../lib/lab-nat.js'
import { skipped, type Scenario, type ScenarioContext } from '../../lib/scenario.js'
import { round } from '../../lib/stats.js'
import { NatNetwork, type NatNode, type NatPair } from './network.js'
import { NO_PUNCH, report, type Setting } from './report.js'

const KiB = 1024
/** What the relay lets through per relayed connection (each way). */
export const RELAY_LIMIT = 1024 * KiB
const SMALL = 256 * KiB
const LARGE = 4 * RELAY_LIMIT
/** How long a peer has to take its reservation on the relay (per start, and starts), and to upgrade to a direct connection. */
const RESERVE_MS = 8000
const RESERVE_TRIES = 3
const UPGRADE_MS = 5000
/** How long A has to map its port on a UPnP router and announce the mapped address. */
const MAPPING_MS = 30_000

/** The routers of each setting; with `upnp`, miniupnpd runs on A's router and A asks it for a mapping. */
const SETTINGS: Array<{ name: string, kind: NatKind, upnp: boolean }> = [
  { name: 'cone', kind: 'cone', upnp: false },
  { name: 'strict', kind: 'strict', upnp: false },
  { name: 'cone-upnp', kind: 'cone', upnp: true }
]

export const nat: Scenario = {
  name: 'nat',
  description: 'two peers each behind its own NAT router (namespaces, nftables masquerade) and a relay on a public segment: share link and DHT fetches, direct or relayed',
  nodes: { default: 5, quick: 5, min: 5, max: 5 },
  timeLimit: { quick: 60_000, full: 300_000 },
  async run (ctx) {
    const lab = await NatLab.open(ctx.defer, ctx.dir)
    if ('skipped' in lab) return skipped(lab.skipped)
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build PeerLink first (npm run build:ts)`)
    const net = await NatNetwork.make(lab, ctx.dir, RELAY_LIMIT, ctx.signal)
    const settings: Setting[] = []
    for (const s of ctx.quick ? SETTINGS.filter(s => !s.upnp) : SETTINGS) settings.push(await runSetting(ctx, net, await net.pair(s.name, s.kind, s.upnp, ctx.signal)))
    return report(settings, { quick: ctx.quick, relayLimit: RELAY_LIMIT, small: SMALL, large: LARGE })
  }
}

async function runSetting (ctx: ScenarioContext, net: NatNetwork, pair: NatPair): Promise<Setting> {
  const small = await addFile(ctx, net, pair.a, 'small', SMALL)
  let { announced, restarts } = await reservation(net, pair.a, ctx.signal)
  const t0 = performance.now()
  if (pair.upnp) announced = await mapped(net, pair.a, ctx.signal)
  const mappedMs = pair.upnp ? round(performance.now() - t0) : undefined
  // What `doctor` tells A's user of hole punching: whether peers saw A on its listening port.
  const doctor = await net.tryCli<{ checks: Array<{ name: string, verdict: string, message: string }> }>(pair.a, ['doctor', '--json'], 30_000)
  const punchCheck = doctor.value?.checks.find(c => c.name === 'hole punching')
  // Made once A announces what it will be reached on, so the link carries it.
  const ticket = (await net.cli<{ ticket: string }>(pair.a, ['share', small.cid])).ticket
  let byTicket = await stream(net, pair.b, ticket, small.digest)
  // A fetch that failed is kept in `failed` (a target holds it to none) and measured again
  // after a restart of A, so that one failure still leaves figures to look at.
  const failed: string[] = []
  while (!byTicket.identical && failed.length < RESERVE_TRIES - 1) {
    failed.push(byTicket.error ?? 'different bytes')
    await net.restart(pair.a, ctx.signal)
    const again = await reservation(net, pair.a, ctx.signal)
    announced = again.announced
    restarts += 1 + again.restarts
    byTicket = await stream(net, pair.b, ticket, small.digest)
  }
  ctx.progress.update(`${pair.name}: A announces ${announced.join(' ')}${restarts > 0 ? ` (after ${restarts} restart${restarts === 1 ? '' : 's'})` : ''}`, true)
  await sleep(UPGRADE_MS, undefined, { signal: ctx.signal })
  const peers = await net.cli<Array<{ peer: string, via: string, punched?: boolean, addrs: string[] }>>(pair.b, ['peers'])
  const toA = peers.filter(p => p.peer === pair.a.daemon.info.peerId)
  const direct = toA.some(p => p.via === 'direct')
  const punched = toA.some(p => p.punched === true)
  ctx.progress.update(`${pair.name}: by share link ${byTicket.identical ? 'identical' : 'DIFFERENT'}, first byte ${byTicket.ttfbMs} ms, total ${byTicket.totalMs} ms, ${punched ? 'direct (hole punched)' : direct ? 'direct' : 'relayed'}`, true)
  // By CID alone: B finds A's provider record in the DHT, with A's relay address in it.
  const dht = await addFile(ctx, net, pair.a, 'dht', SMALL)
  const byCid = await stream(net, pair.b, dht.cid, dht.digest)
  ctx.progress.update(`${pair.name}: by CID through the DHT ${byCid.identical ? 'identical' : `failed: ${byCid.error ?? 'different bytes'}`}`, true)
  let large: Setting['large']
  if (!ctx.quick) {
    const file = await addFile(ctx, net, pair.a, 'large', LARGE)
    const r = await net.tryCli<{ size: number }>(pair.b, ['fetch', file.cid, '-o', join(ctx.dir, `${pair.name}-large.out`), '--force'], 120_000)
    const identical = r.value !== undefined && digest(await readFile(join(ctx.dir, `${pair.name}-large.out`))) === file.digest
    large = { identical, error: r.error, exitCode: r.run.code }
    ctx.progress.update(`${pair.name}: ${LARGE / KiB} KiB by CID: ${identical ? 'identical' : `exit ${String(r.run.code)}: ${r.error ?? ''}`}`, true)
  }
  return {
    name: pair.name,
    kind: pair.kind,
    upnp: pair.upnp,
    mappedMs,
    announced,
    restarts,
    failed,
    byTicket,
    byCid,
    doctor: punchCheck === undefined ? undefined : { verdict: punchCheck.verdict, message: punchCheck.message },
    connection: {
      direct,
      punched,
      via: toA.map(p => p.via),
      addrs: toA.flatMap(p => p.addrs),
      reason: direct ? undefined : noDirectReason(pair, announced)
    },
    large
  }
}

/**
 * Waits (bounded) until `node` announces a relayed address; what it announces then, and how
 * often its daemon was restarted for it (a restart connects and reserves afresh). A reservation
 * used to die ~50 ms in whenever the relay had AutoNAT check its own address through the peer
 * (reachability.ts, freshDialBacks); restarts stay as a bounded safety net, counted and held to
 * zero by a target.
 */
async function reservation (net: NatNetwork, node: NatNode, signal: AbortSignal): Promise<{ announced: string[], restarts: number }> {
  for (let restarts = 0; ; restarts++) {
    const deadline = Date.now() + RESERVE_MS
    for (;;) {
      const id = await net.cli<{ addresses: string[] }>(node, ['id'])
      if (id.addresses.some(a => a.includes('/p2p-circuit'))) return { announced: id.addresses, restarts }
      if (Date.now() > deadline) break
      await sleep(500, undefined, { signal })
    }
    if (restarts === RESERVE_TRIES - 1) throw new Error(`${node.host.ns} took no reservation on the relay in ${RESERVE_TRIES} starts of ${RESERVE_MS / 1000} s: ${node.daemon.log().slice(-500)}`)
    await net.restart(node, signal)
  }
}

/** Waits (bounded) until `node` announces an address that is not relayed: the mapping its router granted. */
async function mapped (net: NatNetwork, node: NatNode, signal: AbortSignal): Promise<string[]> {
  const deadline = Date.now() + MAPPING_MS
  for (;;) {
    const id = await net.cli<{ addresses: string[] }>(node, ['id'])
    if (id.addresses.some(a => !a.includes('/p2p-circuit'))) return id.addresses
    if (Date.now() > deadline) return id.addresses
    await sleep(500, undefined, { signal })
  }
}

async function addFile (ctx: ScenarioContext, net: NatNetwork, node: NatNode, name: string, size: number): Promise<{ cid: string, digest: string }> {
  const bytes = ctx.rng.bytes(size)
  const path = join(ctx.dir, `${node.host.ns}-${name}.bin`)
  await writeFile(path, bytes)
  const [added] = await net.cli<Array<{ cid: string }>>(node, ['add', '--json', path], 60_000)
  return { cid: added.cid, digest: digest(bytes) }
}

function digest (bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

export interface Streamed { identical: boolean, ttfbMs?: number, totalMs: number, error?: string }

/** `peerlink cat <target>` in `node`'s namespace: when its first byte came, when it ended, and whether the bytes match. */
async function stream (net: NatNetwork, node: NatNode, target: string, expected: string): Promise<Streamed> {
  const { command, args } = cliCommand(['--repo', node.repo, 'cat', target], { prefix: net.nat.lab.prefix(node.host) })
  const t0 = performance.now()
  const child = net.nat.lab.processes.spawn(command, args)
  const hash = createHash('sha256')
  let ttfb: number | undefined
  let stderr = ''
  child.stdout?.on('data', (d: Buffer) => { ttfb ??= performance.now() - t0; hash.update(d) })
  child.stderr?.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-2000) })
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
  const code = await new Promise<number | null>(resolve => child.once('close', resolve))
  clearTimeout(timer)
  const totalMs = round(performance.now() - t0)
  const identical = code === 0 && hash.digest('hex') === expected
  return { identical, ttfbMs: ttfb === undefined ? undefined : round(ttfb), totalMs, error: code === 0 ? undefined : stderr.trim().split('\n').at(-1) }
}

/** Why B's connection to A stayed relayed, as far as this lab can tell. */
function noDirectReason (pair: NatPair, announced: string[]): string {
  const direct = announced.filter(a => !a.includes('/p2p-circuit'))
  if (direct.length === 0) {
    if (pair.kind === 'strict') return `A announces no direct address: ${NO_PUNCH}`
    return `A announces no direct address${pair.upnp ? ` (no UPnP mapping within ${MAPPING_MS / 1000} s)` : ''}, and hole punching made no direct connection within ${UPGRADE_MS / 1000} s`
  }
  return `A announces ${direct.join(' ')}, but B's connection to A did not use it within ${UPGRADE_MS / 1000} s`
}
