// Where things sit in the DHT's keyspace: the key a root's provider record is stored under,
// and the points kad-dht measures XOR distances between (SHA-256 of a key or a peer id).
import { createHash } from 'node:crypto'
import type { PeerId } from '@libp2p/interface'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import * as Digest from 'multiformats/hashes/digest'

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
