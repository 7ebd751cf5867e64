// Spreading over real nodes on loopback (each with its own repo, libp2p host, DHT and
// LevelDB): offers, placement on k + m distinct holders, a refusal past an offer, holder-side
// and per-block repair, and a lease that is not renewed going at gc. The owner and m holders
// of every stripe gone, a fetch by CID alone and the owner's repair are tested on a tree in
// spread-tree.spec.ts and on a file with 12 daemons in test/cli/spread.spec.ts.
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'chai'
import { CID } from 'multiformats/cid'
import { PeerLinkNode } from '../../src/node/peerlink.js'
import { fileLayout } from '../../src/storage/layout.js'
import { spreadFile } from '../../src/storage/spread.js'
import { ask, StorageMessage } from '../../src/storage/wire.js'
import { ProtocolError } from '../../src/errors.js'
import { bootstrapFrom, randomFile, waitUntil } from '../helpers/network.js'
import { tempDir } from '../helpers/repo.js'
import { CHUNK, K, killable, M, spreadNetwork, startPeer } from '../helpers/spread.js'

describe('storage: spreading over peers', function () {
  this.timeout(200_000)
  let dir: { path: string, cleanup: () => Promise<void> }
  const nodes: PeerLinkNode[] = []
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map(async n => await n.stop().catch(() => {})))
    await dir?.cleanup()
  })

  async function network (holders: number, offer: number | number[], repairInterval = 0, holderInterval = 0): Promise<{ owner: PeerLinkNode, holders: PeerLinkNode[] }> {
    dir = await tempDir('peerlink-spread-')
    return await spreadNetwork(dir.path, nodes, holders, offer, repairInterval, holderInterval)
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
    // Each block sent once: the stripes' blocks, and three copies of each DAG node.
    const layout = await fileLayout(owner.blockstore, added.cid)
    const blockBytes = layout.stripes.flatMap(s => s.blocks).reduce((a, b) => a + b.size, 0)
    expect(r.bytesSent).to.equal(blockBytes + 3 * layout.nodes.reduce((a, n) => a + n.size, 0))
    const status = await owner.spreadStatus(added.cid)
    expect(status.health).to.equal('healthy')
    const byId = new Map(holders.map(h => [h.network.peerId.toString(), h]))
    for (const s of r.stripes) {
      for (const h of s.holders) expect(byId.has(h)).to.equal(true)
    }
    const providers = await holders[0].network.findProviders(CID.parse(added.cid.toString()), { limit: 20 })
    expect(providers.length).to.be.greaterThan(1)
  })

  it('with the owner away, the holders repair the stripes of a tree that lost m holders from any k blocks on the network, under leases in the owner\'s name', async () => {
    const { owner, holders } = await network(11, 64 * 1024 * 1024, 0, 300)
    // A tree of two files: the holders number its stripes across the tree as the owner did.
    await mkdir(join(dir.path, 'tree'))
    await randomFile(join(dir.path, 'tree'), 'a.bin', 11 * CHUNK + 5000)
    await randomFile(join(dir.path, 'tree'), 'b.bin', 5 * CHUNK)
    const added = await owner.add(join(dir.path, 'tree'), { recursive: true })
    // The holders take over an eighth into the term (2/3 by default), 15 s in, which leaves
    // 105 s to repair in before the leases end: a holder's first round finds the root's DAG
    // nodes through the DHT, 8 s or more on a loaded machine, and a HOLD to a holder not yet
    // seen gone waits for the next.
    for (const h of holders) h.network.storage.takeOverAfter = 0.125
    const r = await owner.spread(added.cid, { lease: 120_000 })
    expect(r.distinct).to.equal(K + M)
    const layout = await fileLayout(owner.blockstore, added.cid)
    const ownerId = owner.network.peerId.toString()
    const { killed, lost } = killable(r, holders.map(x => x.network.peerId.toString()))
    expect([...lost.values()].some(n => n === M), 'some stripe lost m holders').to.equal(true)
    const survivors = holders.filter(h => !killed.includes(h.network.peerId.toString()))
    await owner.stop()
    for (const h of holders) if (!survivors.includes(h)) await h.stop()
    const before = new Map(survivors.map(h => [h, new Set(Object.keys(h.network.storage.holder.leases().find(l => l.root === added.cid.toString())?.blocks ?? {}))]))

    // Every stripe back on k + m distinct live holders, each block stored there under a lease.
    const healthy = async (): Promise<boolean> => {
      for (const s of layout.stripes) {
        const where = await Promise.all(survivors.map(async h => {
          const leased = h.network.storage.holder.leases().find(l => l.root === added.cid.toString())?.blocks ?? {}
          const stored = await h.blockstore.hasMany(s.blocks.map(b => b.cid))
          return s.blocks.map((b, j) => stored[j] && leased[b.cid.toString()] !== undefined)
        }))
        if (s.blocks.some((_, j) => !where.some(w => w[j]))) return false
        if (where.filter(w => w.some(x => x)).length < s.blocks.length) return false
      }
      return true
    }
    expect(await healthy()).to.equal(false)
    // What each survivor's upkeep rounds of the root found, for a timeout's message.
    const upkeep = (): string => survivors.map(h => {
      const cared = h.network.storage.rounds.flatMap(x => x.cared.filter(c => c.root === added.cid.toString()))
      const last = cared.at(-1)
      return `${h.network.peerId.toString().slice(-6)}: ${cared.length} recent rounds, ${cared.reduce((a, c) => a + c.blocks, 0)} blocks placed${last === undefined ? '' : `, last watched ${last.watched} degraded ${last.degraded} repaired ${last.repaired} lost ${last.lost}`}`
    }).join('; ')
    await waitUntil(healthy, 100_000, 'every stripe on k + m live holders again', 500).catch((err: Error) => { throw new Error(`${err.message} (${upkeep()})`) })
    // The new blocks are leased in the owner's name, until the owner's leases end.
    const grown = survivors.filter(h => {
      const lease = h.network.storage.holder.leases().find(l => l.root === added.cid.toString())
      return lease !== undefined && Object.keys(lease.blocks).some(c => !(before.get(h)?.has(c) ?? false))
    })
    expect(grown.length).to.be.greaterThan(0)
    for (const h of grown) {
      const lease = h.network.storage.holder.leases().find(l => l.root === added.cid.toString())
      expect(lease?.owner).to.equal(ownerId)
      expect(lease?.expires).to.equal(r.expires)
    }
    // One caretaker per stripe: the blocks leased anew are the blocks lost, each once.
    const fresh = grown.reduce((a, h) => {
      const lease = h.network.storage.holder.leases().find(l => l.root === added.cid.toString())
      return a + Object.keys(lease?.blocks ?? {}).filter(c => !(before.get(h)?.has(c) ?? false)).length
    }, 0)
    expect(fresh).to.equal([...lost.values()].reduce((a, b) => a + b, 0))
    // A holder's status of the root: every stripe healthy on k + m distinct holders.
    const status = await grown[0].spreadStatus(added.cid)
    expect(status.health).to.equal('healthy')
    for (const st of status.stripes) expect(st.distinct).to.equal(st.shards)
  })

  it('a holder that lost one block loses only that block to a new holder, and keeps the rest of the root', async () => {
    const { owner, holders } = await network(8, 64 * 1024 * 1024, 500)
    const file = await randomFile(dir.path, 'file.bin', 12 * CHUNK + 1000)
    const added = await owner.add(file.path)
    const r = await owner.spread(added.cid)
    expect(r.distinct).to.equal(K + M)
    const layout = await fileLayout(owner.blockstore, added.cid)
    // The holder of the most stripes' blocks loses its block of the first such stripe.
    const count = (p: string): number => r.stripes.filter(s => s.holders.includes(p)).length
    const victim = r.stripes[0].holders.reduce((a, b) => count(b) > count(a) ? b : a)
    const first = r.stripes.findIndex(s => s.holders.includes(victim))
    const slot = r.stripes[first].holders.indexOf(victim)
    const h = holders.find(x => x.network.peerId.toString() === victim)
    if (h === undefined) throw new Error('the holder is not in the network')
    const kept = r.stripes.flatMap((s, i) => s.holders.flatMap((x, j) => x === victim && !(i === first && j === slot) ? [layout.stripes[i].blocks[j].cid.toString()] : []))
    expect(kept.length, 'the holder holds blocks of other stripes too').to.be.greaterThan(0)
    await h.blockstore.delete(CID.parse(layout.stripes[first].blocks[slot].cid.toString()))

    await waitUntil(async () => (await owner.spreadStatus(added.cid)).repairs.length > 0, 30_000, 'the repair recorded', 250)
    await waitUntil(async () => (await owner.spreadStatus(added.cid)).health === 'healthy', 30_000, 'the file healthy again', 250)
    const status = await owner.spreadStatus(added.cid)
    expect(status.repairs.reduce((a, x) => a + x.blocks, 0)).to.equal(1)
    expect(status.stripes[first].holders.map(x => x.peer)).to.not.include(victim)
    for (const c of kept) expect(await h.blockstore.has(CID.parse(c))).to.equal(true)
    const still = status.stripes.filter(s => s.holders.some(x => x.peer === victim)).length
    expect(still, 'the holder keeps its place in the other stripes').to.equal(kept.length)
  })

  it('a stripe placed on fewer holders than its blocks is spread out by a repair round once more holders offer space, moving only the shared shards', async () => {
    const { owner } = await network(3, 64 * 1024 * 1024, 500)
    const file = await randomFile(dir.path, 'file.bin', 8 * CHUNK + 1000)
    const added = await owner.add(file.path)
    const r = await owner.spread(added.cid)
    expect(r.distinct).to.equal(3)
    const before = r.stripes.map(s => [...s.holders])
    const boot = bootstrapFrom([owner])
    const more = await Promise.all([0, 1, 2].map(async i => await startPeer(join(dir.path, `late${i}`), boot, 64 * 1024 * 1024)))
    nodes.push(...more)
    await waitUntil(async () => {
      const status = await owner.spreadStatus(added.cid)
      return status.health === 'healthy' && status.stripes.every(s => s.distinct === s.shards)
    }, 60_000, 'every stripe on distinct holders', 250)
    const status = await owner.spreadStatus(added.cid)
    const late = new Set(more.map(n => n.network.peerId.toString()))
    status.stripes.forEach((s, i) => {
      const now = s.holders.flatMap(h => h.shards.map(j => [j, h.peer] as const)).sort((a, b) => a[0] - b[0]).map(([, h]) => h)
      // The first shard a holder had in a stripe stays; only a holder's further shards moved, each to a new holder.
      now.forEach((h, j) => {
        if (before[i].indexOf(before[i][j]) === j) expect(h, `stripe ${i} shard ${j}`).to.equal(before[i][j])
        else expect(late.has(h), `stripe ${i} shard ${j} went to a new holder`).to.equal(true)
      })
    })
    // The round records its moves once every new holder has answered, a moment after the blocks are there.
    await waitUntil(async () => (await owner.spreadStatus(added.cid)).repairs.some(x => x.blocks > 0), 30_000, 'the moves recorded', 250)
  })

  it('a holder past its offer refuses with the reason, and the owner places its blocks on the next closest holders', async () => {
    const big = 64 * 1024 * 1024
    const { owner, holders } = await network(8, [100 * 1024, big, big, big, big, big, big, big])
    const added = await owner.add((await randomFile(dir.path, 'file.bin', 32 * CHUNK)).path)
    const storage = owner.network.storage
    const small = holders[0].network.peerId.toString()
    const refused = await storage.owner.hold(small, added.cid, [{ cid: added.cid.toString(), size: 1024 * 1024 }], Date.now() + 60_000)
    expect(refused).to.deep.equal({ ok: false, reason: 'this node offers 102400 bytes to others, holds 0 and this lease needs 1048576 more' })

    // Offers as the owner saw them before the small holder filled up: it refuses, and its blocks go elsewhere.
    const stale = (await storage.owner.findHolders()).map(h => h.id === small ? { ...h, free: 1024 ** 4 } : h)
    const layout = await fileLayout(owner.blockstore, added.cid)
    const { record, refused: why } = await spreadFile(storage.owner, added.cid, layout, stale, { lease: 60_000 })
    expect(why.map(w => w.holder)).to.deep.equal([small])
    expect(why[0].reason).to.match(/^this node offers 102400 bytes to others, holds 0 and this lease needs \d+ more$/)
    for (const st of record.stripes) {
      expect(st.holders).to.not.include(small)
      expect(new Set(st.holders).size).to.equal(K + M)
    }
    for (const n of record.nodes) expect(n.holders).to.not.include(small)
    expect(holders[0].network.storage.holder.free()).to.equal(100 * 1024)
  })

  it('keeps leased blocks through gc until the lease ends unrenewed, then gc takes them; rm releases a lease at once', async () => {
    const { owner, holders } = await network(6, 64 * 1024 * 1024)
    const a = await owner.add((await randomFile(dir.path, 'a.bin', 4 * CHUNK)).path)
    const b = await owner.add((await randomFile(dir.path, 'b.bin', 4 * CHUNK)).path)
    await owner.spread(b.cid)
    // A term long enough to outlast the spread and the first gc on a loaded machine.
    const spreadA = await owner.spread(a.cid, { lease: 10_000 })
    const holderOf = (id: string): PeerLinkNode => holders.find(h => h.network.peerId.toString() === id) as PeerLinkNode
    const h = holderOf(spreadA.stripes[0].holders[0])
    const block = CID.parse((await fileLayout(owner.blockstore, a.cid)).stripes[0].blocks[0].cid.toString())
    await h.gc()
    expect(Date.now()).to.be.lessThan(spreadA.expires)
    expect(await h.blockstore.has(block)).to.equal(true)
    await waitUntil(() => Date.now() > spreadA.expires, 20_000, 'the lease to run out')
    const gc = await h.gc()
    expect(gc.removedBlocks).to.be.greaterThan(0)
    expect(await h.blockstore.has(block)).to.equal(false)

    await owner.rm(b.cid)
    for (const x of holders) {
      await x.gc()
      expect(await x.blockstore.has(CID.parse(b.cid.toString()))).to.equal(false)
    }
  })

  it('the owner daemon renews the leases of what it still pins, so they outlive their first term', async () => {
    const { owner, holders } = await network(6, 64 * 1024 * 1024, 300)
    const added = await owner.add((await randomFile(dir.path, 'a.bin', 4 * CHUNK)).path)
    // Renewed at half the term: 4 s of slack for a loaded machine.
    const r = await owner.spread(added.cid, { lease: 8000 })
    const h = holders.find(x => x.network.peerId.toString() === r.stripes[0].holders[0]) as PeerLinkNode
    const block = CID.parse((await fileLayout(owner.blockstore, added.cid)).stripes[0].blocks[0].cid.toString())
    await waitUntil(() => Date.now() > r.expires + 500, 20_000, 'the first term to pass')
    await h.gc()
    expect(await h.blockstore.has(block)).to.equal(true)
    const lease = h.network.storage.holder
    expect(lease.free()).to.be.lessThan(64 * 1024 * 1024)
    expect((await owner.spreadStatus(added.cid)).expires).to.be.greaterThan(r.expires)
  })

  it('refuses a malformed storage request with a clear reason, and an oversized one at the stream', async () => {
    const { owner, holders } = await network(1, 1024 * 1024)
    const added = await owner.add((await randomFile(dir.path, 'file.bin', 1000)).path)
    const peer = holders[0].network.peerId
    const T = StorageMessage.Type
    const hold = async (fields: Partial<{ cids: Uint8Array[], bytes: bigint, expires: bigint, type: StorageMessage.Type }>): Promise<string> => {
      const answer = await ask(owner.network.host, peer, { type: T.HOLD, root: added.cid.bytes, cids: [added.cid.bytes], bytes: 1000n, expires: BigInt(Date.now() + 60_000), ...fields }, { timeout: 10_000 })
      expect(answer.type).to.equal(T.REFUSED)
      return answer.reason
    }
    expect(await hold({ cids: [] })).to.equal('a HOLD names no blocks')
    expect(await hold({ expires: 1000n })).to.equal('a lease ends between now and 365 days from now, not at 1000')
    expect(await hold({ bytes: 3n * 1024n * 1024n })).to.equal('1 blocks cannot hold 3145728 bytes')
    expect(await hold({ cids: [new Uint8Array([1, 2, 3])] })).to.match(/^block 0 is not a CID: /)
    expect(await hold({ type: T.OFFER })).to.equal('OFFER is not a storage request')
    const flood = Array.from({ length: 5000 }, () => added.cid.bytes)
    try {
      await ask(owner.network.host, peer, { type: T.HAS, root: added.cid.bytes, cids: flood }, { timeout: 10_000 })
      expect.fail('answered')
    } catch (err) {
      // The holder resets the stream at the decoder's bound, answering nothing.
      expect(err).to.be.instanceOf(ProtocolError)
      expect((err as Error).message).to.equal('the stream ended before its storage message')
    }
    // Nothing was leased by any of it.
    expect(holders[0].network.storage.holder.free()).to.equal(1024 * 1024)
  })
})
