// Packs: large blocks with a place stored at their offset in one data file per pack, read
// back, repaired loose, completed for an output to link, and collected when nothing uses them.
import { randomBytes } from 'node:crypto'
import { readdir, readFile, readlink, stat, truncate, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import * as dagCbor from '@ipld/dag-cbor'
import { expect } from 'chai'
import { LevelBlockstore, VerifyingBlockstore } from '../../src/blockstore/index.js'
import { cidOf } from '../../src/hash/index.js'
import { tempStore } from '../helpers/repo.js'

const KiB = 1024
const CHUNK = 128 * KiB
const PACK = 'bafkpacktest'

async function rejection (p: Promise<unknown>): Promise<Error> {
  try { await p } catch (err) { return err as Error }
  throw new Error('expected a rejection')
}

const chunk = (n = CHUNK): { cid: ReturnType<typeof cidOf>, bytes: Buffer } => { const bytes = randomBytes(n); return { cid: cidOf(bytes), bytes } }

async function filesUnder (dir: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => [])) if (e.isFile()) out.push(e.name)
  return out
}

/** This process's open descriptors on files under `dir`. */
async function openUnder (dir: string): Promise<number> {
  let n = 0
  for (const fd of await readdir('/proc/self/fd')) if ((await readlink(`/proc/self/fd/${fd}`).catch(() => '')).startsWith(dir)) n++
  return n
}

