// What a node remembers about peers that broke the protocol or sent blocks that failed
// verification. Points decay by being forgotten after the ban; a peer over the threshold is
// banned: its streams are refused and sessions skip it.
import type { PeerId } from '@libp2p/interface'
import { BAN_DURATION, BAN_THRESHOLD } from './constants.js'

export type Offence = 'protocol' | 'corrupt-block' | 'flood' | 'timeout'

/** Points per offence: a corrupt block is a lie, the rest may be bugs or bad luck. */
const WEIGHT: Record<Offence, number> = { 'corrupt-block': BAN_THRESHOLD, protocol: 5, flood: 5, timeout: 1 }

interface Standing { points: number, bannedUntil: number, offences: Offence[] }

export class PeerPenalties {
  private readonly peers = new Map<string, Standing>()
  constructor (private readonly now: () => number = Date.now) {}

  /** Records an offence; returns true when it gets the peer banned. */
  record (peer: PeerId, offence: Offence): boolean {
    const key = peer.toString()
    const r = this.peers.get(key) ?? { points: 0, bannedUntil: 0, offences: [] }
    r.points += WEIGHT[offence]
    if (r.offences.length < 16) r.offences.push(offence)
    this.peers.set(key, r)
    if (r.points >= BAN_THRESHOLD && r.bannedUntil <= this.now()) {
      r.bannedUntil = this.now() + BAN_DURATION
      return true
    }
    return false
  }

  isBanned (peer: PeerId): boolean {
    const r = this.peers.get(peer.toString())
    if (r === undefined || r.bannedUntil === 0) return false
    if (r.bannedUntil > this.now()) return true
    this.peers.delete(peer.toString())
    return false
  }

  list (): Array<{ peer: string, points: number, banned: boolean, offences: Offence[] }> {
    return [...this.peers].map(([peer, r]) => ({ peer, points: r.points, banned: r.bannedUntil > this.now(), offences: r.offences }))
  }
}
