// Content routing over the Kademlia DHT: provide a root, find who provides one. Only root
// CIDs are ever announced, never every block: one record per file keeps DHT traffic flat
// as files grow (which blocks a provider holds travels in the exchange's HAVE messages).
import type { PeerId, PeerInfo } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { MessageType, type KadDHT, type QueryEvent } from '@libp2p/kad-dht'
import { createHash } from 'node:crypto'
import { setTimeout as delay } from 'node:timers/promises'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import * as Digest from 'multiformats/hashes/digest'
import { NotAnnouncedError } from '../errors.js'

const SHA2_256 = 0x12

/**
 * The key a root's provider record is stored under: a CID whose multihash is the SHA-256 of
 * the root CID's bytes. kad-dht's servers decode a provider key as a CID from the bare
 * multihash, which only a SHA-256 multihash survives (it reads as CIDv0); a BLAKE3 root's
 * own multihash would be refused as "Invalid CID".
 */
export function routingKey (root: CID): CID {
  return CID.createV1(raw.code, Digest.create(SHA2_256, createHash('sha256').update(root.bytes).digest()))
}

export interface LookupStats {
  /** Milliseconds from start to the last event. */
  ms: number
  /** Peers that answered a query message. */
  responses: number
  /** Messages sent. */
  queries: number
}

export interface ProvideStats extends LookupStats {
  /** Peers the ADD_PROVIDER record was delivered to. */
  stored: number
}

export interface FindOptions {
  signal?: AbortSignal
  /** Give up after this long (default 10 s). */
  timeout?: number
  /**
   * Look again this many times, after a short wait, when a lookup finds nobody: right after
   * a provide the record may still be travelling to the closest peers.
   */
  retries?: number
  /** Stop after this many providers (default 20). */
  limit?: number
}

/** How long a lookup waits for a node that has just started to meet its first DHT peer. */
const JOIN_WAIT = 5_000

/** Longest a lookup of one peer's addresses may take. */
const FIND_PEER_TIMEOUT = 5_000

/** Longest a provide may take: the lookup plus the ADD_PROVIDER messages. */
export const PROVIDE_TIMEOUT = 30_000

export class Routing {
  /** `tableSize` says how many peers the DHT routing table holds. */
  constructor (private readonly dht: KadDHT, private readonly self: PeerId, private readonly tableSize: () => number) {}

  /**
   * Announces that this node holds (blocks of) `root`. Fails when no DHT peer took the
   * record: kad-dht itself succeeds then, for example when every peer in the routing table
   * is gone.
   */
  async provide (root: CID, options: { signal?: AbortSignal, timeout?: number } = {}): Promise<ProvideStats> {
    // kad-dht waits for peers rather than failing when it knows none; a node that has just
    // started gets a bounded wait to meet its bootstrap peers.
    await this.joined(options.signal)
    if (this.tableSize() === 0) throw new NotAnnouncedError(root.toString(), 'this node knows no DHT peers yet (check network.bootstrap, or connect to a peer)')
    const signal = bounded(options.timeout ?? PROVIDE_TIMEOUT, options.signal)
    const stats: ProvideStats = { ...newStats(), stored: 0 }
    for await (const e of this.dht.provide(routingKey(root), { signal })) {
      count(stats, e)
      if (e.name === 'PEER_RESPONSE' && e.messageType === MessageType.ADD_PROVIDER) stats.stored++
    }
    stats.ms = Date.now() - stats.ms
    if (stats.stored === 0) throw new NotAnnouncedError(root.toString(), `no DHT peer took the record (${stats.responses} of ${stats.queries} queries answered)`)
    return stats
  }

  /** Waits (at most JOIN_WAIT) until the routing table holds a peer. */
  private async joined (signal?: AbortSignal): Promise<void> {
    const deadline = Date.now() + JOIN_WAIT
    while (this.tableSize() === 0 && Date.now() < deadline && signal?.aborted !== true) await sleep(50, signal)
  }

  /** Providers of `root` other than this node, as they are found, each once. */
  async * findProviders (root: CID, options: FindOptions = {}): AsyncGenerator<PeerInfo> {
    const signal = bounded(options.timeout ?? 10_000, options.signal)
    const limit = options.limit ?? 20
    const seen = new Set<string>()
    // A node that has just started may not have met its bootstrap peers yet.
    await this.joined(signal)
    if (this.tableSize() === 0) return
    const retries = options.retries ?? 3
    for (let attempt = 0; attempt <= retries && !signal.aborted; attempt++) {
      if (attempt > 0) await sleep(250 * 2 ** (attempt - 1), signal)
      try {
        for await (const e of this.dht.findProviders(routingKey(root), { signal })) {
          if (e.name !== 'PROVIDER') continue
          for (const p of e.providers) {
            const key = p.id.toString()
            if (p.id.equals(this.self) || seen.has(key)) continue
            seen.add(key)
            yield p
            if (seen.size >= limit) return
          }
        }
      } catch (err) {
        if (signal.aborted) break
        throw err
      }
      if (seen.size > 0) return
    }
  }

  /**
   * Where the DHT says `peer` can be reached now, asking the network rather than this node's
   * own records (a peer that restarted on a new port is still listed at its old one here).
   * Never throws: a peer nobody knows gives no addresses.
   */
  async findPeer (peer: PeerId, options: { signal?: AbortSignal, timeout?: number } = {}): Promise<Multiaddr[]> {
    const signal = bounded(options.timeout ?? FIND_PEER_TIMEOUT, options.signal)
    const found = new Map<string, Multiaddr>()
    try {
      for await (const e of this.dht.findPeer(peer, { signal, useCache: false })) {
        if (e.name === 'FINAL_PEER') for (const a of e.peer.multiaddrs) found.set(a.toString(), a)
      }
    } catch {
      // Not found, out of time or aborted: what was found so far is the answer.
    }
    return [...found.values()]
  }
}

/** A signal that aborts after `ms`, or sooner with the caller's. */
function bounded (ms: number, signal?: AbortSignal): AbortSignal {
  const timeout = AbortSignal.timeout(ms)
  return signal !== undefined ? AbortSignal.any([signal, timeout]) : timeout
}

function newStats (): LookupStats { return { ms: Date.now(), responses: 0, queries: 0 } }

function count (stats: LookupStats, e: QueryEvent): void {
  if (e.name === 'PEER_RESPONSE') stats.responses++
  else if (e.name === 'SEND_QUERY') stats.queries++
}

/** Waits `ms`, or less when the signal aborts; never throws. */
async function sleep (ms: number, signal?: AbortSignal): Promise<void> {
  await delay(ms, undefined, { signal }).catch(() => {})
}
