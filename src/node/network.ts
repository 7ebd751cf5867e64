// The node's network side, started on top of an open repo: the libp2p host, the exchange
// server, content routing and the reprovider. Start order: host, server, reprovider; stop in
// reverse, so no stream is served from a closed blockstore.
import { join } from 'node:path'
import type { PeerId, PeerInfo } from '@libp2p/interface'
import { CODE_P2P, multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { CID } from 'multiformats/cid'
import { LevelDatastore } from 'datastore-level'
import { Registry } from 'prom-client'
import type { LevelBlockstore } from '../blockstore/level.js'
import { VerifyingBlockstore } from '../blockstore/verifying.js'
import { BlockNotFoundError, DaemonRequiredError, InvalidArgumentError, NotAnnouncedError, PeerLinkError, PeerUnavailableError } from '../errors.js'
import { PeerPenalties } from '../exchange/penalties.js'
import { ReceiptService } from '../exchange/receipts.js'
import { ExchangeServer, type ExchangeServerOptions } from '../exchange/server.js'
import { ShareRecords } from '../exchange/share-records.js'
import { SHARE_RECORDS_FILE, ShareRecordsFile } from '../repo/share-records-file.js'
import { routingTableSize } from '../routing/kad-compat.js'
import { Reprovider } from '../routing/reprovider.js'
import { Routing, type FindOptions } from '../routing/routing.js'
import type { NetworkConfig } from '../repo/repo.js'
import { connectionInfo, type ConnectionInfo } from './reachability.js'
import { fetchRoot, NetworkSource, type FetchComponents, type FetchOptions, type FetchResult, type NetworkSourceOptions } from './fetch.js'
import { InboundGate } from './gate.js'
import { createHost, DHT_PROTOCOL, type PeerLinkHost } from './host.js'
import { loadIdentity } from './identity.js'
import { NodeMetrics } from './metrics.js'
import { WriteBehindDatastore } from './write-behind-datastore.js'
import { encodeTicket, type Ticket } from './ticket.js'
import type { LeaseBook } from '../storage/leases.js'
import type { SpreadBook } from '../storage/records.js'
import { StorageService } from '../storage/service.js'

/** Provider records live this long in the DHT; roots are provided again every half of it. */
export const PROVIDE_VALIDITY = 24 * 60 * 60 * 1000

/** How often the DHT drops the provider records it holds for others once they expire. */
export const RECORD_CLEANUP_INTERVAL = 60 * 60 * 1000

/** Longest a dial by `connect` may take. */
const CONNECT_TIMEOUT = 10_000

/** Roots kept to announce again after a failed provide. */
const MAX_WAITING_PROVIDES = 10_000

/** Announces that fetches start in the background at once; past them a root waits for the retry queue. */
const MAX_BACKGROUND_PROVIDES = 8

/** Waits before announcing a root again after a failed provide: the first, doubling up to the most. */
const PROVIDE_RETRY = { first: 1000, max: 5 * 60 * 1000 }

export interface NetworkInit {
  repo: string
  network: NetworkConfig
  store: LevelBlockstore
  /** Keep the DHT's records in the repo (default) or only in memory (simulations). */
  persistDht?: boolean
  dhtPath?: string
  /** How long provider records live (default PROVIDE_VALIDITY); shorter in tests. */
  provideValidity?: number
  /** Time between reprovide rounds (default half the validity). */
  reprovideInterval?: number
  /** How often the DHT drops expired records of other peers (default RECORD_CLEANUP_INTERVAL). */
  recordCleanupInterval?: number
  /**
   * Ping every connection every 10 s to measure round trips (default). Networks of hundreds
   * of nodes in one process turn it off: their pings, N × connections every 10 s, would
   * fill the one event loop they share.
   */
  monitorConnections?: boolean
  /**
   * Send provider records for what the repo holds (default). A node started for one command
   * (a CLI `fetch` or `find-providers` without a daemon) sets it false: its records would
   * point at a port that closes seconds later and live 24 h. Such a node runs no reprovide
   * rounds, never retries a provide, announces nothing it fetches, and refuses `provide`.
   */
  announce?: boolean
  /**
   * Keep Prometheus metrics (metrics.ts), libp2p's included: the daemon does; nodes many to a
   * process (simulations) do not, as libp2p's metrics are kept per process.
   * @default false
   */
  metrics?: boolean
  /** Overrides of the exchange server's bounds and timeouts (tests, benchmarks). */
  exchange?: ExchangeServerOptions
  /** Storage on other peers (src/storage/): the repo's books, the offer, the upkeep schedule. */
  storage?: StorageInit
}

export interface StorageInit {
  leases: LeaseBook
  book: SpreadBook
  /** Bytes offered to others (storage.offer). */
  offer: number
  /** Time between renew-and-repair rounds, ms; 0 runs none. */
  interval: number
  maxRepairBlocks?: number
  /** Bytes a second repairs may move (storage.repairRate); 0 unpaced. */
  repairRate?: number
}

/** What `connect` did: the peer, the address of its connection, and whether it was already open. */
export interface ConnectResult { peer: string, addr: string, reused: boolean }

export class PeerLinkNetwork {
  private constructor (
    readonly penalties: PeerPenalties,
    readonly host: PeerLinkHost,
    readonly server: ExchangeServer,
    readonly routing: Routing,
    readonly reprovider: Reprovider,
    /** Who fetched what from this node: its shares' receivers, from its serving and their receipts. */
    readonly shares: ShareRecords,
    private readonly receipts: ReceiptService,
    private readonly sharesFile: ShareRecordsFile,
    private readonly store: LevelBlockstore,
    private readonly datastore: WriteBehindDatastore | undefined,
    private readonly repo: string,
    /** Whether this node sends provider records (NetworkInit's `announce`). */
    readonly announces: boolean,
    /** Present when NetworkInit's `metrics` was set. */
    readonly metrics: NodeMetrics | undefined,
    /** Refuses redials of banned identities' addresses before their handshake (gate.ts). */
    readonly gate: InboundGate
  ) {}

  static async start (init: NetworkInit): Promise<PeerLinkNetwork> {
    const privateKey = await loadIdentity(init.repo)
    // libp2p's peer store and kad-dht's records: in memory, written behind to LevelDB.
    let datastore: WriteBehindDatastore | undefined
    const flushErrors: { log?: (err: Error) => void } = {}
    if (init.persistDht !== false && init.dhtPath !== undefined) {
      const level = new LevelDatastore(init.dhtPath)
      await level.open()
      datastore = new WriteBehindDatastore(level, { onFlushError: (err) => flushErrors.log?.(err) })
    }
    const validity = init.provideValidity ?? PROVIDE_VALIDITY
    const registry = init.metrics === true ? new Registry() : undefined
    const penalties = new PeerPenalties()
    const gate = new InboundGate(Date.now, init.network.allow)
    let host: PeerLinkHost
    try {
      host = await createHost({
        privateKey,
        network: init.network,
        datastore,
        provideValidity: validity,
        recordCleanupInterval: init.recordCleanupInterval ?? RECORD_CLEANUP_INTERVAL,
        monitorConnections: init.monitorConnections,
        metrics: registry,
        refusePeer: (peer) => penalties.isBanned(peer),
        gate
      })
    } catch (err) {
      await datastore?.close()
      throw listenError(err, init.network.listen)
    }
    const datastoreLog = host.logger.forComponent('peerlink:datastore')
    flushErrors.log = (err) => { datastoreLog.error('could not write the DHT datastore (kept in memory, tried again) - %e', err) }
    const shares = new ShareRecords()
    const server = new ExchangeServer({ libp2p: host, blocks: init.store, penalties, logger: host.logger, records: shares }, {
      maxBufferedBytes: init.network.maxBufferedBytes,
      maxStreams: init.network.maxExchangeStreams,
      relayed: init.network.relayedTransfers,
      partyOf: (connection) => gate.partyOf(connection.remoteAddr, connection.remotePeer.toString()),
      ...init.exchange
    })
    const routing = new Routing({
      dht: host.services.dht,
      self: host.peerId,
      dialDht: async (peer, options) => await host.dialProtocol(peer, DHT_PROTOCOL, options),
      addresses: () => host.getMultiaddrs(),
      onLookup: (kind, ms, ok) => { metrics?.lookupEnded(kind, ms, ok) }
    })
    let storage: StorageService | undefined
    const reprovider = new Reprovider(routing, {
      roots: async () => [...(await init.store.listPins()).map(p => p.cid), ...(storage?.announced() ?? [])],
      interval: init.reprovideInterval ?? validity / 2,
      log: host.logger.forComponent('peerlink:reprovider')
    })
    const metrics = registry === undefined
      ? undefined
      : new NodeMetrics(registry, {
        served: () => ({ blocks: server.stats.blocksSent, bytes: server.stats.bytesSent, violations: server.stats.violations, streams: server.stats.streams }),
        peers: () => host.getPeers().length,
        dhtTableSize: () => dhtTableSize(host),
        reprovideRounds: () => reprovider.rounds,
        usage: async () => await init.store.usage()
      })
    const receipts = new ReceiptService({ libp2p: host, records: shares, penalise: (peer, offence, why) => { server.penalise(peer, offence, why) }, logger: host.logger })
    const sharesLog = host.logger.forComponent('peerlink:shares')
    const sharesFile = new ShareRecordsFile(join(init.repo, SHARE_RECORDS_FILE), shares, (message) => { sharesLog.error(message) })
    await sharesFile.start()
    const net = new PeerLinkNetwork(penalties, host, server, routing, reprovider, shares, receipts, sharesFile, init.store, datastore, init.repo, init.announce !== false, metrics, gate)
    await server.start()
    await receipts.start()
    if (init.storage !== undefined) {
      storage = net.storageService(init.storage)
      net.storageSide = storage
      await storage.start()
    }
    // A node that does not announce names itself nowhere, even from records a daemon left.
    if (net.announces) reprovider.start()
    else await routing.withdrawAllBut([])
    return net
  }

  /**
   * Stops every part, each even when one before it failed (a full disk can refuse the peer
   * store's write as a protocol is unhandled): a part left running would keep the process
   * alive. The first failure is thrown once all are stopped.
   */
  async stop (): Promise<void> {
    clearInterval(this.waitingTimer)
    this.stopping.abort()
    const steps: Array<() => unknown> = [
      async () => await Promise.all(this.announcing),
      () => this.reprovider.stop(),
      () => this.storageSide?.stop(),
      // Receipts still on their way go out (each within RECEIPT_TIMEOUT) before the host stops.
      () => this.receipts.stop(),
      () => this.server.stop(),
      () => this.sharesFile.stop(),
      () => this.host.stop(),
      () => this.datastore?.close()
    ]
    let first: unknown
    for (const step of steps) {
      try {
        await step()
      } catch (err) {
        first ??= err
      }
    }
    if (first !== undefined) throw first
  }

  get peerId (): PeerId { return this.host.peerId }

  private storageSide: StorageService | undefined

  /** Storage on other peers (when the network was started with `storage`, as a node's is). */
  get storage (): StorageService {
    if (this.storageSide === undefined) throw new DaemonRequiredError('storage on other peers', this.repo)
    return this.storageSide
  }

  private storageService (init: StorageInit): StorageService {
    return new StorageService({
      libp2p: this.host,
      findProviders: async (cid, o) => await this.findProviders(cid, o),
      leases: init.leases,
      book: init.book,
      offer: init.offer,
      pull: async (from, root, cids, o) => await pullBlocks(this.source({ root, peer: from, addrs: [] }, o), cids, o),
      open: (root, o) => this.source({ root, addrs: [] }, o),
      store: async (blocks, o) => { await new VerifyingBlockstore(this.store).putMany(blocks, o) },
      has: async (cids) => await this.store.hasMany(cids),
      announce: async (root) => { if (this.announces) await this.provide(root) },
      withdraw: async (root) => { if (!await this.store.isPinned(root)) await this.withdraw(root) },
      source: this.store,
      isPinned: async (root) => await this.store.isPinned(root),
      sentBytes: () => this.server.stats.bytesSent,
      logger: this.host.logger
    }, { interval: init.interval, maxRepairBlocks: init.maxRepairBlocks, repairRate: init.repairRate })
  }

  /** What this node tells peers to dial: the listen addresses, wildcards expanded, with its peer id. */
  addresses (): Multiaddr[] {
    return this.host.getMultiaddrs()
  }

  /** Where the transports listen (port 0 resolved); libp2p's interface does not expose it, its node does. */
  listenAddresses (): Multiaddr[] {
    const components = (this.host as unknown as { components?: { transportManager?: { getAddrs: () => Multiaddr[] } } }).components
    return components?.transportManager?.getAddrs() ?? []
  }

  /** The share ticket of `root`; with a private root's key, the whole link. */
  ticket (root: CID, key?: Uint8Array): string {
    return encodeTicket({ root, peer: this.host.peerId, addrs: this.addresses().map(a => a.decapsulateCode(CODE_P2P)), key })
  }

  async peers (): Promise<ConnectionInfo[]> {
    return await Promise.all(this.host.getConnections().map(async c => await connectionInfo(this.host, c)))
  }

  /**
   * Dials a peer by multiaddr, for at most CONNECT_TIMEOUT. libp2p keeps one connection per
   * peer: when one is open already it is returned and the address is not dialled (`reused`).
   * A dial that fails or times out is the peer being unreachable, with the dial's own reason.
   */
  async connect (addr: string, options: { signal?: AbortSignal } = {}): Promise<ConnectResult> {
    let ma: Multiaddr
    try {
      ma = multiaddr(addr)
    } catch (err) {
      throw new InvalidArgumentError(`"${addr}" is not a multiaddr: ${(err as Error).message}`)
    }
    if (ma.getComponents().find(c => c.name === 'p2p') === undefined) throw new InvalidArgumentError(`${addr} names no peer: add /p2p/<peer id>`)
    const timeout = AbortSignal.timeout(CONNECT_TIMEOUT)
    let reused = false
    try {
      const conn = await this.host.dial(ma, {
        signal: options.signal !== undefined ? AbortSignal.any([options.signal, timeout]) : timeout,
        onProgress: (e: { type: string }) => { if (e.type === 'dial-queue:already-connected') reused = true }
      })
      return { peer: conn.remotePeer.toString(), addr: conn.remoteAddr.toString(), reused }
    } catch (err) {
      if (options.signal?.aborted === true || err instanceof PeerLinkError) throw err
      const why = timeout.aborted ? `no answer within ${CONNECT_TIMEOUT / 1000} s` : (err as Error).message
      throw new PeerUnavailableError(`cannot connect to ${addr}: ${why}`, { cause: err })
    }
  }

  /**
   * Announces a root. When no DHT peer takes the record (the node knows none yet, or every
   * peer it knows is gone) the provide fails, and the root is also kept and announced again
   * once a peer is known, after 1 s, then 2, 4 … up to 5 min apart until it succeeds, rather
   * than at the next reprovide hours later.
   */
  async provide (root: CID, options: { signal?: AbortSignal } = {}): Promise<{ ms: number }> {
    if (!this.announces) throw new DaemonRequiredError('provide (the record must point at a node that stays up)', this.repo)
    try {
      const stats = await this.routing.provide(root, options)
      this.waitingToProvide.delete(root.toString())
      return stats
    } catch (err) {
      if (err instanceof NotAnnouncedError) this.provideLater(root)
      throw err
    }
  }

  /** Announces started in the background and not yet settled (aborted when the node stops). */
  private readonly announcing = new Set<Promise<void>>()

  /**
   * Announces a root without waiting for it (a fetched root: the fetch is done once its
   * content is stored). A failure is retried as `provide`'s is; with MAX_BACKGROUND_PROVIDES
   * already running, the root goes straight to the retry queue.
   */
  announceLater (root: CID): void {
    if (!this.announces || this.stopping.signal.aborted) return
    if (this.announcing.size >= MAX_BACKGROUND_PROVIDES) { this.provideLater(root); return }
    const running: Promise<void> = this.provide(root, { signal: this.stopping.signal }).then(() => {}, () => {}).finally(() => { this.announcing.delete(running) })
    this.announcing.add(running)
  }

  /**
   * Stops announcing a root (it was unpinned): it leaves the reprovider's rounds and any
   * retry, and the DHT keeps no record of its own naming this node for it.
   */
  async withdraw (root: CID): Promise<void> {
    this.waitingToProvide.delete(root.toString())
    await this.routing.withdraw(root)
  }

  /** Roots whose provide failed, with when to try each again and the wait after that. */
  private readonly waitingToProvide = new Map<string, { root: CID, at: number, backoff: number }>()
  private waitingTimer: NodeJS.Timeout | undefined
  private retrying = false
  /** Ends retries still running when the node stops. */
  private readonly stopping = new AbortController()

  private provideLater (root: CID): void {
    const key = root.toString()
    if (this.waitingToProvide.has(key)) return // its retry is already scheduled
    if (this.waitingToProvide.size >= MAX_WAITING_PROVIDES) return // the reprovider still covers pinned roots
    this.waitingToProvide.set(key, { root, at: Date.now() + PROVIDE_RETRY.first, backoff: PROVIDE_RETRY.first })
    this.waitingTimer ??= setInterval(() => { void this.retryProvides() }, 500)
    this.waitingTimer.unref()
  }

  private async retryProvides (): Promise<void> {
    if (this.retrying || this.stopping.signal.aborted || dhtTableSize(this.host) === 0) return
    this.retrying = true
    try {
      const now = Date.now()
      for (const [key, w] of this.waitingToProvide) {
        if (w.at > now) continue
        try {
          await this.routing.provide(w.root, { signal: this.stopping.signal })
          this.waitingToProvide.delete(key)
        } catch {
          w.backoff = Math.min(w.backoff * 2, PROVIDE_RETRY.max)
          w.at = Date.now() + w.backoff
        }
      }
    } finally {
      this.retrying = false
      if (this.waitingToProvide.size === 0) {
        clearInterval(this.waitingTimer)
        this.waitingTimer = undefined
      }
    }
  }

  async findProviders (root: CID, options: FindOptions = {}): Promise<PeerInfo[]> {
    const out: PeerInfo[] = []
    for await (const p of this.routing.findProviders(root, options)) out.push(p)
    return out
  }

  async fetch (ticket: Ticket, options: FetchOptions = {}): Promise<FetchResult> {
    const announce = this.announces && options.announce !== false
    if (this.metrics === undefined) return await fetchRoot(this.fetchComponents(), ticket, { ...options, announce })
    const started = Date.now()
    try {
      const result = await fetchRoot(this.fetchComponents(), ticket, { ...options, announce })
      this.metrics.fetchEnded(Date.now() - started, result)
      return result
    } catch (err) {
      this.metrics.fetchEnded(Date.now() - started, err as Error)
      throw err
    }
  }

  /** The blocks of a root, from the repo and, for what it lacks, from the root's providers (close it after use). */
  source (ticket: Ticket, options: NetworkSourceOptions = {}): NetworkSource {
    return new NetworkSource(this.fetchComponents(), ticket, options)
  }

  private fetchComponents (): FetchComponents {
    return { host: this.host, routing: this.routing, penalties: this.penalties, store: this.store, relayed: this.server.relayed, announce: (root) => { this.announceLater(root) }, receipts: this.receipts }
  }
}

/** Fetches blocks through a source (verified, stored); their sizes by CID. */
async function pullBlocks (source: NetworkSource, cids: CID[], options: { signal?: AbortSignal }): Promise<Record<string, number>> {
  const sizes: Record<string, number> = {}
  try {
    for await (const { cid, bytes } of source.getMany(cids, options)) {
      if (bytes === undefined) throw new BlockNotFoundError(cid.toString())
      sizes[cid.toString()] = bytes.byteLength
    }
  } finally {
    await source.close()
  }
  return sizes
}

/** Peers in the DHT routing table. */
export function dhtTableSize (host: PeerLinkHost): number {
  return routingTableSize(host.services.dht)
}

function listenError (err: unknown, listen: string[]): Error {
  const e = err as NodeJS.ErrnoException
  if (e.code === 'EADDRINUSE' || /EADDRINUSE/.test(String(e.message))) {
    return new InvalidArgumentError(`cannot listen on ${listen.join(', ')}: the address is in use (another daemon on this port? use daemon --listen for this run, or peerlink config set network.listen)`)
  }
  return e
}
