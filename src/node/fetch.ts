// Fetching a root from the network, as a sequence of stages:
//   1. providers: the ticket's sharer (dialled directly) and whoever the DHT names;
//   2. blocks: a fetch session pulls the DAG through the exporter's read-ahead, data first,
//      parity only to rebuild what no provider holds; every block is verified as it is stored;
//   3. output: the file (or tree) streamed in order to its path, or nowhere (repo only);
//   4. completion: parity computed locally (never downloaded when it can be computed),
//      the root pinned and provided, so every fetcher becomes a full provider.
// Blocks already in the repo are not fetched again, so an interrupted fetch resumes.
import type { PeerId, Stream } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import { CustomProgressEvent, type ProgressEvent } from 'progress-events'
import type { Block, Placement } from '../blockstore/blockstore.js'
import type { LevelBlockstore } from '../blockstore/level.js'
import { VerifyingBlockstore } from '../blockstore/verifying.js'
import { BlockNotFoundError, PeerUnavailableError } from '../errors.js'
import { streamChannels, type OpenChannelOptions } from '../exchange/channel.js'
import { systemClock } from '../exchange/clock.js'
import { EXCHANGE_PROTOCOL } from '../exchange/constants.js'
import type { PeerPenalties } from '../exchange/penalties.js'
import type { ReceiptService } from '../exchange/receipts.js'
import { FetchSession, type ProviderStats, type SessionProgressEvents } from '../exchange/session.js'
import { resolvePath, type TreeExportOptions } from '../files/directory.js'
import { computeParity, type BlockSource, type ExportProgressEvents } from '../files/exporter.js'
import { BufferPool } from '../files/pool.js'
import type { Manifest, StripeNode } from '../files/format.js'
import { pinnedName, shownName } from '../files/private.js'
import type { Routing } from '../routing/routing.js'
import { discoverProviders, type ProviderLookupEvents } from './discovery.js'
import { fetchFailure, type Discovery } from './fetch-failure.js'
import type { PeerLinkHost } from './host.js'
import { drain, exportToOutput } from './pack-output.js'
import { noteRelayed, relayFailure, relayLimited, type RelayedProviders } from './reachability.js'
import type { Ticket } from './ticket.js'

export type { ProviderLookupEvents }

/**
 * The provider lookup (discovery.ts), `start` once the root is read, then the session's and
 * the export's events.
 */
export type FetchProgressEvents =
  SessionProgressEvents | ExportProgressEvents | ProviderLookupEvents |
  ProgressEvent<'fetch:start', { root: string, name: string, size: number, type: string }>

export interface FetchOptions extends Pick<TreeExportOptions, 'maxEntries' | 'maxBytes'> {
  /** Write the file or tree here; without it the fetch only fills the repo. */
  output?: string
  /**
   * Replace what is at `output`.
   * @default false
   */
  force?: boolean
  /**
   * Longest the DHT lookup for providers may take, in ms.
   * @default 10000
   */
  findTimeout?: number
  /**
   * After this long (ms) without an answer one request is moved to another provider.
   * @default 30000
   */
  requestTimeout?: number
  signal?: AbortSignal
  onProgress?: (event: FetchProgressEvents) => void
  /**
   * Announce the root once it is pinned (default), in the background: the fetch returns once
   * the content is stored and written, not after the DHT's round trips (on busy capped links
   * they queue behind block data: 0.1–0.7 s with 8 providers). A node started for one command leaves it
   * to the daemon, which announces pinned roots when it starts: a record pointing at a node
   * about to exit would send fetchers to nobody.
   */
  announce?: boolean
  /**
   * Called once the root is read and before any content is fetched, with the content size
   * and, for a file, its erasure parameters; throws to refuse a fetch the repo cannot hold.
   */
  checkSpace?: (bytes: number, erasure?: { k: number, m: number }) => Promise<void>
}

export interface FetchResult {
  cid: string
  name: string
  type: 'file' | 'directory'
  size: number
  /** Blocks and bytes that came over the network in this run. */
  fetchedBlocks: number
  fetchedBytes: number
  /** Parity blocks computed here instead of downloaded. */
  parityComputed: number
  /** Data chunks no provider had, rebuilt from parity. */
  rebuiltChunks: number
  providers: ProviderStats[]
  /** Whether this node announces the root (it starts once the root is pinned, and is retried when no DHT peer takes it). */
  provided: boolean
  ms: number
}

export interface FetchComponents {
  host: PeerLinkHost
  routing: Routing
  penalties: PeerPenalties
  store: LevelBlockstore
  /** Open exchange streams over relayed (limited) connections (config network.relayedTransfers). */
  relayed?: boolean
  /** Starts announcing the fetched root in the background (retried later when that fails). */
  announce: (root: CID) => void
  /** Tells the providers, in the background, that the fetch completed (receipts.ts). */
  receipts?: Pick<ReceiptService, 'send'>
}

