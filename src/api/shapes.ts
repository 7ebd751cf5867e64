// The plain (JSON) shapes results take on the API and in the CLI, one place for both: the
// daemon sends them, and the CLI without a daemon builds the same from the node's results.
import type { PeerInfo } from '@libp2p/interface'
import type { PinInfo } from '../blockstore/blockstore.js'
import type { AddResult } from '../node/peerlink.js'
import type { ConnectionInfo } from '../node/reachability.js'

/** Where every API route lives. */
export const API_PREFIX = '/api/v1'

/** `stored`: bytes of every block written for the root (chunks, parity, DAG nodes), beside its `size`. */
export interface AddOut { cid: string, name: string, type: 'file' | 'directory', size: number, stored: number, files: number, skipped: string[], provided?: boolean, ticket?: string }
/** `spread`: this node spread the root ("spread"), with its health at the daemon's last repair round when known. */
export interface PinOut { cid: string, name: string, size: number, type: string, added: number, spread?: string }
export interface ProviderOut { peer: string, addrs: string[] }
export interface IdOut { peerId: string, addresses: string[] }
/** A connection: its peer and address, and whether it goes through a relay (with what the relay still allows). */
export type PeerOut = ConnectionInfo
/**
 * A running node at a glance (`GET /status`, read by `doctor`): where it listens and what it
 * announces, its connected peers and DHT routing table, and the blockstore against the quota
 * it runs with.
 */
export interface StatusOut {
  peerId: string
  listen: string[]
  announced: string[]
  peers: number
  /** The connected peers with the address of each connection, direct or relayed. */
  connections: PeerOut[]
  /** Whether peers outside can dial this node: `public`, only through a relay (`relayed`), or not (`private`). */
  reachability: 'public' | 'relayed' | 'private'
  /** Where peers saw this node on its listening port (the addresses hole punching offers), most seen first. */
  observed: string[]
  dhtPeers: number
  usage: { bytes: number, blocks: number }
  quota: number
  /** Bytes offered to others' spread files (storage.offer; 0: none). */
  offer: number
  /** Whether what is added is private unless said otherwise (import.private): the page's default. */
  importPrivate: boolean
}
/** Every failure's body: the error's stable name and code, and the exit status the CLI ends with. */
export interface ErrorBody { error: string, code: string, message: string, exitCode: number }

export function addOut (r: AddResult, ticket?: string): AddOut {
  return { cid: r.cid.toString(), name: r.name, type: r.type, size: r.size, stored: r.stored, files: r.files, skipped: r.skipped, provided: r.provided, ticket }
}

export function pinsOut (pins: Array<PinInfo & { spread?: string }>): PinOut[] {
  return pins.map(p => ({ ...p, cid: p.cid.toString() }))
}

export function providersOut (found: PeerInfo[]): ProviderOut[] {
  // A peer's addresses come from several DHT answers and the peer store: each is listed once.
  return found.map(p => ({ peer: p.id.toString(), addrs: [...new Set(p.multiaddrs.map(a => a.toString()))] }))
}
