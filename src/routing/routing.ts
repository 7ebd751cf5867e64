// Content routing over the Kademlia DHT: provide a root, find who provides one. Only root
// CIDs are ever announced, never every block: one record per file keeps DHT traffic flat
// as files grow (which blocks a provider holds travels in the exchange's HAVE messages).
import type { PeerId, PeerInfo, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { KadDHT, QueryEvent } from '@libp2p/kad-dht'
import { setTimeout as delay } from 'node:timers/promises'
import type { CID } from 'multiformats/cid'
import { NotAnnouncedError } from '../errors.js'
import { recordStored, releaseQueries, routingKey, routingTableSize, selfRecords, writeProviderRecords, writeSelfRecord } from './kad-compat.js'

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

/** Provider records sent to one peer on one stream, at most. */
export const MAX_RECORDS_PER_STREAM = 1024

export interface RoutingInit {
  dht: KadDHT
  self: PeerId
  /** How many peers the DHT routing table holds (default: read from kad-dht's routing table). */
  tableSize?: () => number
  /** Opens a stream of the DHT protocol to a peer: provider records batched by the reprovider. */
  dialDht: (peer: PeerId, options: { signal?: AbortSignal }) => Promise<Stream>
  /** The addresses this node's provider records carry. */
  addresses: () => Multiaddr[]
  /** Told of each lookup's end (metrics): its time, to the first provider for find-providers. */
  onLookup?: (kind: 'find-providers' | 'provide' | 'closest-peers', ms: number, ok: boolean) => void
}

/** The peers a lookup of the closest peers to a key met. */
export interface ClosestPeers extends LookupStats {
  /** The closest peers that answered (at most the DHT's K). */
  closest: PeerId[]
}

export class Routing {
  constructor (private readonly init: RoutingInit) {}

  /** The DHT's replication factor: how many of the closest peers hold each record. */
  get k (): number { return this.init.dht.k }

  /**
   * Announces that this node holds (blocks of) `root`. Fails when no DHT peer took the
   * record: kad-dht itself succeeds then, for example when every peer in the routing table
   * is gone.
   */
  async provide (root: CID, options: { signal?: AbortSignal, timeout?: number } = {}): Promise<ProvideStats> {
    // kad-dht waits for peers rather than failing when it knows none; a node that has just
    // started gets a bounded wait to meet its bootstrap peers.
    await this.joined(options.signal)
    if (this.tableSize() === 0) {
      // Named to whoever asks this node itself (a peer that joins and looks the root up) until
      // the announcement, retried, reaches the others.
      await this.nameSelf([root], options)
      throw new NotAnnouncedError(root.toString(), 'this node knows no DHT peers yet (check network.bootstrap, or connect to a peer)')
    }
    const signal = bounded(options.timeout ?? PROVIDE_TIMEOUT, options.signal)
    const stats: ProvideStats = { ...newStats(), stored: 0 }
    // kad-dht first writes a record of this node's own for the root, stamped now: from it this
    // node names itself to whoever asks for the root's providers. The reprovider's rounds
    // renew it while the root is pinned and remove it once it is not (see nameSelf).
    try {
      for await (const e of this.init.dht.provide(routingKey(root), { signal })) {
        count(stats, e)
        if (recordStored(e)) stats.stored++
      }
    } finally {
      this.init.onLookup?.('provide', Date.now() - stats.ms, stats.stored > 0)
    }
    stats.ms = Date.now() - stats.ms
    if (stats.stored === 0) throw new NotAnnouncedError(root.toString(), `no DHT peer took the record (${stats.responses} of ${stats.queries} queries answered)`)
    return stats
  }

  /**
   * Stops this node from naming itself as a provider of `root` (a record already at other
   * peers stays until it expires: a Kademlia record cannot be taken back).
   */
  async withdraw (root: CID): Promise<void> {
    await this.init.dht.cancelReprovide(routingKey(root)).catch(() => {})
  }

  /**
   * Makes this node name itself as a provider of each of `roots`, from a record in kad-dht's
   * own store stamped now. kad-dht's reprovider announces such a record again by itself, one
   * lookup per root, once it is older than the validity; renewed in every reprovide round
   * (twice per validity) it never is, and PeerLink's reprovider alone sends the records.
   */
  async nameSelf (roots: CID[], options: { signal?: AbortSignal } = {}): Promise<void> {
    for (const root of roots) await writeSelfRecord(this.init.dht, this.init.self, routingKey(root), options)
  }

  /**
   * Removes every record of this node's own from kad-dht's store but those for `keep` and
   * those written at or after `since` (by a provide that raced with the reading of `keep`):
   * a root unpinned while the node was offline, or provided without being pinned, is named
   * no longer, and never announced again by kad-dht. Returns how many were removed.
   */
  async withdrawAllBut (keep: CID[], options: { since?: number, signal?: AbortSignal } = {}): Promise<number> {
    const kept = new Set(keep.map(root => routingKey(root).toString()))
    const stale: CID[] = []
    for await (const r of selfRecords(this.init.dht, this.init.self, options)) {
      if (!kept.has(r.key.toString()) && r.written < (options.since ?? Infinity)) stale.push(r.key)
    }
    for (const key of stale) await this.init.dht.cancelReprovide(key, options)
    return stale.length
  }

  /** Looks up the peers closest to a DHT key (a routing key's multihash bytes). */
  async closestPeers (key: Uint8Array, options: { signal?: AbortSignal, timeout?: number } = {}): Promise<ClosestPeers> {
    await this.joined(options.signal)
    const signal = bounded(options.timeout ?? PROVIDE_TIMEOUT, options.signal)
    const found: ClosestPeers = { ...newStats(), closest: [] }
    try {
      for await (const e of this.init.dht.getClosestPeers(key, { signal })) {
        count(found, e)
        if (e.name === 'FINAL_PEER') found.closest.push(e.peer.id)
      }
    } finally {
      found.ms = Date.now() - found.ms
      this.init.onLookup?.('closest-peers', found.ms, found.closest.length > 0)
    }
    return found
  }

  /**
   * Sends `peer` this node's provider records for the roots whose routing keys (multihash
   * bytes, as `routingKey(root).multihash.bytes`) are `keys`, many to a stream (the DHT's own
   * provide opens a stream per record), at most MAX_RECORDS_PER_STREAM to one.
   */
  async sendProviderRecords (peer: PeerId, keys: Array<Uint8Array<ArrayBuffer>>, options: { signal?: AbortSignal, timeout?: number } = {}): Promise<void> {
    const signal = bounded(options.timeout ?? PROVIDE_TIMEOUT, options.signal)
    const self = { id: this.init.self, addresses: this.init.addresses() }
    for (let i = 0; i < keys.length; i += MAX_RECORDS_PER_STREAM) {
      const stream = await this.init.dialDht(peer, { signal })
      try {
        await writeProviderRecords(stream, keys.slice(i, i + MAX_RECORDS_PER_STREAM), self, { signal })
      } catch (err) {
        stream.abort(err as Error)
        throw err
      }
    }
  }

  /** Peers in the DHT routing table. */
  private tableSize (): number {
    return this.init.tableSize?.() ?? routingTableSize(this.init.dht)
  }

  /**
   * Waits (at most JOIN_WAIT) until the routing table holds a peer; from then on kad-dht's
   * lookups go at once (a fresh node's first fetch waited a second for its first self-query).
   */
  private async joined (signal?: AbortSignal): Promise<void> {
    const deadline = Date.now() + JOIN_WAIT
    while (this.tableSize() === 0 && Date.now() < deadline && signal?.aborted !== true) await sleep(50, signal)
    if (this.tableSize() > 0) releaseQueries(this.init.dht)
  }

  /** Providers of `root` other than this node, as they are found, each once. */
  async * findProviders (root: CID, options: FindOptions = {}): AsyncGenerator<PeerInfo> {
    const started = Date.now()
    let first: number | undefined
    try {
      for await (const p of this.lookUpProviders(root, options)) {
        first ??= Date.now() - started
        yield p
      }
    } finally {
      this.init.onLookup?.('find-providers', first ?? Date.now() - started, first !== undefined)
    }
  }

  private async * lookUpProviders (root: CID, options: FindOptions): AsyncGenerator<PeerInfo> {
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
        for await (const e of this.init.dht.findProviders(routingKey(root), { signal })) {
          if (e.name !== 'PROVIDER') continue
          for (const p of e.providers) {
            const key = p.id.toString()
            if (p.id.equals(this.init.self) || seen.has(key)) continue
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
      for await (const e of this.init.dht.findPeer(peer, { signal, useCache: false })) {
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