/**
 * Opens an exchange stream to a provider. With `lookUp` (the session sets it when the addresses
 * this node knows for the provider failed and it needs the provider: session.ts,
 * ENOUGH_PROVIDERS), the DHT is asked where the peer is now (a restarted node may listen on a
 * new port while provider records and tickets still carry the old one), and only the addresses
 * it adds are dialled: the failed ones again would wait out a second dial timeout for a peer
 * that is gone.
 */
async function openExchange (c: FetchComponents, peer: PeerId, options: OpenChannelOptions): Promise<Stream> {
  const open = async (): Promise<Stream> => await c.host.dialProtocol(peer, EXCHANGE_PROTOCOL, { ...options, runOnLimitedConnection: c.relayed === true })
  const dial = async (): Promise<Stream> => {
    try {
      return await open().catch(async (err: Error) => {
        // The connection closed while the stream opened on it: a duplicate pruned, as when
        // another protocol's dial made a second relayed circuit to the peer. Once more, on
        // whichever connection is left or a new one.
        if (err.name !== 'ConnectionClosedError' || options.signal?.aborted === true) throw err
        return await open()
      })
    } catch (err) {
      throw relayLimited(err, peer, c.host.getConnections(peer), c.relayed === true)
    }
  }
  // Connected meanwhile (it dialled this node): no lookup needed.
  if (options.lookUp === true && c.host.getConnections(peer).length === 0) {
    const known = new Set((await c.host.peerStore.get(peer).catch(() => undefined))?.addresses.map(a => a.multiaddr.toString()))
    const fresh = (await c.routing.findPeer(peer, options)).filter(a => !known.has(a.toString()))
    if (fresh.length === 0) throw new PeerUnavailableError('the DHT knows no other address for it')
    await c.host.peerStore.merge(peer, { multiaddrs: fresh })
  }
  return await dial()
}

export async function fetchRoot (c: FetchComponents, ticket: Ticket, options: FetchOptions = {}): Promise<FetchResult> {
  const started = Date.now()
  const controller = new AbortController()
  const signal = options.signal !== undefined ? AbortSignal.any([options.signal, controller.signal]) : controller.signal
  const store = c.store
  const source = new NetworkSource(c, ticket, { signal, requestTimeout: options.requestTimeout, findTimeout: options.findTimeout, onProgress: options.onProgress })
  // A whole root is wanted: the providers are looked up at once, not at the first missing block.
  source.start()
  const completion = new StripeCompletion(store, (cids) => { source.hold(cids) }, signal)
  try {
    // With a path, what is fetched and pinned is the root it leads to; the providers are those of the outer root.
    const { cid: root, node, name: resolved, key } = await resolvePath(source, ticket.root, ticket.path ?? [], { signal, key: ticket.key })
    // A private root's name is sealed: shown when the link has the key, never pinned.
    const name = shownName(root, node, key, resolved)
    const stored = pinnedName(node, resolved)
    source.hold([root])
    await options.checkSpace?.(node.size, node.type === 'file' ? node.erasure : undefined)
    options.onProgress?.(new CustomProgressEvent('fetch:start', { root: root.toString(), name, size: node.size, type: node.type }))
    const exportOptions = { signal, key, onProgress: options.onProgress, force: options.force, maxEntries: options.maxEntries, maxBytes: options.maxBytes, onStripe: completion.onStripe }
    if (options.output === undefined) await drain(source, root, exportOptions)
    else await exportToOutput(store, source, { root, node, output: options.output }, { ...exportOptions, beforeLink: async () => { await completion.finish() } })
    await completion.finish()
    await store.pin(root, { name: stored, size: node.size, type: node.type })
    const provided = options.announce !== false
    if (provided) c.announce(root)
    const providers = source.stats()
    // Under the root the providers were asked for, as they recorded their serving.
    c.receipts?.send(ticket.root, providers, started, Date.now())
    return {
      cid: root.toString(),
      name,
      type: node.type,
      size: node.size,
      fetchedBlocks: providers.reduce((a, p) => a + p.blocks, 0),
      fetchedBytes: providers.reduce((a, p) => a + p.bytes, 0),
      parityComputed: completion.parityComputed,
      rebuiltChunks: completion.rebuiltStored,
      providers,
      provided,
      ms: Date.now() - started
    }
  } catch (err) {
    throw source.failure(err)
  } finally {
    controller.abort()
    await completion.finish().catch(() => {})
    await source.close()
  }
}

