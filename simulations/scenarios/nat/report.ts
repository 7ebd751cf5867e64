// The nat scenario's results, from the settings alone (no I/O).
import type { NatKind } from '../../lib/lab-nat.js'
import { barChart } from '../../lib/plot.js'
import type { ScenarioResult } from '../../lib/scenario.js'
import type { Streamed } from './index.js'

export interface Setting {
  name: string
  kind: NatKind
  /** miniupnpd on A's router and network.upnp on A. */
  upnp: boolean
  /** With UPnP: from A's reservation until A announced its mapped address (or gave up waiting). */
  mappedMs?: number
  /** What A announced once its reservation held. */
  announced: string[]
  /** Restarts of A's daemon before its reservation held. */
  restarts: number
  /** Share-link fetches that failed before the one measured (each followed by a restart of A). */
  failed: string[]
  byTicket: Streamed
  byCid: Streamed
  /** `doctor`'s hole-punching line on A (none when A is reachable without a relay). */
  doctor?: { verdict: string, message: string }
  /** B's connection to A after the fetch: direct only when DCUtR (or another path) made one; `punched` when DCUtR did. */
  connection: { direct: boolean, punched: boolean, via: string[], addrs: string[], reason?: string }
  /** The file larger than the relay's limit (full runs): through, or the error it ended with. */
  large?: { identical: boolean, error?: string, exitCode: number | null }
}

export interface NatSettings { quick: boolean, relayLimit: number, small: number, large: number }

/**
 * Why a punch cannot work behind a `strict` router: the port it maps a flow to is drawn at
 * random per flow, so the port the relay observed says nothing of the one a punch would need.
 */
export const NO_PUNCH = 'A\'s router randomises the outside port of every flow, so no port a peer observed predicts the next mapping: A offers no address to punch towards, and the connection stays on the relay'

const RELAY_MESSAGE = /relay's limits|reachable only through a relay/

