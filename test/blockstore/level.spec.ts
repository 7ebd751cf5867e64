// The LevelDB blockstore: storage, usage accounting, pins, garbage collection, the verifying
// door, and the repo lock.
import { randomBytes } from 'node:crypto'
import { mkdir, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import * as dagCbor from '@ipld/dag-cbor'
import { expect } from 'chai'
import { LevelBlockstore, VerifyingBlockstore } from '../../src/blockstore/index.js'
import { cidOf } from '../../src/hash/index.js'
import { tempStore } from '../helpers/repo.js'

async function rejection (p: Promise<unknown>): Promise<Error> {
  try { await p } catch (err) { return err as Error }
  throw new Error('expected a rejection')
}

const block = (n: number): { cid: ReturnType<typeof cidOf>, bytes: Buffer } => { const bytes = randomBytes(n); return { cid: cidOf(bytes), bytes } }

describe('blockstore/level', () => {
  let store: LevelBlockstore
  let path: string
  let cleanup: () => Promise<void>
  beforeEach(async () => { ({ store, path, cleanup } = await tempStore()) })
  afterEach(async () => { await cleanup() })

  it('stores, reads, lists and deletes blocks, counting usage once per distinct block', async () => {
    const a = block(1000)
    const b = block(2000)
    await store.put(a.cid, a.bytes)
    await store.putMany([a, b, b])
    expect(await store.usage()).to.deep.equal({ bytes: 3000, blocks: 2 })
    expect(Buffer.from(await store.get(b.cid)).equals(b.bytes)).to.equal(true)
    expect(await store.has(a.cid)).to.equal(true)
    const c = block(10)
    const got = []
    for await (const x of store.getMany([a.cid, c.cid, b.cid])) got.push(x.bytes?.byteLength)
    expect(got).to.deep.equal([1000, undefined, 2000])
    expect((await rejection(store.get(c.cid))).name).to.equal('BlockNotFoundError')
    await store.delete(a.cid)
    await store.delete(a.cid)
    expect(await store.usage()).to.deep.equal({ bytes: 2000, blocks: 1 })
  })

  it('keeps what pins reach and collects the rest, sparing held blocks', async () => {
    const leaf1 = block(100)
    const leaf2 = block(200)
    const loose = block(300)
    const held = block(400)
    const inner = dagCbor.encode({ links: [leaf1.cid, { deep: [leaf2.cid] }] })
    const innerCid = cidOf(inner, dagCbor.code)
    const root = dagCbor.encode({ child: innerCid, name: 'r' })
    const rootCid = cidOf(root, dagCbor.code)
    await store.putMany([leaf1, leaf2, loose, held, { cid: innerCid, bytes: inner }, { cid: rootCid, bytes: root }])
    await store.pin(rootCid, { name: 'r', size: 300, type: 'file' })
    const release = store.hold([held.cid])
    const r1 = await store.gc()
    expect(r1).to.deep.equal({ removedBlocks: 1, removedBytes: 300, kept: 5 })
    expect(await store.has(loose.cid)).to.equal(false)
    release()
    expect((await store.gc()).removedBlocks).to.equal(1)
    expect((await store.listPins()).map(p => p.name)).to.deep.equal(['r'])
    expect(await store.unpin(rootCid)).to.equal(true)
    expect(await store.unpin(rootCid)).to.equal(false)
    expect(await store.gc()).to.deep.equal({ removedBlocks: 4, removedBytes: 300 + inner.length + root.length, kept: 0 })
    expect(await store.usage()).to.deep.equal({ bytes: 0, blocks: 0 })
  })

  it('removes block files that no index entry names, keeping indexed ones', async () => {
    const kept = block(100_000)
    await store.put(kept.cid, kept.bytes)
    await store.pin(kept.cid, { name: 'k', size: 100_000, type: 'file' })
    const orphan = block(100_000)
    const id = orphan.cid.toString()
    await mkdir(join(path, 'blocks', 'data', id.slice(-2)), { recursive: true })
    await writeFile(join(path, 'blocks', 'data', id.slice(-2), id), orphan.bytes)
    await writeFile(join(path, 'blocks', 'data', id.slice(-2), 'not-a-cid.tmp'), 'junk')
    const r = await store.gc()
    expect(r.removedBlocks).to.equal(2)
    expect(r.removedBytes).to.equal(100_000 + 'junk'.length)
    expect(await readdir(join(path, 'blocks', 'data', id.slice(-2)))).to.not.include(id)
    expect(Buffer.from(await store.get(kept.cid)).equals(kept.bytes)).to.equal(true)
    expect(await store.usage()).to.deep.equal({ bytes: 100_000, blocks: 1 })
  })

  it('never shows a block file half-written while it is written again (a kill then would leave it so)', async () => {
    // Repair rewrites a stored block's file, and two puts racing for one block both write
    // it; the index names the file all the while, so a reader (or a crash) must never
    // meet it short.
    const big = block(2 * 1024 * 1024)
    await store.put(big.cid, big.bytes)
    let torn = 0
    for (let i = 0; i < 40; i++) {
      const reads = Array.from({ length: 8 }, async () => Buffer.from(await store.get(big.cid)).equals(big.bytes))
      const [, ...same] = await Promise.all([store.replaceMany([big]), ...reads])
      torn += same.filter(ok => !ok).length
    }
    expect(torn, 'reads that met a partly written file').to.equal(0)
    expect(await store.usage()).to.deep.equal({ bytes: big.bytes.length, blocks: 1 })
  })

  it('lets no block through the verifying door unless it matches its CID; a bad batch stores nothing', async () => {
    const door = new VerifyingBlockstore(store)
    const good = block(5000)
    const liar = { cid: good.cid, bytes: randomBytes(5000) }
    expect((await rejection(door.put(liar.cid, liar.bytes))).name).to.equal('HashMismatchError')
    const other = block(10)
    expect((await rejection(door.putMany([other, liar]))).name).to.equal('HashMismatchError')
    expect(await store.has(other.cid)).to.equal(false)
    await door.putMany([good, other])
    expect(await store.usage()).to.deep.equal({ bytes: 5010, blocks: 2 })
  })

  it('refuses a second opener of the same repo with a clear error', async () => {
    const second = new LevelBlockstore(join(path, 'blocks'))
    const err = await rejection(second.open())
    expect(err.name).to.equal('RepoLockedError')
    expect(err.message).to.match(/in use by another process/)
  })
})
