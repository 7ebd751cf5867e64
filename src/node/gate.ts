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
import type { Multiaddr } from '@multiformats/multiaddr'

/** How long an address that presented a banned identity stays struck (since its last one). */
export const STRIKE_MEMORY = 30_000

/** New connections a second a struck address may open, after STRUCK_DIAL_BURST. */
export const STRUCK_DIAL_RATE = 2

export const STRUCK_DIAL_BURST = 4

/** Struck addresses remembered at most; the oldest strikes are forgotten first. */
const MAX_STRUCK_ADDRESSES = 4096

interface Strike { last: number, tokens: number, at: number }

export interface GateStats {
  /** Connections refused before their handshake. */
  refused: number
  /** Handshakes that presented a banned identity. */
  strikes: number
}

export class InboundGate {
  private readonly struck = new Map<string, Strike>()
  readonly stats: GateStats = { refused: 0, strikes: 0 }

  constructor (private readonly now: () => number = Date.now) {}

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
  return address.getComponents().find(c => c.name === 'ip4' || c.name === 'ip6')?.value
}
