// One test for each thing src/routing/kad-compat.ts assumes about @libp2p/kad-dht beyond its
// public types. An upgrade of kad-dht that changes one fails here, by name. The first part
// reads kad-dht's own (unexported) code; the second asks a small network of real nodes.
import { randomBytes } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PeerId } from '@libp2p/interface'
import type { KadDHT } from '@libp2p/kad-dht'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'chai'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import * as Digest from 'multiformats/hashes/digest'
import { sha256 } from 'multiformats/hashes/sha2'
import { DHT_PROTOCOL } from '../../src/node/host.js'
import type { PeerLinkNode } from '../../src/node/peerlink.js'
import { peerKey, placeOf, recordStored, routingKey, routingTableSize, writeProviderRecords } from '../../src/routing/kad-compat.js'
import { Message } from '../../src/routing/pb/dht.js'
import { startNetwork, waitForRoutingTables, waitUntil, type TestNetwork } from '../helpers/network.js'
import { holdsRecord } from './holds-record.js'

/** A module of kad-dht's build that its package does not export, by its path under dist/src. */
async function kadInternal<T> (path: string): Promise<T> {
  return await import(new URL(path, import.meta.resolve('@libp2p/kad-dht')).href) as T
}

interface KadMessage { type: string, key?: Uint8Array, providers: Array<{ id: Uint8Array, multiaddrs: Uint8Array[] }> }
interface KadMessageModule { Message: { decode: (buf: Uint8Array) => KadMessage } }
interface Handler { handle: (from: PeerId, msg: KadMessage) => Promise<KadMessage | undefined> }

const randomPeer = async (): Promise<PeerId> => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
const randomRoot = async (): Promise<CID> => CID.createV1(raw.code, await sha256.digest(randomBytes(32)))
const quietLogger = { forComponent: () => Object.assign(() => {}, { error: () => {}, trace: () => {} }) }
const BLAKE3 = 0x1e

describe('kad-dht compatibility: its code', () => {
  it('places a lookup key at the SHA-256 of the key', async () => {
    const { convertBuffer } = await kadInternal<{ convertBuffer: (key: Uint8Array) => Promise<Uint8Array> }>('./utils.js')
    for (const key of [randomBytes(34), randomBytes(8), routingKey(await randomRoot()).multihash.bytes]) {
      expect(Buffer.from(await convertBuffer(key))).to.deep.equal(placeOf(key))
    }
  })

  it('places a peer at the SHA-256 of its id multihash', async () => {
    const { convertPeerId } = await kadInternal<{ convertPeerId: (peer: PeerId) => Promise<Uint8Array> }>('./utils.js')
    const peer = await randomPeer()
    expect(Buffer.from(await convertPeerId(peer))).to.deep.equal(peerKey(peer))
  })

  it('reads the ADD_PROVIDER and PING that PeerLink writes as its own messages', async () => {
    const { Message: KadMessage } = await kadInternal<KadMessageModule>('./message/dht.js')
    const key = routingKey(await randomRoot()).multihash.bytes
    const provider = { id: (await randomPeer()).toMultihash().bytes, addrs: [multiaddr('/ip4/10.0.0.1/tcp/4001').bytes] }
    const add = KadMessage.decode(Message.encode({ type: Message.MessageType.ADD_PROVIDER, key, providerPeers: [provider] }))
    expect(add.type).to.equal('ADD_PROVIDER')
    expect(add.key).to.deep.equal(key)
    expect(add.providers).to.have.length(1)
    expect(add.providers[0].id).to.deep.equal(provider.id)
    expect(add.providers[0].multiaddrs).to.deep.equal(provider.addrs)
    expect(KadMessage.decode(Message.encode({ type: Message.MessageType.PING, key: new Uint8Array(0), providerPeers: [] })).type).to.equal('PING')
  })

  it('stores a record under a routing key from its sender, and refuses a BLAKE3 multihash as key', async () => {
    const { Message: KadMessage } = await kadInternal<KadMessageModule>('./message/dht.js')
    const { AddProviderHandler } = await kadInternal<{ AddProviderHandler: new (components: unknown, init: unknown) => Handler }>('./rpc/handlers/add-provider.js')
    const stored: Array<{ cid: CID, provider: PeerId }> = []
    const providers = { addProvider: async (cid: CID, provider: PeerId) => { stored.push({ cid, provider }) } }
    const [self, sender, other] = await Promise.all([randomPeer(), randomPeer(), randomPeer()])
    const handler = new AddProviderHandler({ peerId: self, peerStore: { merge: async () => {} }, logger: quietLogger }, { providers, logPrefix: 'test' })
    const root = await randomRoot()
    const addrs = [multiaddr('/ip4/10.0.0.1/tcp/4001').bytes]
    const add = (key: Uint8Array, from: PeerId, a = addrs): KadMessage =>
      KadMessage.decode(Message.encode({ type: Message.MessageType.ADD_PROVIDER, key: key as Uint8Array<ArrayBuffer>, providerPeers: [{ id: from.toMultihash().bytes, addrs: a }] }))
    expect(await handler.handle(sender, add(routingKey(root).multihash.bytes, sender))).to.equal(undefined)
    expect(stored).to.have.length(1)
    expect(stored[0].provider.equals(sender)).to.equal(true)
    // Stored under the key kad-dht's findProviders(routingKey(root)) looks for.
    expect(stored[0].cid.multihash.bytes).to.deep.equal(routingKey(root).multihash.bytes)
    // A provider other than the sender, or one with no addresses, is ignored.
    await handler.handle(sender, add(routingKey(root).multihash.bytes, other))
    await handler.handle(sender, add(routingKey(root).multihash.bytes, sender, []))
    expect(stored).to.have.length(1)
    const blake3 = Digest.create(BLAKE3, randomBytes(32)).bytes
    const err = await handler.handle(sender, add(blake3, sender)).then(() => undefined, (e: Error) => e)
    expect(err?.message).to.equal('Invalid CID')
  })

  it('echoes a PING as it came', async () => {
    const { PingHandler } = await kadInternal<{ PingHandler: new (components: unknown, init: unknown) => Handler }>('./rpc/handlers/ping.js')
    const ping: KadMessage = { type: 'PING', providers: [] }
    expect(await new PingHandler({ logger: quietLogger }, { logPrefix: 'test' }).handle(await randomPeer(), ping)).to.deep.equal(ping)
  })
})

