// Everything PeerLink assumes about @libp2p/kad-dht beyond its public types, in one place:
// where kad-dht places keys and peers in its keyspace, how its servers read a provider key,
// the wire form of ADD_PROVIDER and how a server handles a stream of them, what its
// provide's events mean, that it keeps a record of its own for what it provides, where and
// how its provider store keeps records (it answers GET_PROVIDERS from it, and its reprovider
// re-announces this node's own records from it once they expire), where its routing
// table is, and how it holds queries until its first self-query has run. Each assumption has
// a test of its own in test/routing/kad-compat.spec.ts, so an upgrade of kad-dht that breaks
// one fails there, by name, rather than misplacing records.
import { createHash } from 'node:crypto'
import type { AbortOptions, PeerId, Stream } from '@libp2p/interface'
import { MessageType, type KadDHT, type QueryEvent } from '@libp2p/kad-dht'
import { pbStream } from '@libp2p/utils'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Datastore } from 'interface-datastore'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import * as Digest from 'multiformats/hashes/digest'
import * as varint from 'uint8-varint'
import { fromString } from 'uint8arrays'
import { ProtocolError } from '../errors.js'
import { Message } from './pb/dht.js'

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

/** Where kad-dht places a key it is given (a lookup's target): SHA-256 of it. */
export function placeOf (key: Uint8Array): Buffer {
  return createHash('sha256').update(key).digest()
}

/** Where kad-dht places a root's record: the place of its routing key's multihash. */
export function dhtKey (root: CID): Buffer {
  return placeOf(routingKey(root).multihash.bytes)
}

/** Where kad-dht places a peer: the place of its id's multihash. */
export function peerKey (peer: PeerId): Buffer {
  return placeOf(peer.toMultihash().bytes)
}

/**
 * Peers in the DHT's routing table. The service `kadDHT()` makes is typed `KadDHT`, which
 * has no routing table; it is in fact a `SingleKadDHT`, whose `routingTable.size` is public.
 */
export function routingTableSize (dht: KadDHT): number {
  return (dht as Partial<{ routingTable: { size?: number } }>).routingTable?.size ?? 0
}

/**
 * Lets kad-dht's lookups go without waiting for its first self-query. kad-dht holds every
 * query until that walk of the node's own neighbourhood has ended (it starts a second after
 * the node, then asks every peer it meets: a third of a second more with 8 peers on
 * loopback), on a deferred its `SingleKadDHT`'s `queryManager` keeps as
 * `initialQuerySelfHasRun`; resolved and cleared, the held queries go and later ones do not
 * wait. (Its option `allowQueryWithZeroPeers` also drops the hold, but then a query with an
 * empty routing table ends at once, and libp2p's random walk, which finds relays, spins.)
 * Callers wait for a peer in the routing table first.
 */
export function releaseQueries (dht: KadDHT): void {
  const manager = (dht as Partial<{ queryManager: { initialQuerySelfHasRun?: { resolve: () => void } } }>).queryManager
  if (manager?.initialQuerySelfHasRun === undefined) return
  manager.initialQuerySelfHasRun.resolve()
  manager.initialQuerySelfHasRun = undefined
}

/**
 * Whether an event of kad-dht's `provide` says a peer took the record: ADD_PROVIDER has no
 * answer on the wire, and kad-dht reports a PEER_RESPONSE once the message is written.
 */
export function recordStored (event: QueryEvent): boolean {
  return event.name === 'PEER_RESPONSE' && event.messageType === MessageType.ADD_PROVIDER
}

/** Largest answer read from a DHT stream here (the echo of a PING). */
const MAX_DHT_ANSWER = 64 * 1024

/** The provider a record names: the sender itself, which a kad-dht server requires. */
export interface ProviderSelf {
  id: PeerId
  /** A server ignores a provider with no addresses. */
  addresses: Multiaddr[]
}

/**
 * Writes provider records for the routing keys `keys` (multihash bytes) to an open stream of
 * the DHT protocol as ADD_PROVIDER messages, then a PING, and waits for the PING's echo.
 * ADD_PROVIDER has no answer, and a kad-dht server stops reading a stream once its sender has
 * closed it, dropping what it had not read yet; it handles a stream's messages in order, so
 * the echo says every record before it was stored. Closes the stream after the echo.
 */
export async function writeProviderRecords (stream: Stream, keys: Array<Uint8Array<ArrayBuffer>>, self: ProviderSelf, options: { signal?: AbortSignal } = {}): Promise<void> {
  const provider = { id: self.id.toMultihash().bytes, addrs: self.addresses.map(a => a.bytes) }
  const messages = pbStream(stream, { maxDataLength: MAX_DHT_ANSWER }).pb(Message)
  await messages.writeV([
    ...keys.map(key => ({ type: Message.MessageType.ADD_PROVIDER, key, providerPeers: [provider] })),
    { type: Message.MessageType.PING, key: new Uint8Array(0), providerPeers: [] }
  ], options)
  const echo = await messages.read(options)
  if (echo.type !== Message.MessageType.PING) throw new ProtocolError(`the DHT peer answered ${echo.type} to a PING`)
  await stream.close(options)
}

/**
 * kad-dht's store of provider records, the one its servers answer GET_PROVIDERS from. The
 * service `kadDHT()` makes is a `KadDHT` class whose `providers` is public; where that store
 * keeps its records (`datastore`, under `datastorePrefix`) is not.
 */
interface ProviderStore {
  addProvider: (key: CID, provider: PeerId, options?: AbortOptions) => Promise<void>
  datastore: Datastore
  datastorePrefix: string
}

function providerStore (dht: KadDHT): ProviderStore {
  return (dht as unknown as { providers: ProviderStore }).providers
}

/**
 * Writes (or renews) the record naming `self` as a provider of the routing key `key` in
 * kad-dht's own store, stamped now: kad-dht then names this node when asked for the key's
 * providers, and its reprovider leaves the record alone until it is older than the validity.
 */
export async function writeSelfRecord (dht: KadDHT, self: PeerId, key: CID, options: { signal?: AbortSignal } = {}): Promise<void> {
  await providerStore(dht).addProvider(key, self, options)
}

/** A record naming this node that kad-dht's store holds. */
export interface SelfRecord {
  /** The routing key it is stored under. */
  key: CID
  /** When it was written, in ms since the epoch. */
  written: number
}

/**
 * The records naming `self` in kad-dht's own store (its public `cancelReprovide` removes
 * one). kad-dht keeps each under
 * `<prefix>/<routing key's multihash, base32>/<provider's peer id>`, its value the time it
 * was written as a varint of milliseconds.
 */
export async function * selfRecords (dht: KadDHT, self: PeerId, options: { signal?: AbortSignal } = {}): AsyncGenerator<SelfRecord> {
  const store = providerStore(dht)
  const tail = `/${self.toString()}`
  for await (const { key, value } of store.datastore.query({ prefix: store.datastorePrefix }, options)) {
    const path = key.toString()
    if (!path.endsWith(tail)) continue
    let record: SelfRecord
    try {
      const encoded = path.slice(0, -tail.length).split('/').pop() ?? ''
      record = { key: CID.createV1(raw.code, Digest.decode(fromString(encoded, 'base32'))), written: varint.decode(value) }
    } catch {
      continue // not a record kad-dht wrote (kad-dht's reprovider skips it too)
    }
    yield record
  }
}
