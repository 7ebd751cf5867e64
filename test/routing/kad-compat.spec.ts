// One test for each thing src/routing/kad-compat.ts assumes about @libp2p/kad-dht beyond its
// public types. An upgrade of kad-dht that changes one fails here, by name. The first part
// reads kad-dht's own (unexported) code; the second asks a small network of real nodes.
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PeerId } from '@libp2p/interface'
import type { KadDHT } from '@libp2p/kad-dht'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'chai'
import { LevelDatastore } from 'datastore-level'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import * as Digest from 'multiformats/hashes/digest'
import { sha256 } from 'multiformats/hashes/sha2'
import { DHT_PROTOCOL } from '../../src/node/host.js'
import type { PeerLinkNode } from '../../src/node/peerlink.js'
import { peerKey, placeOf, recordStored, releaseQueries, routingKey, routingTableSize, selfRecords, writeProviderRecords, writeSelfRecord, type SelfRecord } from '../../src/routing/kad-compat.js'
import { Message } from '../../src/routing/pb/dht.js'
import { startNetwork, waitForRoutingTables, waitUntil, type TestNetwork } from '../helpers/network.js'
import { tempDir } from '../helpers/repo.js'
import { holdsRecord, providersNamed } from './holds-record.js'

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

interface ProvidersClass {
  new (components: unknown, init: unknown): {
    addProvider: (key: CID, peer: PeerId, options?: { time?: Date }) => Promise<void>
    removeProvider: (key: CID, peer: PeerId) => Promise<void>
  }
}
interface KadReprovider extends EventTarget { start: () => void, stop: () => void }

async function collectSelf (dht: KadDHT, self: PeerId): Promise<SelfRecord[]> {
  const out: SelfRecord[] = []
  for await (const r of selfRecords(dht, self)) out.push(r)
  return out
}

