// Inbound connections refused before their Noise handshake. A banned peer is refused once
// its identity is known, which is after the handshake: each of its redials still costs the
// node a handshake (key exchanges and a signature check), and a few banned identities
// redialling in a loop took a core of a 2-core machine from an honest fetch. Before the
// handshake only the remote address is known, so the address is what pays: one that
// presented a banned identity is struck for STRIKE_MEMORY, and new connections from it pass
// at STRUCK_DIAL_RATE a second at most (after a burst), the rest are refused unencrypted.
// This holds on allow-listed addresses too (loopback by default): the allow-list exempts
// them from connection counts, not from paying for banned identities. A peer on a struck
// address that dials during the storm may be refused; it dials again, and connections open
// already are not touched.
//
// Identities are free, addresses are not: outside `network.allow` every identity dialling
// from one IPv4 address (or one IPv6 /64) is one *party* to the node, which counts the work
// budget, the streams and the buffer share of a party, not of an identity (exchange/), and
// holds at most MAX_CONNECTIONS_PER_ADDRESS inbound connections from it (refused before the
// handshake). Sixteen identities from one address thus cost the node what one costs. On the
// allow-list (loopback by default, for local use) each identity is its own party. Peers
// behind one NAT share one party: the price of not counting identities.
import { BlockList } from 'node:net'
import type { Connection } from '@libp2p/interface'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'

/** How long an address that presented a banned identity stays struck (since its last one). */
export const STRIKE_MEMORY = 30_000

/** New connections a second a struck address may open, after STRUCK_DIAL_BURST. */
export const STRUCK_DIAL_RATE = 2

export const STRUCK_DIAL_BURST = 4

/**
 * Inbound connections one address outside the allow-list may hold open: a few peers behind
 * one NAT fit, a crowd of identities does not (they would share one party's budget anyway,
 * but each connection costs a handshake and its muxer's buffers).
 */
export const MAX_CONNECTIONS_PER_ADDRESS = 8

/** Struck addresses remembered at most; the oldest strikes are forgotten first. */
const MAX_STRUCK_ADDRESSES = 4096

interface Strike { last: number, tokens: number, at: number }

export interface GateStats {
  /** Connections refused before their handshake. */
  refused: number
  /** Handshakes that presented a banned identity. */
  strikes: number
  /** Connections refused before their handshake because their address held its most already. */
  crowded: number
}

export class InboundGate {
  private readonly struck = new Map<string, Strike>()
  /** Inbound connections open per address outside the allow-list. */
  private readonly open = new Map<string, number>()
  private readonly allowed = new BlockList()
  readonly stats: GateStats = { refused: 0, strikes: 0, crowded: 0 }

  /** `allow`: network.allow, the multiaddrs (with /ipcidr/<bits> for a range) exempt from per-address limits. */
  constructor (private readonly now: () => number = Date.now, allow: string[] = []) {
    for (const a of allow) {
      const c = multiaddr(a).getComponents()
      const ip = c.find((x) => x.name === 'ip4' || x.name === 'ip6')
      if (ip?.value === undefined) continue
      const type = ip.name === 'ip4' ? 'ipv4' : 'ipv6'
      const bits = c.find((x) => x.name === 'ipcidr')?.value
      this.allowed.addSubnet(ip.value, bits === undefined ? (type === 'ipv4' ? 32 : 128) : Number(bits), type)
    }
  }

  /** Whether `address` is on the allow-list (addresses without an IP, such as relayed ones, are not). */
  allows (address: Multiaddr): boolean {
    const ip = ipOf(address)
    return ip !== undefined && this.allowed.check(ip.value, ip.type)
  }

  /**
   * Who a peer on `address` counts as: itself on the allow-list or through a relay (the relay
   * bounds what it passes), its address (IPv6: its /64) otherwise.
   */
  partyOf (address: Multiaddr, peer: string): string {
    if (this.allows(address) || address.getComponents().some(c => c.name === 'p2p-circuit')) return peer
    return addressKey(address) ?? peer
  }

  /** Counts the inbound connections of addresses outside the allow-list as they open and close. */
  watch (events: Pick<EventTarget, 'addEventListener'>): void {
    events.addEventListener('connection:open', (e) => { this.count((e as CustomEvent<Connection>).detail, 1) })
    events.addEventListener('connection:close', (e) => { this.count((e as CustomEvent<Connection>).detail, -1) })
  }

  private count (connection: Connection, delta: number): void {
    if (connection.direction !== 'inbound' || this.allows(connection.remoteAddr)) return
    const key = addressKey(connection.remoteAddr)
    if (key === undefined) return
    const n = (this.open.get(key) ?? 0) + delta
    if (n > 0) this.open.set(key, n)
    else this.open.delete(key)
  }

  /** A banned identity completed a handshake from `address`. */
  strike (address: Multiaddr): void {
    const ip = hostOf(address)
    if (ip === undefined) return
    this.stats.strikes++
    const now = this.now()
    const s = this.refill(ip, now) ?? { last: now, tokens: STRUCK_DIAL_BURST, at: now }
    s.last = now
    // Re-inserted, so the map's order is the order of last strikes and the oldest go first.
    this.struck.delete(ip)
    this.struck.set(ip, s)
    if (this.struck.size > MAX_STRUCK_ADDRESSES) this.struck.delete(this.struck.keys().next().value as string)
  }

  /** Whether a new connection from `address` is refused before its handshake. */
  refuses (address: Multiaddr): boolean {
    const ip = hostOf(address)
    if (ip === undefined) return false
    if ((this.open.get(addressKey(address) ?? '') ?? 0) >= MAX_CONNECTIONS_PER_ADDRESS && !this.allows(address)) {
      this.stats.crowded++
      return true
    }
    const s = this.refill(ip, this.now())
    if (s === undefined) return false
    if (s.tokens >= 1) {
      s.tokens--
      return false
    }
    this.stats.refused++
    return true
  }

  /** The address's strike with its tokens refilled to now, or undefined if it has none in force. */
  private refill (ip: string, now: number): Strike | undefined {
    const s = this.struck.get(ip)
    if (s === undefined) return undefined
    if (now - s.last >= STRIKE_MEMORY) {
      this.struck.delete(ip)
      return undefined
    }
    s.tokens = Math.min(STRUCK_DIAL_BURST, s.tokens + (now - s.at) / 1000 * STRUCK_DIAL_RATE)
    s.at = now
    return s
  }
}

/** The IP address of a connection's remote end (undefined for addresses without one). */
function hostOf (address: Multiaddr): string | undefined {
  return ipOf(address)?.value
}

function ipOf (address: Multiaddr): { value: string, type: 'ipv4' | 'ipv6' } | undefined {
  const c = address.getComponents().find(c => c.name === 'ip4' || c.name === 'ip6')
  if (c?.value === undefined) return undefined
  return { value: c.value, type: c.name === 'ip4' ? 'ipv4' : 'ipv6' }
}

/**
 * What the node counts per address: an IPv4 address, or an IPv6 /64 (one host is given a
 * whole /64, so its addresses are free too).
 */
function addressKey (address: Multiaddr): string | undefined {
  const ip = ipOf(address)
  if (ip === undefined) return undefined
  if (ip.type === 'ipv4') return ip.value
  const [head, tail = ''] = ip.value.split('::')
  const left = head === '' ? [] : head.split(':')
  const right = tail === '' ? [] : tail.split(':')
  const groups = ip.value.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left
  return groups.slice(0, 4).map(g => parseInt(g, 16).toString(16)).join(':') + '::/64'
}