export function report (settings: Setting[], s: NatSettings): ScenarioResult {
  const headline: ScenarioResult['headline'] = { relay_limit_kib: s.relayLimit / 1024, file_kib: s.small / 1024 }
  for (const x of settings) {
    headline[`${x.name}_direct`] = x.connection.direct
    headline[`${x.name}_punched`] = x.connection.punched
    headline[`${x.name}_ttfb_ms`] = x.byTicket.ttfbMs ?? -1
    headline[`${x.name}_total_ms`] = x.byTicket.totalMs
    headline[`${x.name}_by_cid_ms`] = x.byCid.totalMs
    if (x.mappedMs !== undefined) headline[`${x.name}_mapped_ms`] = x.mappedMs
  }
  const large = settings.filter(x => x.large !== undefined)
  const upnp = settings.filter(x => x.upnp)
  const cone = settings.filter(x => x.kind === 'cone' && !x.upnp)
  const strict = settings.filter(x => x.kind === 'strict')
  return {
    headline,
    targets: [
      { name: 'A announces no private address, and a relay address', ok: settings.every(x => x.announced.some(a => a.includes('/p2p-circuit')) && x.announced.every(a => a.includes('/p2p-circuit') || !/\/ip4\/(10|192\.168|127)\./.test(a))), detail: settings.map(x => `${x.name}: ${x.announced.join(' ')}`).join('; ') },
      { name: 'A reserved on the relay at its first start, and no fetch had to be retried', ok: settings.every(x => x.restarts === 0 && x.failed.length === 0), detail: settings.map(x => `${x.name}: ${x.restarts} restarts, ${x.failed.length} failed fetches${x.failed.length > 0 ? ` (${x.failed.join('; ')})` : ''}`).join(', ') },
      { name: 'by share link: bytes identical', ok: settings.every(x => x.byTicket.identical), detail: settings.map(x => `${x.name}: ${x.byTicket.identical ? 'identical' : x.byTicket.error ?? 'different'}`).join(', ') },
      { name: 'by CID through the DHT: bytes identical', ok: settings.every(x => x.byCid.identical), detail: settings.map(x => `${x.name}: ${x.byCid.identical ? 'identical' : x.byCid.error ?? 'different'}`).join(', ') },
      { name: 'connection kind reported, with a reason when relayed', ok: settings.every(x => x.connection.via.length > 0 && (x.connection.direct || x.connection.reason !== undefined)), detail: settings.map(x => `${x.name}: ${x.connection.via.join('+')}`).join(', ') },
      ...(cone.length === 0
        ? []
        : [{ name: 'behind port-keeping routers, B reaches A directly by hole punching (reported as punched)', ok: cone.every(x => x.connection.direct && x.connection.punched), detail: cone.map(x => `${x.name}: ${x.connection.via.join('+')}${x.connection.punched ? ' (hole punched)' : ''} ${x.connection.addrs.join(' ')}`).join('; ') }]),
      ...(cone.length + strict.length === 0
        ? []
        : [{ name: '`doctor` on A says whether hole punching can work: ok behind port-keeping routers, a warning behind port-randomising ones', ok: cone.every(x => x.doctor?.verdict === 'ok') && strict.every(x => x.doctor?.verdict === 'warn'), detail: [...cone, ...strict].map(x => `${x.name}: ${x.doctor === undefined ? 'no line' : `${x.doctor.verdict}: ${x.doctor.message}`}`).join('; ') }]),
      ...(strict.length === 0
        ? []
        : [{ name: 'behind port-randomising routers, the fetch goes over the relay and says why it is not direct', ok: strict.every(x => x.byTicket.identical && !x.connection.direct && x.connection.reason !== undefined), detail: strict.map(x => `${x.name}: ${x.connection.via.join('+')}: ${x.connection.reason ?? ''}`).join('; ') }]),
      ...(upnp.length === 0
        ? []
        : [{ name: 'with UPnP, B reaches A directly (no relay) on the address A\'s router mapped', ok: upnp.every(x => x.connection.direct && x.connection.addrs.some(a => !a.includes('/p2p-circuit'))), detail: upnp.map(x => `${x.name}: ${x.connection.via.join('+')} ${x.connection.addrs.join(' ')}`).join('; ') }]),
      ...(large.length === 0
        ? []
        : [{ name: 'a file over the relay\'s limit comes through or fails with the relay-limit message', ok: large.every(x => x.large?.identical === true || (x.large?.exitCode === 17 && RELAY_MESSAGE.test(x.large.error ?? ''))), detail: large.map(x => `${x.name}: ${x.large?.identical === true ? 'identical' : `exit ${String(x.large?.exitCode)}: ${x.large?.error ?? ''}`}`).join('; ') }])
    ],
    data: { settings, options: s },
    plots: [{
      name: 'times',
      title: 'Time to first byte and total time, by share link and by CID',
      spec: barChart(`fetch of ${s.small / 1024} KiB between two NATed peers (ms)`, settings.flatMap(x => [
        { setting: x.name, what: 'first byte (link)', ms: x.byTicket.ttfbMs ?? 0 },
        { setting: x.name, what: 'total (link)', ms: x.byTicket.totalMs },
        { setting: x.name, what: 'total (CID, DHT)', ms: x.byCid.totalMs }
      ]), { field: 'setting', title: 'router' }, { field: 'ms', title: 'ms' }, { field: 'what', title: '' })
    }],
    notes: [
      'Each node a `peerlink daemon` in its own network namespace: the relay (also the bootstrap node) on a public segment; per setting two routers, each a namespace masquerading with nftables between the public segment and a private bridge of its own (the same private subnet behind both), one peer behind each. The routers drop every inbound flow the inside did not begin. `cone`: `masquerade persistent` (keeps the source port where it can); `strict`: `masquerade random,fully-random`; `cone-upnp`: `cone` with miniupnpd (nftables backend) on A\'s router and network.upnp on A, whose share link is made once it announces the mapped address. No netem on this kernel: the links add no latency.',
      `Peers: network.privateAddresses off (nothing private is announced), reserveRelay and relayedTransfers on; the relay: network.relay with a ${s.relayLimit / 1024} KiB data limit per relayed connection, network.announce set to its public address.`,
      'Restarts: a peer whose reservation does not show within 8 s is restarted, and a share-link fetch that failed is kept in `failed` and measured again after a restart (both bounded, both held to zero by a target). Before AutoNAT\'s dial-back was made to open its own connection (src/node/reachability.ts), a relay checking its own address closed its connection to the NATed peer, and about one reservation in four was lost that way.',
      'Hole punching: DCUtR over TCP, every dial to a public address leaving from the listening port (SO_REUSEPORT, src/node/shared-port.ts), and DCUtR offering the addresses peers observed on those dials. Behind `cone` routers the two SYNs cross and make one connection; behind `strict` ones no observed port predicts the next mapping, so the fetch stays on the relay.',
      'Times are wall times of `peerlink cat` run in B\'s namespace against B\'s daemon: first byte on its stdout, and its exit. `direct` and `punched` are what `peerlink peers` on B says of its connection to A after the fetch and 5 s more; a relayed one carries the reason in results.json (`connection.reason`).'
    ]
  }
}
