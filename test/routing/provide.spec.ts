// Announcing roots when no DHT peer takes them: the provide says so (kad-dht alone reports
// success), and the node announces the root again by itself once a peer can take it.
// Reproviding: pinned roots announced a keyspace region at a time, removed ones no longer.
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { expect } from 'chai'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import type { PeerLinkNode } from '../../src/node/peerlink.js'
import { DHT_PROTOCOL } from '../../src/node/host.js'
import { dhtKey, peerKey } from '../../src/routing/kad-compat.js'
import { bootstrapFrom, randomFile, startNetwork, startNode, waitForRoutingTables, waitUntil } from '../helpers/network.js'
import { tempDir } from '../helpers/repo.js'
import { holdsRecord, providersNamed } from './holds-record.js'

describe('provide when no DHT peer takes the record', function () {
  this.timeout(60_000)
  let dir: { path: string, cleanup: () => Promise<void> }
  const nodes: PeerLinkNode[] = []
  before(async () => { dir = await tempDir('peerlink-provide-') })
  after(async () => {
    await Promise.all(nodes.map(async n => await n.stop().catch(() => {})))
    await dir.cleanup()
  })

  it('names itself, on a provide that found no DHT peer, to a peer that joins and asks it', async () => {
    const lone = await startNode(join(dir.path, 'lone'))
    nodes.push(lone)
    const f = await randomFile(dir.path, 'alone.bin', 100_000)
    const added = await lone.add(f.path)
    expect(added.provided).to.equal(false)
    expect(await holdsRecord(lone, added.cid, lone)).to.equal(true)
    const asker = await startNode(join(dir.path, 'asker'), bootstrapFrom([lone]))
    nodes.push(asker)
    await waitForRoutingTables([asker], 1)
    expect(await providersNamed(asker, lone, added.cid)).to.deep.equal([lone.network.peerId.toString()])
  })

  it('fails the provide, then announces the root by itself once a peer takes it', async () => {
    const a = await startNode(join(dir.path, 'a'))
    nodes.push(a)
    const b = await startNode(join(dir.path, 'b'), bootstrapFrom([a]))
    nodes.push(b)
    await waitForRoutingTables([a, b], 1)
    // b stays connected and in a's routing table but stops answering the DHT protocol (a
    // peer that is overloaded, or half gone): nobody takes a's record.
    await b.network.host.unhandle(DHT_PROTOCOL)
    const f = await randomFile(dir.path, 'lonely.bin', 300_000)
    const added = await a.add(f.path)
    expect(added.provided).to.equal(false)
    const err = await a.network.provide(added.cid).then(() => undefined, (e: Error) => e)
    expect(err?.name).to.equal('NotAnnouncedError')
    expect(err?.message).to.include(`could not announce ${added.cid.toString()}`)
    expect(err?.message).to.include('no DHT peer took the record')
    // A new peer joins; nobody provides again by hand, yet it finds a as the provider.
    const c = await startNode(join(dir.path, 'c'), bootstrapFrom([a]))
    nodes.push(c)
    let found: string[] = []
    await waitUntil(async () => {
      found = (await c.network.findProviders(added.cid, { timeout: 2000, retries: 0 })).map(p => p.id.toString())
      return found.includes(a.network.peerId.toString())
    }, 20_000, 'c never found a as the provider', 500)
    expect(found).to.include(a.network.peerId.toString())
  })
})

describe('reprovide', function () {
  this.timeout(120_000)

  it('announces roots region by region: few lookups, each record at the K peers closest to its key', async () => {
    const net = await startNetwork(26)
    try {
      const [provider, ...others] = net.nodes
      await waitForRoutingTables(net.nodes, 8, 20_000)
      const roots = await Promise.all(Array.from({ length: 40 }, async () => CID.createV1(raw.code, await sha256.digest(randomBytes(32)))))
      const round = await provider.network.reprovider.provideAll(roots)
      expect(round.failed).to.equal(0)
      expect(round.roots).to.equal(40)
      // One lookup per region of the keyspace, not one per root.
      expect(round.lookups).to.be.at.least(1).and.at.most(6)
      const k = provider.network.routing.k
      expect(round.records).to.equal(40 * k)
      // Every root's record is held by exactly the K nodes closest to its key.
      const byId = new Map(others.map(n => [n.network.peerId.toString(), n]))
      for (const root of roots) {
        const key = dhtKey(root)
        const distance = (n: PeerLinkNode): Buffer => Buffer.from(peerKey(n.network.peerId).map((b, i) => b ^ key[i]))
        const closest = [...others].sort((a, b) => Buffer.compare(distance(a), distance(b))).slice(0, k)
        const holders = []
        for (const n of byId.values()) if (await holdsRecord(n, root, provider)) holders.push(n)
        expect(holders.map(n => n.network.peerId.toString()).sort()).to.deep.equal(closest.map(n => n.network.peerId.toString()).sort(), root.toString())
      }
    } finally {
      await net.stop()
    }
  })

  it('keeps renewing pinned roots and stops announcing a removed one', async () => {
    const dir = await tempDir('peerlink-reprovide-')
    const nodes: PeerLinkNode[] = []
    try {
      // Records live 3 s, are renewed every second and dropped within 0.3 s of expiring.
      const init = { provideValidity: 3000, reprovideInterval: 1000, recordCleanupInterval: 300 }
      const a = await startNode(join(dir.path, 'a'), [], init)
      nodes.push(a)
      for (const name of ['b', 'c']) nodes.push(await startNode(join(dir.path, name), bootstrapFrom([a]), init))
      await waitForRoutingTables(nodes, 2)
      const [, b, c] = nodes
      const kept = await a.add((await randomFile(dir.path, 'kept.bin', 100_000)).path)
      const removed = await a.add((await randomFile(dir.path, 'removed.bin', 100_000)).path)
      expect(kept.provided).to.equal(true)
      expect(removed.provided).to.equal(true)
      const names = async (n: PeerLinkNode, root: CID): Promise<boolean> =>
        (await n.network.findProviders(root, { timeout: 2000, retries: 0 })).some(p => p.id.equals(a.network.peerId))
      expect(await names(b, removed.cid)).to.equal(true)
      await a.rm(removed.cid)
      // Once the removed root's last record has expired it is named by nobody; the kept one,
      // announced before it, would have expired by then too had it not been renewed.
      const forgotten = async (): Promise<boolean> => !(await names(b, removed.cid)) && !(await names(c, removed.cid))
      await waitUntil(forgotten, 10_000, 'the removed root is still named', 200)
      expect(await names(b, kept.cid)).to.equal(true)
      expect(await names(c, kept.cid)).to.equal(true)
    } finally {
      await Promise.all(nodes.map(async n => await n.stop().catch(() => {})))
      await dir.cleanup()
    }
  })
})