describe('kad-dht compatibility: a network of real nodes', function () {
  this.timeout(60_000)
  let net: TestNetwork
  let nodes: PeerLinkNode[]
  const dhtOf = (n: PeerLinkNode): KadDHT => n.network.host.services.dht

  before(async () => {
    net = await startNetwork(4)
    nodes = net.nodes
    await waitForRoutingTables(nodes, 3, 20_000)
  })
  after(async () => { await net?.stop() })

  it('keeps the routing table, with its size, on the DHT service', () => {
    for (const n of nodes) expect(routingTableSize(dhtOf(n))).to.equal(3)
    expect(routingTableSize({} as unknown as KadDHT)).to.equal(0)
  })

  it('ends a closest-peers lookup with the peers that answered as FINAL_PEER events, nearest first', async () => {
    const [asker, ...others] = nodes
    const key = routingKey(await randomRoot()).multihash.bytes
    const finals: string[] = []
    for await (const e of dhtOf(asker).getClosestPeers(key, { signal: AbortSignal.timeout(20_000) })) {
      if (e.name === 'FINAL_PEER') finals.push(e.peer.id.toString())
    }
    const place = placeOf(key)
    const distance = (n: PeerLinkNode): Buffer => Buffer.from(peerKey(n.network.peerId).map((b, i) => b ^ place[i]))
    const expected = [...others].sort((a, b) => Buffer.compare(distance(a), distance(b))).map(n => n.network.peerId.toString())
    expect(finals).to.deep.equal(expected)
  })

  it('stores every ADD_PROVIDER on a stream before it echoes the PING that follows them', async () => {
    const [provider, peer] = nodes
    const roots = await Promise.all(Array.from({ length: 50 }, randomRoot))
    const stream = await provider.network.host.dialProtocol(peer.network.peerId, DHT_PROTOCOL)
    const self = { id: provider.network.peerId, addresses: provider.network.host.getMultiaddrs() }
    await writeProviderRecords(stream, roots.map(r => routingKey(r).multihash.bytes), self, { signal: AbortSignal.timeout(20_000) })
    for (const root of roots) expect(await holdsRecord(peer, root, provider), root.toString()).to.equal(true)
  })

  it('reports each peer that took a provide\'s record as a PEER_RESPONSE to ADD_PROVIDER', async () => {
    const [provider, ...others] = nodes
    const root = await randomRoot()
    let stored = 0
    try {
      for await (const e of dhtOf(provider).provide(routingKey(root), { signal: AbortSignal.timeout(20_000) })) if (recordStored(e)) stored++
    } finally {
      await dhtOf(provider).cancelReprovide(routingKey(root))
    }
    expect(stored).to.equal(others.length)
    // ADD_PROVIDER has no answer: the event comes once the message is written, and the peer
    // stores the record a moment later.
    const holders = async (): Promise<number> => (await Promise.all(others.map(async n => await holdsRecord(n, root, provider)))).filter(Boolean).length
    await waitUntil(async () => await holders() === others.length, 5000, 'every peer that took the record holds it').catch(() => {})
    expect(await holders()).to.equal(others.length)
  })

  it('keeps a record of its own for a root it provided, until cancelReprovide', async () => {
    const [provider] = nodes
    const root = await randomRoot()
    for await (const e of dhtOf(provider).provide(routingKey(root), { signal: AbortSignal.timeout(20_000) })) void e
    expect(await holdsRecord(provider, root, provider)).to.equal(true)
    await dhtOf(provider).cancelReprovide(routingKey(root))
    expect(await holdsRecord(provider, root, provider)).to.equal(false)
  })
})
