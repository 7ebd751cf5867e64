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

/** Where kad-dht places a root's record: SHA-256 of its routing key's multihash. */
export function dhtKey (root: CID): Buffer {
  return createHash('sha256').update(routingKey(root).multihash.bytes).digest()
}

/** Where kad-dht places a peer: SHA-256 of its id's multihash. */
export function peerKey (peer: PeerId): Buffer {
  return createHash('sha256').update(peer.toMultihash().bytes).digest()
}

/** Roots in keyspace order. */
export function keyspaceOrder (roots: CID[]): CID[] {
  return roots.map(cid => ({ cid, key: dhtKey(cid) })).sort((a, b) => Buffer.compare(a.key, b.key)).map(r => r.cid)
}