describe('blockstore/packs', () => {
  let store: LevelBlockstore
  let path: string
  let cleanup: () => Promise<void>
  let packFile: string
  beforeEach(async () => {
    ({ store, path, cleanup } = await tempStore())
    packFile = join(path, 'blocks', 'packs', PACK)
  })
  afterEach(async () => { await cleanup() })

  it('stores placed blocks at their offsets in one pack, in any order, and no block file', async () => {
    const a = chunk()
    const b = chunk()
    const tail = chunk(70 * KiB)
    await store.putMany([{ ...tail, place: { pack: PACK, offset: 2 * CHUNK } }])
    await store.putMany([{ ...b, place: { pack: PACK, offset: CHUNK } }, { ...a, place: { pack: PACK, offset: 0 } }])
    const pack = await readFile(packFile)
    expect(pack.equals(Buffer.concat([a.bytes, b.bytes, tail.bytes]))).to.equal(true)
    expect(await filesUnder(join(path, 'blocks', 'data'))).to.deep.equal([])
    expect(Buffer.from(await store.get(b.cid)).equals(b.bytes)).to.equal(true)
    expect(await store.usage()).to.deep.equal({ bytes: 2 * CHUNK + 70 * KiB, blocks: 3 })
  })

  it('does not write a block again that is stored already, and stores a block without a place loose', async () => {
    const a = chunk()
    await store.put(a.cid, a.bytes)
    await store.putMany([{ ...a, place: { pack: PACK, offset: 0 } }])
    expect(await filesUnder(join(path, 'blocks', 'packs'))).to.deep.equal([])
    expect(await filesUnder(join(path, 'blocks', 'data'))).to.deep.equal([a.cid.toString()])
  })

  it('reads what the pack holds now: an edit changes the bytes (the verifying reader finds it), a truncation makes the block missing', async () => {
    const a = chunk()
    const b = chunk()
    await store.putMany([{ ...a, place: { pack: PACK, offset: 0 } }, { ...b, place: { pack: PACK, offset: CHUNK } }])
    const edited = Buffer.from(a.bytes)
    edited[5] ^= 0xff
    await writeFile(packFile, Buffer.concat([edited, b.bytes]))
    expect(Buffer.from(await store.get(a.cid)).equals(edited)).to.equal(true)
    await truncate(packFile, CHUNK + 10)
    expect((await rejection(store.get(b.cid))).name).to.equal('BlockNotFoundError')
    const got = []
    for await (const x of store.getMany([a.cid, b.cid])) got.push(x.bytes?.byteLength)
    expect(got).to.deep.equal([CHUNK, undefined])
  })

  it('repairs a packed block loose, leaving the pack (which an output may share) as it was', async () => {
    const a = chunk()
    await store.putMany([{ ...a, place: { pack: PACK, offset: 0 } }])
    const damaged = Buffer.from(a.bytes)
    damaged[0] ^= 1
    await writeFile(packFile, damaged)
    await store.replaceMany([{ ...a, place: { pack: PACK, offset: 0 } }])
    expect(Buffer.from(await store.get(a.cid)).equals(a.bytes)).to.equal(true)
    expect((await readFile(packFile)).equals(damaged)).to.equal(true)
    expect(await filesUnder(join(path, 'blocks', 'data'))).to.deep.equal([a.cid.toString()])
    expect(await store.usage()).to.deep.equal({ bytes: CHUNK, blocks: 1 })
  })

  it('indexes and counts a block once when a put told it was absent finds it stored (a racing put)', async () => {
    const a = chunk()
    await store.putMany([{ ...a, place: { pack: PACK, offset: 0 } }])
    await store.putMany([{ ...a, place: { pack: PACK, offset: 0 } }, { ...a, place: { pack: PACK, offset: CHUNK } }], { absent: true })
    expect(await store.usage()).to.deep.equal({ bytes: CHUNK, blocks: 1 })
    expect(await store.locate(a.cid)).to.deep.equal({ path: packFile, offset: 0, size: CHUNK })
  })

  it('lets a placed block through the verifying door only when it matches its CID, writing nothing otherwise', async () => {
    const a = chunk()
    const door = new VerifyingBlockstore(store)
    const err = await rejection(door.putMany([{ cid: a.cid, bytes: randomBytes(CHUNK), place: { pack: PACK, offset: 0 } }]))
    expect(err.name).to.equal('HashMismatchError')
    expect(await filesUnder(join(path, 'blocks', 'packs'))).to.deep.equal([])
    expect(await store.has(a.cid)).to.equal(false)
  })

  it('refuses a pack name that could name another path, and a bad offset', async () => {
    const a = chunk()
    for (const place of [{ pack: '../data', offset: 0 }, { pack: '', offset: 0 }, { pack: PACK, offset: -1 }, { pack: PACK, offset: 0.5 }]) {
      const err = await rejection(store.putMany([{ ...a, place }]))
      expect(err.name).to.equal('InvalidArgumentError')
    }
    expect(await store.has(a.cid)).to.equal(false)
  })

  it('completes a pack from blocks stored elsewhere (loose, inline, repeated) to the exact size, without touching the index', async () => {
    const a = chunk()
    const b = chunk()
    const small = chunk(1000)
    await store.put(a.cid, a.bytes) // loose
    await store.putMany([{ ...b, place: { pack: PACK, offset: CHUNK } }, { ...small, place: { pack: PACK, offset: 3 * CHUNK } }])
    const size = 3 * CHUNK + 1000
    // a repeated: stored once (loose), needed at two offsets.
    const file = await store.completePack(PACK, [{ cid: a.cid, offset: 0 }, { cid: b.cid, offset: CHUNK }, { cid: a.cid, offset: 2 * CHUNK }, { cid: small.cid, offset: 3 * CHUNK }], size)
    expect(file).to.equal(packFile)
    expect((await readFile(file)).equals(Buffer.concat([a.bytes, b.bytes, a.bytes, small.bytes]))).to.equal(true)
    expect(await store.usage()).to.deep.equal({ bytes: 2 * CHUNK + 1000, blocks: 3 })
    const missing = chunk()
    expect((await rejection(store.completePack(PACK, [{ cid: missing.cid, offset: 0 }], CHUNK))).name).to.equal('BlockNotFoundError')
  })

  it('renames a pack, moving the entries of the blocks in it, and leaves a pack whose new name is taken', async () => {
    const a = chunk()
    const b = chunk()
    await store.putMany([{ ...a, place: { pack: 'import1', offset: 0 } }, { ...b, place: { pack: 'import1', offset: CHUNK } }])
    await store.renamePack('import1', PACK, [a.cid, b.cid])
    expect(await filesUnder(join(path, 'blocks', 'packs'))).to.deep.equal([PACK])
    expect(Buffer.from(await store.get(b.cid)).equals(b.bytes)).to.equal(true)
    const c = chunk()
    await store.putMany([{ ...c, place: { pack: 'import2', offset: 0 } }])
    await store.renamePack('import2', PACK, [c.cid])
    expect((await filesUnder(join(path, 'blocks', 'packs'))).sort()).to.deep.equal([PACK, 'import2'].sort())
    expect(Buffer.from(await store.get(c.cid)).equals(c.bytes)).to.equal(true)
    expect((await readFile(packFile)).equals(Buffer.concat([a.bytes, b.bytes]))).to.equal(true)
  })

  it('frees a pack in gc once no kept block is in it, and keeps one a pin or a held root still uses', async () => {
    const a = chunk()
    const b = chunk()
    await store.putMany([{ ...a, place: { pack: PACK, offset: 0 } }, { ...b, place: { pack: PACK, offset: CHUNK } }])
    const root = dagCbor.encode({ links: [a.cid] })
    const rootCid = cidOf(root, dagCbor.code)
    await store.put(rootCid, root)
    await store.pin(rootCid, { name: 'r', size: CHUNK, type: 'file' })
    const r1 = await store.gc()
    expect(r1.removedBlocks).to.equal(1) // b: its bytes stay in the pack a keeps
    expect((await stat(packFile)).size).to.equal(2 * CHUNK)
    await store.unpin(rootCid)
    // A fetch writing a pack holds the root it is named after.
    const held = cidOf(Buffer.from('other root'), dagCbor.code)
    const release = store.hold([held])
    const other = chunk()
    const otherPack = held.toString()
    await store.putMany([{ ...other, place: { pack: otherPack, offset: 0 } }])
    await store.gc()
    expect(await filesUnder(join(path, 'blocks', 'packs'))).to.deep.equal([otherPack])
    release()
    await store.gc()
    expect(await filesUnder(join(path, 'blocks', 'packs'))).to.deep.equal([])
    expect(await store.usage()).to.deep.equal({ bytes: 0, blocks: 0 })
  })

  it('writes a pack gc removed while it was open into a new file, not into the removed one', async () => {
    const a = chunk()
    const b = chunk()
    await store.putMany([{ ...a, place: { pack: PACK, offset: 0 } }])
    await store.gc()
    expect(await filesUnder(join(path, 'blocks', 'packs'))).to.deep.equal([])
    await store.putMany([{ ...b, place: { pack: PACK, offset: CHUNK } }])
    expect(Buffer.from(await store.get(b.cid)).equals(b.bytes)).to.equal(true)
    expect((await stat(packFile)).size).to.equal(2 * CHUNK)
  })

  it('keeps a few packs open between writes, closes the rest, and closes all when the store closes', async () => {
    const packs = join(path, 'blocks', 'packs')
    for (let i = 0; i < 7; i++) await store.putMany([{ ...chunk(), place: { pack: `${PACK}${i}`, offset: 0 } }])
    const open = await openUnder(packs)
    expect(open).to.be.within(1, 4) // 128 KiB chunks go through one descriptor each, four packs at most
    await store.close()
    expect(await openUnder(packs)).to.equal(0)
  })
})