export interface NetworkSourceOptions {
  signal?: AbortSignal
  /** As FetchOptions' requestTimeout. */
  requestTimeout?: number
  /** As FetchOptions' findTimeout. */
  findTimeout?: number
  onProgress?: (event: SessionProgressEvents | ProviderLookupEvents) => void
}

/**
 * A root's blocks from the repo first, and what the repo lacks from the root's providers. The
 * session and the provider lookup start at the first block the repo lacks (or at `start`), so
 * a read the repo can serve sends nothing. Blocks from providers come in through the verifying
 * door; they are stored but not pinned, and held from garbage collection, with the root and
 * what it links to, until `close`.
 */
export class NetworkSource implements BlockSource {
  private readonly closing = new AbortController()
  /** Where the exporter said fetched chunks belong, until they are stored (at most MAX_PLACES). */
  private readonly places = new Map<string, Placement>()
  private readonly signal: AbortSignal
  private readonly releases: Array<() => void> = []
  private session: FetchSession | undefined
  private discovery: Discovery | undefined
  /** Providers reached only through a relay: the limits left when a stream opened, or the refusal. */
  private readonly relayed: RelayedProviders = new Map()

  constructor (private readonly c: FetchComponents, private readonly ticket: Ticket, private readonly options: NetworkSourceOptions = {}) {
    this.signal = options.signal !== undefined ? AbortSignal.any([options.signal, this.closing.signal]) : this.closing.signal
    // The root from the start: what an interrupted fetch of it stored is kept through a gc.
    this.hold([ticket.root])
  }

  hold (cids: CID[]): void {
    this.releases.push(this.c.store.hold(cids))
  }

  /** The session, started with the provider lookup on first use. */
  start (): FetchSession {
    if (this.session !== undefined) return this.session
    this.signal.throwIfAborted()
    const door = new VerifyingBlockstore(this.c.store)
    const session = new FetchSession(this.ticket.root, {
      openChannel: streamChannels(this.ticket.root, async (peer, o) => await noteRelayed(this.relayed, this.c.host, peer, async () => await openExchange(this.c, peer, o))),
      // A provider reached through a relay that is now connected directly too (hole punching
      // closes the relayed connection once the direct one is up, streams and all).
      reachableAnew: (peer) => this.relayed.has(peer.toString()) && this.c.host.getConnections(peer).some(c => c.limits === undefined && c.status === 'open'),
      clock: systemClock,
      sink: {
        put: async (cid, bytes, o) => {
          this.hold([cid])
          const id = cid.toString()
          const place = this.places.get(id)
          this.places.delete(id)
          await door.putMany([{ cid, bytes, place }], { ...o, absent: true })
        }
      },
      penalties: this.c.penalties,
      logger: this.c.host.logger
    }, { signal: this.signal, requestTimeout: this.options.requestTimeout, onProgress: this.options.onProgress })
    session.start()
    this.session = session
    this.discovery = discoverProviders(this.c, this.ticket, session, { signal: this.signal, timeout: this.options.findTimeout, onProgress: this.options.onProgress })
    return session
  }

  stats (): ProviderStats[] {
    return this.session?.stats() ?? []
  }

  /** The error to report for `err`: with the network asked, what the providers did (fetch-failure.ts). */
  failure (err: unknown): unknown {
    return this.discovery === undefined ? err : relayFailure(fetchFailure(err, this.ticket, this.discovery, this.stats()), this.stats(), this.relayed)
  }

  /** Ends the session and the lookup, and lets gc have what was fetched (unless pinned meanwhile). */
  async close (): Promise<void> {
    this.closing.abort()
    this.session?.close()
    await this.discovery?.done
    for (const r of this.releases.splice(0)) r()
  }

  async get (cid: CID, options: { signal?: AbortSignal } = {}): Promise<Uint8Array> {
    try {
      return await this.c.store.get(cid, options)
    } catch (err) {
      if (!(err instanceof BlockNotFoundError)) throw err
    }
    const bytes = await this.start().get(cid, options)
    if (bytes === undefined) throw new BlockNotFoundError(cid.toString())
    return bytes
  }

