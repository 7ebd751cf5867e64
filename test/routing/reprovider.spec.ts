// The reprovider's placement on networks larger than this machine can run: the DHT's lookups
// are answered from a list of peer ids (the K truly closest, as a converged Kademlia lookup
// returns them), and every record must reach exactly the K peers closest to its key, with
// fewer lookups than roots. On real nodes it is tested in provide.spec.ts.
import { randomBytes, createHash } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Logger, PeerId } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { expect } from 'chai'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { dhtKey, peerKey, routingKey } from '../../src/routing/kad-compat.js'
import { Reprovider } from '../../src/routing/reprovider.js'
import type { Routing } from '../../src/routing/routing.js'

const K = 20
const big = (b: Uint8Array): bigint => BigInt('0x' + Buffer.from(b).toString('hex'))

/** `partialLookups`: that many lookups (the first ones) meet only 5 peers, half of those asked not answering. */
async function placement (peerCount: number, rootCount: number, partialLookups = 0): Promise<{ lookups: number, misplaced: number, failed: number }> {
  const peers = await Promise.all(Array.from({ length: peerCount }, async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))))
  const keys = new Map(peers.map(p => [p.toString(), big(peerKey(p))]))
  const closest = (x: bigint): PeerId[] => peers.map(p => ({ p, d: (keys.get(p.toString()) as bigint) ^ x })).sort((a, b) => a.d < b.d ? -1 : a.d > b.d ? 1 : 0).slice(0, K).map(a => a.p)
  const sent = new Map<string, Set<string>>()
  const routing = {
    k: K,
    // No DHT store of its own here: the records of this node's own are tested on real nodes.
    nameSelf: async () => {},
    closestPeers: async (key: Uint8Array) => {
      const all = closest(big(createHash('sha256').update(key).digest()))
      return partialLookups-- > 0 ? { closest: all.slice(0, 5), ms: 0, queries: 10, responses: 5 } : { closest: all, ms: 0, queries: 0, responses: 0 }
    },
    sendProviderRecords: async (peer: PeerId, keys: Uint8Array[]) => {
      for (const k of keys) {
        const r = rootOf.get(Buffer.from(k).toString('hex')) as string
        sent.set(r, (sent.get(r) ?? new Set()).add(peer.toString()))
      }
    }
  } as unknown as Routing
  const roots = await Promise.all(Array.from({ length: rootCount }, async () => CID.createV1(raw.code, await sha256.digest(randomBytes(32)))))
  const rootOf = new Map(roots.map(r => [Buffer.from(routingKey(r).multihash.bytes).toString('hex'), r.toString()]))
  const round = await new Reprovider(routing, { roots: async () => roots, interval: 3_600_000, log: (() => {}) as unknown as Logger }).provideAll(roots)
  const misplaced = roots.filter(r => closest(big(dhtKey(r))).map(String).sort().join() !== [...(sent.get(r.toString()) ?? [])].sort().join()).length
  return { lookups: round.lookups, misplaced, failed: round.failed }
}

describe('reprovider placement', function () {
  this.timeout(60_000)

  it('sends every record to exactly the K closest peers, with one lookup for a network under K', async () => {
    expect(await placement(12, 100)).to.deep.equal({ lookups: 1, misplaced: 0, failed: 0 })
  })

  it('needs a few lookups per K peers of the network, not one per root', async () => {
    const r = await placement(400, 400)
    expect(r.misplaced).to.equal(0)
    expect(r.failed).to.equal(0)
    // About 2 × 400 / 20 regions of the keyspace; one lookup per root would be 400.
    expect(r.lookups).to.be.at.most(100)
  })

  it('takes a lookup that met fewer than K peers because some did not answer for no region', async () => {
    // Taken for the whole network, its 5 peers would get the records of every later root.
    const r = await placement(400, 200, 1)
    // Only the root whose own lookup came back short goes to fewer than its K closest.
    expect(r.misplaced).to.equal(1)
    expect(r.failed).to.equal(0)
  })

  it('never needs more lookups than roots, however sparse they are', async () => {
    const r = await placement(400, 10)
    expect(r.misplaced).to.equal(0)
    expect(r.lookups).to.be.at.most(10)
  })
})