/** kad-dht's provider store on a LevelDB datastore in a temporary directory, as `KadDHT.providers`. */
async function providerStore (): Promise<{ datastore: LevelDatastore, providers: InstanceType<ProvidersClass>, dht: KadDHT, cleanup: () => Promise<void> }> {
  const { Providers } = await kadInternal<{ Providers: ProvidersClass }>('./providers.js')
  const dir = await tempDir('peerlink-kad-store-')
  const datastore = new LevelDatastore(join(dir.path, 'dht'))
  await datastore.open()
  const providers = new Providers({ datastore, logger: quietLogger }, { logPrefix: 'test', datastorePrefix: '/dht' })
  const cleanup = async (): Promise<void> => { await datastore.close(); await dir.cleanup() }
  return { datastore, providers, dht: { providers } as unknown as KadDHT, cleanup }
}

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

  it('keeps each provider record under its key and provider with the time it was written, where selfRecords reads this node\'s own', async () => {
    const store = await providerStore()
    try {
      const [self, other] = await Promise.all([randomPeer(), randomPeer()])
      const [fresh, old, others] = await Promise.all([randomRoot(), randomRoot(), randomRoot()])
      const before = Date.now()
      await writeSelfRecord(store.dht, self, routingKey(fresh))
      const then = new Date(before - 3_600_000)
      await store.providers.addProvider(routingKey(old), self, { time: then })
      await store.providers.addProvider(routingKey(others), other)
      const own = (await collectSelf(store.dht, self)).sort((a, b) => a.written - b.written)
      expect(own.map(r => r.key.toString())).to.deep.equal([routingKey(old).toString(), routingKey(fresh).toString()])
      expect(own[0].written).to.equal(then.getTime())
      expect(own[1].written).to.be.within(before, Date.now())
      await store.providers.removeProvider(routingKey(old), self)
      expect((await collectSelf(store.dht, self)).map(r => r.key.toString())).to.deep.equal([routingKey(fresh).toString()])
      expect(await collectSelf(store.dht, other)).to.have.length(1)
    } finally {
      await store.cleanup()
    }
  })

  it('announces a record of this node\'s own again by itself only once it has expired (threshold 0), first looking one interval after it starts', async () => {
    const { Reprovider } = await kadInternal<{ Reprovider: new (components: unknown, init: unknown) => KadReprovider }>('./reprovider.js')
    const store = await providerStore()
    const [self, other] = await Promise.all([randomPeer(), randomPeer()])
    const validity = 60_000
    const interval = 300
    const announced: string[] = []
    const reprovider = new Reprovider({ logger: quietLogger, peerId: self, datastore: store.datastore, addressManager: { getAddresses: () => [] } }, {
      logPrefix: 'test',
      metricsPrefix: 'test',
      datastorePrefix: '/dht',
      contentRouting: { provide: async function * (key: CID) { announced.push(key.toString()) } },
      operationMetrics: {},
      threshold: 0,
      validity,
      interval
    })
    try {
      const [fresh, aging, expired, others] = await Promise.all([randomRoot(), randomRoot(), randomRoot(), randomRoot()])
      await store.providers.addProvider(routingKey(fresh), self)
      await store.providers.addProvider(routingKey(aging), self, { time: new Date(Date.now() - validity + 10_000) })
      await store.providers.addProvider(routingKey(expired), self, { time: new Date(Date.now() - validity - 1000) })
      await store.providers.addProvider(routingKey(others), other, { time: new Date(Date.now() - validity - 1000) })
      let firstLook = 0
      reprovider.addEventListener('reprovide:start', () => { firstLook ||= Date.now() })
      const started = Date.now()
      reprovider.start()
      await waitUntil(() => announced.length > 0, 10_000, 'kad-dht announced the expired record')
      // Timers run on libuv's loop time, cached when the loop last woke: one may fire up to a
      // millisecond short of its delay by the wall clock.
      expect(firstLook - started).to.be.at.least(interval - 1)
      await new Promise(resolve => setTimeout(resolve, 100))
      expect(announced).to.deep.equal([routingKey(expired).toString()])
    } finally {
      reprovider.stop()
      await store.cleanup()
    }
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

  it('holds its queries on queryManager.initialQuerySelfHasRun until its first self-query has run, which releaseQueries lets go', async () => {
    // A node with no peer never ends its first self-query, so its hold stays.
    const lone = await startNetwork(1)
    try {
      const dht = dhtOf(lone.nodes[0])
      const manager = (dht as unknown as { queryManager: { initialQuerySelfHasRun?: { promise: Promise<void> } } }).queryManager
      const hold = manager.initialQuerySelfHasRun
      expect(hold?.promise).to.be.instanceOf(Promise)
      releaseQueries(dht)
      expect(manager.initialQuerySelfHasRun).to.equal(undefined)
      await hold?.promise // resolved, so this returns
      releaseQueries(dht) // and again: nothing is held
    } finally {
      await lone.stop()
    }
  })

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
    const before = Date.now()
    for await (const e of dhtOf(provider).provide(routingKey(root), { signal: AbortSignal.timeout(20_000) })) void e
    expect(await holdsRecord(provider, root, provider)).to.equal(true)
    const own = (await collectSelf(dhtOf(provider), provider.network.peerId)).filter(r => r.key.equals(routingKey(root)))
    expect(own).to.have.length(1)
    expect(own[0].written).to.be.within(before, Date.now())
    await dhtOf(provider).cancelReprovide(routingKey(root))
    expect(await holdsRecord(provider, root, provider)).to.equal(false)
  })

  it('answers GET_PROVIDERS with itself, and its addresses, from a record of its own in its provider store', async () => {
    const [holder, asker] = nodes
    const root = await randomRoot()
    const self = holder.network.peerId
    expect(await providersNamed(asker, holder, root)).to.deep.equal([])
    await writeSelfRecord(dhtOf(holder), self, routingKey(root))
    expect(await providersNamed(asker, holder, root)).to.deep.equal([self.toString()])
    expect((await collectSelf(dhtOf(holder), self)).some(r => r.key.equals(routingKey(root)))).to.equal(true)
    await dhtOf(holder).cancelReprovide(routingKey(root))
    expect(await providersNamed(asker, holder, root)).to.deep.equal([])
  })
})