  async * getMany (cids: Iterable<CID>, options: { signal?: AbortSignal } = {}): AsyncGenerator<{ cid: CID, bytes: Uint8Array | undefined, verified?: boolean }> {
    const list = [...cids]
    const has = await this.c.store.hasMany(list, options)
    // A block the session fetched ahead and holds is taken from it, already verified, rather
    // than read back from the repo and hashed again. (Asked after the lookup: the session lets
    // go of blocks far ahead, which are then read from the repo.)
    for (let i = 0; i < list.length; i++) if (this.session?.wanted(list[i]) === true) has[i] = false
    const session = has.includes(false) ? this.start() : undefined
    session?.want(list.filter((_, i) => !has[i]))
    const remote = list.map((cid, i) => has[i] ? undefined : session?.get(cid, options))
    for (const r of remote) r?.catch(() => {})
    for (let i = 0; i < list.length; i++) {
      const r = remote[i]
      if (r === undefined) {
        const bytes = await this.c.store.get(list[i], options).catch(() => undefined)
        yield { cid: list[i], bytes }
      } else {
        yield { cid: list[i], bytes: await r, verified: true }
      }
    }
  }

  place (cids: CID[], places: Placement[]): void {
    cids.forEach((cid, i) => { if (this.places.size < MAX_PLACES) this.places.set(cid.toString(), places[i]) })
  }

  readAhead (): number {
    return this.session?.depth() ?? 0
  }

  prefetch (cids: CID[], options: { urgent?: boolean } = {}): void {
    this.c.store.hasMany(cids).then(has => {
      const missing = cids.filter((_, i) => !has[i])
      if (missing.length > 0 && !this.signal.aborted) this.start().want(missing, options)
    }, () => {})
  }
}

/** Placement hints kept at most: a 64 GiB file's chunks of 1 MiB; past it chunks are stored loose. */
const MAX_PLACES = 65536

/** Stripes whose parity blocks are written beside the export at once. */
const STRIPES_WRITING = 3

/**
 * Makes each stripe whole in the repo as the export passes it: stores data chunks that were
 * rebuilt from parity and the parity blocks computed from the data. Both were checked against
 * their CIDs already (by the exporter's rebuild and by computeParity), so they are stored
 * without hashing them again. A stripe's parity is computed beside the export of the next
 * one, which waits for it, so the data of one stripe at most is held here (holding three
 * stripes' data until their writes finished cost the fetching daemon 10–30 MB of peak RSS);
 * only the parity blocks of up to STRIPES_WRITING stripes wait for their writes.
 */
class StripeCompletion {
  parityComputed = 0
  rebuiltStored = 0
  /** Settles when the last stripe's parity is computed, and its data no longer needed. */
  private computing: Promise<unknown> = Promise.resolve()
  private readonly writing: Array<Promise<void>> = []
  /** Parity is coded into buffers that come back once stored (files/pool.ts), for stripes of one shard size. */
  private pool?: BufferPool

  constructor (private readonly store: LevelBlockstore, private readonly hold: (cids: CID[]) => void, private readonly signal: AbortSignal) {}

  readonly onStripe = async (manifest: Manifest, node: StripeNode, chunks: Map<number, Uint8Array>): Promise<void> => {
    await this.computing
    while (this.writing.length >= STRIPES_WRITING) await this.writing.shift()
    const computed = this.missing(manifest, node, chunks)
    this.computing = computed.catch(() => {})
    const p = computed.then(async ({ data, parity }) => {
      const blocks = [...data, ...parity]
      if (blocks.length === 0) return
      this.hold(blocks.map(b => b.cid))
      await this.store.putMany(blocks, { signal: this.signal, absent: true }) // `missing` looked them up
      this.rebuiltStored += data.length
      this.parityComputed += parity.length
      for (const b of parity) this.pool?.give(b.bytes)
    })
    p.catch(() => {}) // surfaced by the next onStripe or finish
    this.writing.push(p)
  }

  async finish (): Promise<void> {
    while (this.writing.length > 0) await this.writing.shift()
  }

  /** The stripe's blocks the repo lacks: rebuilt data chunks, and parity computed from the data. */
  private async missing (manifest: Manifest, node: StripeNode, chunks: Map<number, Uint8Array>): Promise<{ data: Block[], parity: Block[] }> {
    const opts = { signal: this.signal }
    const have = await this.store.hasMany([...node.data, ...node.parity], opts)
    const data = node.data.flatMap((cid, i) => have[i] ? [] : [{ cid, bytes: chunks.get(i) as Uint8Array }])
    const missing = node.parity.map((_, i) => !have[node.data.length + i])
    if (!missing.includes(true)) return { data, parity: [] }
    this.pool ??= new BufferPool(node.shardSize, (STRIPES_WRITING + 1) * node.parity.length)
    const pool = this.pool.bytes === node.shardSize ? this.pool : undefined
    const computed = await computeParity(manifest, node, chunks, { ...opts, into: pool === undefined ? undefined : node.parity.map(() => pool.take()) })
    // Those already in the repo are not stored: their buffers come back at once.
    computed.forEach((b, i) => { if (!missing[i]) pool?.give(b.bytes) })
    return { data, parity: computed.filter((_, i) => missing[i]) }
  }
}
