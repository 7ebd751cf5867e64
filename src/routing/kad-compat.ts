// Everything PeerLink assumes about @libp2p/kad-dht beyond its public types, in one place:
// where kad-dht places keys and peers in its keyspace, how its servers read a provider key,
// the wire form of ADD_PROVIDER and how a server handles a stream of them, what its
// provide's events mean, that it keeps a record of its own for what it provides, and where
// its routing table is. Each assumption has a test of its own in test/routing/kad-compat.spec.ts,
// so an upgrade of kad-dht that breaks one fails there, by name, rather than misplacing records.
import { createHash } from 'node:crypto'
import type { PeerId, Stream } from '@libp2p/interface'
import { MessageType, type KadDHT, type QueryEvent } from '@libp2p/kad-dht'
import { pbStream } from '@libp2p/utils'
import type { Multiaddr } from '@multiformats/multiaddr'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import * as Digest from 'multiformats/hashes/digest'
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
