// Spreading a directory root over real nodes on loopback: every file's stripes placed as a
// file's are, numbered across the tree, the directory nodes replicated as DAG nodes; fetch by
// CID alone after the owner and m holders of every stripe are gone, repair to health, `rm`
// releasing every lease; a private tree leaving holders no plaintext.
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { expect } from 'chai'
import { PeerLinkNode } from '../../src/node/peerlink.js'
import { fileLayout } from '../../src/storage/layout.js'
import { waitForRoutingTables, waitUntil, bootstrapFrom } from '../helpers/network.js'
import { markedFile, markerIn, MARKER } from '../helpers/plaintext.js'
import { tempDir } from '../helpers/repo.js'
import { CHUNK, K, killable, M, spreadNetwork, startPeer } from '../helpers/spread.js'

/** top/{a.bin (5 stripes), sub/{b.bin (2 stripes), empty}, c.bin (1 short stripe)}: the tree and its files' bytes by path. */
async function tree (dir: string): Promise<{ path: string, files: Map<string, Buffer> }> {
  const top = join(dir, 'top')
  await mkdir(join(top, 'sub'), { recursive: true })
  const files = new Map<string, Buffer>([
    ['a.bin', randomBytes(20 * CHUNK)],
    [join('sub', 'b.bin'), randomBytes(5 * CHUNK + 777)],
    [join('sub', 'empty'), Buffer.alloc(0)],
    ['c.bin', randomBytes(3000)]
  ])
  for (const [rel, bytes] of files) await writeFile(join(top, rel), bytes)
  return { path: top, files }
}

describe('storage: spreading a directory root', function () {
  this.timeout(240_000)
  let dir: { path: string, cleanup: () => Promise<void> }
  const nodes: PeerLinkNode[] = []
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map(async n => await n.stop().catch(() => {})))
    await dir?.cleanup()
  })

  it('spreads every file of a tree as one root; the owner and m holders of every stripe gone, a fresh node fetches the tree by CID alone; the owner back repairs it; rm releases every lease', async () => {
    dir = await tempDir('peerlink-spread-tree-')
    const { owner, holders } = await spreadNetwork(dir.path, nodes, 11, 64 * 1024 * 1024, 500)
    const t = await tree(dir.path)
    const added = await owner.add(t.path, { recursive: true })
    const r = await owner.spread(added.cid)
    expect(r.refused, JSON.stringify(r.refused)).to.deep.equal([])
    expect(r.distinct).to.equal(K + M)
    // 5 + 2 + 1 stripes across the tree, each on as many distinct holders as it has blocks;
    // every DAG node (directories, manifests, stripe nodes) with 3 copies.
    const layout = await fileLayout(owner.blockstore, added.cid)
    expect(r.stripes).to.have.length(8)
    expect(r.stripes.map(s => new Set(s.holders).size)).to.deep.equal(layout.stripes.map(s => s.blocks.length))
    expect(r.nodes.map(n => n.cid)).to.deep.equal(layout.nodes.map(n => n.cid.toString()))
    for (const n of r.nodes) expect(n.holders).to.have.length(3)
    expect((await owner.spreadStatus(added.cid)).health).to.equal('healthy')

    const { killed, lost } = killable(r, holders.map(x => x.network.peerId.toString()))
    expect([...lost.values()].some(n => n === M), 'some stripe lost m holders').to.equal(true)
    const ownerRepo = owner.repoPath
    await owner.stop()
    const survivors = holders.filter(h => !killed.includes(h.network.peerId.toString()))
    for (const h of holders) if (killed.includes(h.network.peerId.toString())) await h.stop()

    const fresh = await startPeer(join(dir.path, 'fresh'), bootstrapFrom(survivors), 0)
    nodes.push(fresh)
    await waitForRoutingTables([fresh], 2, 20_000)
    const out = join(dir.path, 'out')
    await fresh.fetch(added.cid.toString(), { output: out })
    for (const [rel, bytes] of t.files) expect((await readFile(join(out, rel))).equals(bytes), rel).to.equal(true)

    const back = await PeerLinkNode.open(ownerRepo, { network: true, networkInit: { persistDht: false } })
    nodes.push(back)
    await back.network.connect(survivors[0].network.addresses()[0].toString())
    await waitForRoutingTables([back], 2, 20_000)
    await waitUntil(async () => (await back.spreadStatus(added.cid)).health === 'healthy', 60_000, 'the tree healthy again', 500)
    for (const s of (await back.spreadStatus(added.cid)).stripes) {
      expect(s.distinct).to.equal(s.shards)
      for (const h of s.holders) expect(killed).to.not.include(h.peer)
    }

    await back.rm(added.cid)
    const root = added.cid.toString()
    await waitUntil(async () => survivors.every(h => h.network.storage.holder.leases().every(l => l.root !== root)), 20_000, 'every lease of the tree released')
  })

  it('spreads a private tree as one root: holders store its ciphertext and none of its names or contents', async () => {
    dir = await tempDir('peerlink-spread-private-tree-')
    const { owner, holders } = await spreadNetwork(dir.path, nodes, 6, 64 * 1024 * 1024)
    const top = join(dir.path, `top-${MARKER}`)
    await mkdir(join(top, `sub-${MARKER}`), { recursive: true })
    await markedFile(top, 12)
    await markedFile(join(top, `sub-${MARKER}`), 6)
    const added = await owner.add(top, { recursive: true, private: true })
    const r = await owner.spread(added.cid)
    expect(r.distinct).to.equal(K + M)
    expect(r.stripes.length).to.be.greaterThan(1)
    expect((await owner.spreadStatus(added.cid)).health).to.equal('healthy')
    // Every holder took part, and holds only ciphertext.
    for (const h of holders) expect(h.network.storage.holder.leases().some(l => l.root === added.cid.toString())).to.equal(true)
    await Promise.all(nodes.splice(0).map(async n => { await n.stop() }))
    for (const h of holders) expect(await markerIn(h.repoPath), h.repoPath).to.deep.equal([])
  })
})
