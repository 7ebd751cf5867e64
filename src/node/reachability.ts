// Reachability: the libp2p services that get a node through NATs (circuit relay, DCUtR hole
// punching, AutoNAT, UPnP), how a connection is told direct from relayed, whether this node is
// reachable from outside, and the error a transfer that only a relay could carry ends with.
// The design notes are in src/README.md, "Reachability".
import { autoNAT } from '@libp2p/autonat'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { dcutr } from '@libp2p/dcutr'
import type { Connection, PeerId, PeerStore } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { uPnPNAT } from '@libp2p/upnp-nat'
import { CODE_P2P, isMultiaddr, multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { NoProvidersError, PeerUnavailableError, RelayLimitError } from '../errors.js'
import type { ProviderStats } from '../exchange/session.js'
import type { NetworkConfig } from '../repo/repo.js'
import { overriding } from './overriding.js'
import { peerOf, tcpTarget } from './shared-port.js'

/** The listen address that has the relay transport reserve a slot on relays it meets. */
export const RELAY_LISTEN = '/p2p-circuit'

/** The services each node runs for reachability; the relay server and UPnP only when configured. */
export function reachabilityServices (n: NetworkConfig, responders: Responders, candidates: PunchCandidates): Record<string, (components: any) => unknown> {
  const services: Record<string, (components: any) => unknown> = { autonat: freshDialBacks(autoNAT()), dcutr: punching(dcutr(), responders, candidates) }
  if (n.relay) {
    services.relay = circuitRelayServer({
      reservations: {
        maxReservations: n.relayReservations,
        defaultDataLimit: BigInt(n.relayDataLimit),
        defaultDurationLimit: n.relaySeconds * 1000
      }
    })
  }
  // The mapping the router grants is confirmed at once: AutoNAT asks a peer to check an address
  // only when a connection to that peer opens, and the mapping comes seconds after the node
  // has connected to the few peers it knows (gateway search, then a 5 s debounce), so in a
  // small network it stayed unconfirmed and unannounced. The router's answer is the evidence:
  // the mapper refuses an external IP that is private (a double NAT).
  if (n.upnp) services.upnp = uPnPNAT({ autoConfirmAddress: true })
  return services
}

/**
 * What the host announces (identify, the DHT, tickets): the confirmed addresses, and with
 * `network.announce` those addresses as they are. With `network.privateAddresses` off, private
 * and loopback addresses are left out: behind a NAT they name a host on the announcer's own
 * network, and a peer on another would dial whatever has that address on its own.
 */
export function announceSettings (n: NetworkConfig): { appendAnnounce: string[], announceFilter?: (addrs: Multiaddr[]) => Multiaddr[] } {
  if (n.privateAddresses) return { appendAnnounce: n.announce }
  return { appendAnnounce: n.announce, announceFilter: (addrs) => addrs.filter(a => isRelayed(a) || isPublic(a)) }
}

/**
 * AutoNAT v1's server checks an asker's address by `connectionManager.openConnection(addr)`,
 * which hands back the connection it already has to the asker on that address (so the check
 * proves nothing), and then closes it, with every stream the asker had on it: a relay's check
 * of its own address tore down the connections of the NATed peers it asked, and their
 * reservations with them (seen in the nat scenario as reservation streams closed ~50 ms in).
 * Here that dial-back (the only call with a single multiaddr) always opens a connection of
 * its own; every other call passes through.
 */
function freshDialBacks (factory: (components: any) => unknown): (components: any) => unknown {
  return (components) => {
    const manager = components.connectionManager
    const forcing = overriding(manager, {
      openConnection: async (peer: unknown, options?: object) => await manager.openConnection(peer, isMultiaddr(peer) ? { ...options, force: true } : options)
    })
    return factory(overriding(components, {}, { connectionManager: forcing }))
  }
}

/**
 * The peers a hole punch is dialling as the responder. Both sides of a TCP punch dial, and
 * when their SYNs cross they make one connection on which both have dialled; DCUtR asks the
 * side that began it to run the handshake as the responder (`initiator: false`), but libp2p's
 * dial queue does not pass that on to the transport, so both ran Noise as the initiator and
 * the punched connection failed ("handshake stage 1 validation fail"). The transport reads
 * it from here (shared-port.ts).
 */
export type Responders = Set<string>

/** Connections DCUtR opened: direct ones made by a hole punch (or by its dial of a public address first). */
const punched = new WeakSet<Connection>()
/** How many observed addresses DCUtR offers, and for how long after the last peer saw one. */
const CANDIDATES = 4
const CANDIDATE_MS = 10 * 60_000
/** Peers counted per observed address: past it, more peers change nothing of its rank. */
const OBSERVERS = 8

/** The addresses peers observed this node at, ranked for DCUtR's CONNECT (see `punching`). */
export class PunchCandidates {
  /** Per observed address, the peers that saw it and when one last did. */
  private readonly seen = new Map<string, { observers: Set<string>, at: number }>()

  /** `peer` observed this node at `addr` (without /p2p/) at `now`. */
  observed (addr: string, peer: string, now: number): void {
    const entry = this.seen.get(addr) ?? { observers: new Set<string>(), at: 0 }
    if (entry.observers.size < OBSERVERS) entry.observers.add(peer)
    entry.at = now
    this.seen.set(addr, entry)
    for (const [stale] of this.ranked().slice(CANDIDATES)) this.seen.delete(stale)
  }

  /** The addresses to offer at `now`: seen by most peers first, then the freshest. */
  list (now: number): string[] {
    return this.ranked().filter(([, e]) => now - e.at < CANDIDATE_MS).map(([a]) => a)
  }

  private ranked (): Array<[string, { observers: Set<string>, at: number }]> {
    return [...this.seen].sort(([, a], [, b]) => b.observers.size - a.observers.size || b.at - a.at)
  }
}

/**
 * DCUtR as libp2p ships it, with two changes. Its CONNECT message offers, beside the confirmed
 * addresses, the addresses peers observed this node at (identify) on direct connections that
 * left from its TCP listening port (shared-port.ts): the punch candidates. Behind a NAT nothing
 * can confirm an address before the punch, and js-libp2p's identify keeps no observed TCP
 * address (its dials used to leave from ephemeral ports, so one said nothing of the next), so
 * a NATed node had nothing to offer and no punch was tried. An observed port other than the
 * listening one (a router that randomises ports) is no candidate. A peer can report any
 * address, so the ones more peers saw come first, then the freshest, and a few at most are
 * kept: one lying peer adds one address a punch partner dials in vain. And the connections it
 * opens are marked, so `peers` can say that one was punched.
 */
function punching (factory: (components: any) => unknown, responders: Responders, seen: PunchCandidates): (components: any) => unknown {
  return (components) => {
    const listensOn = (port: string): boolean => components.transportManager.getAddrs().some((a: Multiaddr) => tcpTarget(a)?.port === port)
    components.events.addEventListener('peer:identify', (e: CustomEvent<{ peerId: PeerId, observedAddr?: Multiaddr, connection: Connection }>) => {
      const { peerId, observedAddr, connection } = e.detail
      if (observedAddr === undefined || connection.direction !== 'outbound' || isRelayed(connection.remoteAddr) || !isPublic(observedAddr)) return
      const port = tcpTarget(observedAddr)?.port
      if (port === undefined || !listensOn(port)) return
      seen.observed(observedAddr.decapsulateCode(CODE_P2P).toString(), peerId.toString(), Date.now())
    })
    const candidates = (): Multiaddr[] => seen.list(Date.now()).map(a => multiaddr(`${a}/p2p/${components.peerId.toString()}`))
    const addresses = components.addressManager
    const addressManager = overriding(addresses, {
      getAddresses: () => {
        const confirmed: Multiaddr[] = addresses.getAddresses()
        const known = new Set(confirmed.map(a => a.toString()))
        return [...confirmed, ...candidates().filter(a => !known.has(a.toString()))]
      }
    })
    const manager = components.connectionManager
    const connectionManager = overriding(manager, {
      openConnection: async (peer: Multiaddr[], options?: { initiator?: boolean }) => {
        const ids = options?.initiator === false ? peer.map(peerOf).filter((p): p is string => p !== undefined && !responders.has(p)) : []
        for (const id of ids) responders.add(id)
        try {
          const conn: Connection = await manager.openConnection(peer, options)
          if (!isRelayed(conn.remoteAddr)) punched.add(conn)
          return conn
        } finally {
          for (const id of ids) responders.delete(id)
        }
      }
    })
    return factory(overriding(components, {}, { addressManager, connectionManager }))
  }
}

/** The relay client transport every node has, so it can dial and be dialled through a relay. */
export function relayTransport (): ReturnType<typeof circuitRelayTransport> {
  return circuitRelayTransport()
}

export function isRelayed (addr: Multiaddr): boolean {
  return addr.getComponents().some(c => c.name === 'p2p-circuit')
}

/** A connection as `peers`, `doctor` and the API show it. */
export interface ConnectionInfo {
  peer: string
  addrs: string[]
  /** `relayed` when the connection goes through a relay (libp2p marks it limited), else `direct`. */
  via: 'direct' | 'relayed'
  /** A direct connection that hole punching (DCUtR) opened. */
  punched?: true
  /** What the relay still lets through, when relayed with limits. */
  limits?: { bytes?: string, seconds?: number }
}

/** What connectionInfo reads a relay's agent version from (the host's peer store, filled by identify). */
export interface PeerStoreHolder { peerStore: Pick<PeerStore, 'get'> }

/** `c` as shown, its relay's limit on time read as the relay meant it (relaySeconds). */
export async function connectionInfo (host: PeerStoreHolder, c: Connection): Promise<ConnectionInfo> {
  const relayed = c.limits !== undefined || isRelayed(c.remoteAddr)
  const info: ConnectionInfo = { peer: c.remotePeer.toString(), addrs: [c.remoteAddr.toString()], via: relayed ? 'relayed' : 'direct' }
  if (!relayed && punched.has(c)) info.punched = true
  if (c.limits !== undefined) info.limits = { bytes: c.limits.bytes?.toString(), seconds: relaySeconds(c.limits.seconds, await relayAgent(host, c.remoteAddr), c.timeline.open) }
  return info
}

/**
 * js-libp2p's relay server (every PeerLink relay) puts its duration limit in the reservation
 * and the circuit in milliseconds (its `defaultDurationLimit`, which also times the circuit
 * it cuts), where the protocol, and js-libp2p's own client, read seconds: the client's
 * `limits.seconds` counts down from 1000× the limit. Through a relay whose identify agent
 * version says js-libp2p, the limit is taken back from the count (`seconds` plus the seconds
 * since `opened`, in ms) and what is left of it returned; any other relay's figure stands.
 */
export function relaySeconds (seconds: number | undefined, agent: string | undefined, opened: number, now = Date.now()): number | undefined {
  if (seconds === undefined || agent?.startsWith('js-libp2p/') !== true) return seconds
  const elapsed = (now - opened) / 1000
  return Math.max(0, Math.round((seconds + elapsed) / 1000 - elapsed))
}

/** The agent version identify learnt of the relay a relayed address goes through (the peer named before /p2p-circuit). */
async function relayAgent (host: PeerStoreHolder, addr: Multiaddr): Promise<string | undefined> {
  const components = addr.getComponents()
  const relay = components.slice(0, components.findIndex(c => c.name === 'p2p-circuit')).findLast(c => c.name === 'p2p')?.value
  if (relay === undefined) return undefined
  try {
    const agent = (await host.peerStore.get(peerIdFromString(relay))).metadata.get('AgentVersion')
    return agent === undefined ? undefined : new TextDecoder().decode(agent)
  } catch {
    return undefined
  }
}

/**
 * Whether peers outside can dial this node: `public` when it announces an address on a
 * public IP (AutoNAT confirmed it, or it is a listen address on one), `relayed` when it can
 * only be reached through a relay reservation, `private` when it announces only private or
 * loopback addresses (a LAN or one machine, or a NAT with no relay found yet).
 */
export function reachability (announced: Multiaddr[]): 'public' | 'relayed' | 'private' {
  if (announced.some(a => !isRelayed(a) && isPublic(a))) return 'public'
  if (announced.some(isRelayed)) return 'relayed'
  return 'private'
}

export function isPublic (a: Multiaddr): boolean {
  const ip = a.getComponents().find(c => c.name === 'ip4' || c.name === 'ip6')?.value
  if (ip === undefined) return true
  return !/^(127\.|10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|169\.254\.|100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\.|0\.|::1$|f[cd]|fe80)/i.test(ip)
}

const HELP = 'a relay with higher limits (network.relayDataLimit, network.relaySeconds on the relay), a direct path (a forwarded port, network.upnp), or network.relayedTransfers set true on both peers'

/**
 * The error for a failed exchange dial to a peer reached only through a relay: libp2p refuses
 * a stream on a limited connection unless both sides allow it. Any other error passes.
 */
export function relayLimited (err: unknown, peer: PeerId, connections: Connection[], relayedAllowed: boolean): unknown {
  if ((err as Error)?.name === 'AbortError' || connections.length === 0 || connections.some(c => c.limits === undefined)) return err
  const where = relayedAllowed ? 'the relayed stream was refused (the provider does not serve over relays, or the relay closed the circuit)' : 'this node does not run transfers over relays (network.relayedTransfers is off)'
  return new RelayLimitError(`${peer.toString()} is reachable only through a relay and ${where}; what would help: ${HELP}`, { cause: err })
}

/** The error for a transfer a relay cut off at its limits. */
export function relayCutOff (peer: string, limits: ConnectionInfo['limits'], cause: unknown): RelayLimitError {
  const what = [limits?.bytes !== undefined ? `${limits.bytes} bytes` : '', limits?.seconds !== undefined ? `${limits.seconds} s` : ''].filter(Boolean).join(', ')
  return new RelayLimitError(`the relayed connection to ${peer} was closed by the relay's limits${what !== '' ? ` (${what} left when the transfer began)` : ''}; the blocks already fetched are kept, run the command again to resume; what would help: ${HELP}`, { cause })
}

/** Per provider reached only through a relay: the relay's limits when a stream opened on it, or why none could. */
export type RelayedProviders = Map<string, ConnectionInfo['limits'] | RelayLimitError>

/** Opens a provider's stream with `open`, noting in `relayed` whether only a relayed connection carries it. */
export async function noteRelayed<T> (relayed: RelayedProviders, host: PeerStoreHolder & { getConnections: (peer: PeerId) => Connection[] }, peer: PeerId, open: () => Promise<T>): Promise<T> {
  try {
    const stream = await open()
    const connections = host.getConnections(peer)
    if (connections.length > 0 && connections.every(c => c.limits !== undefined)) relayed.set(peer.toString(), (await connectionInfo(host, connections[0])).limits)
    else relayed.delete(peer.toString())
    return stream
  } catch (err) {
    if (err instanceof RelayLimitError) relayed.set(peer.toString(), err)
    throw err
  }
}

/**
 * A fetch that ended for want of providers, where one that failed was reachable only through
 * a relay, ends with the relay's error: the relay's limits (or relayed transfers being off)
 * are what stopped it, and the message says what would help.
 */
export function relayFailure (err: unknown, providers: ProviderStats[], relayed: RelayedProviders): unknown {
  if (!(err instanceof PeerUnavailableError) && !(err instanceof NoProvidersError)) return err
  for (const p of providers) {
    if (p.reason === undefined || !relayed.has(p.peer)) continue
    const r = relayed.get(p.peer)
    return r instanceof RelayLimitError ? r : relayCutOff(p.peer, r, err)
  }
  return err
}
