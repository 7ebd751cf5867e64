// Import and export through a real LevelDB blockstore: round trips, ranges, index nodes,
// rebuild from parity, damage, hostile nodes.
import { randomBytes } from 'node:crypto'
import { readdir, mkdir, writeFile, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import * as dagCbor from '@ipld/dag-cbor'
import { expect } from 'chai'
import type { CID } from 'multiformats/cid'
import type { LevelBlockstore } from '../../src/blockstore/index.js'
import { exportTree, importPath } from '../../src/files/directory.js'
import { exportFile, readManifest, StripeLocator, type BlockSource } from '../../src/files/exporter.js'
import { FORMAT_VERSION, encodeNode } from '../../src/files/format.js'
import { importFile, type ImportOptions } from '../../src/files/importer.js'
import { verifyTree } from '../../src/files/verify.js'
import { cidOf } from '../../src/hash/index.js'
import { collect, tempDir, tempStore } from '../helpers/repo.js'

const CHUNK = 1024
const small: ImportOptions = { chunkSize: CHUNK, k: 3, m: 2, allowSmallChunks: true }

async function rejection (p: Promise<unknown>): Promise<Error> {
  try { await p } catch (err) { return err as Error }
  throw new Error('expected a rejection')
}

function * subsets (n: number, size: number, start = 0, acc: number[] = []): Generator<number[]> {
  if (acc.length === size) { yield acc; return }
  for (let i = start; i < n; i++) yield * subsets(n, size, i + 1, [...acc, i])
}

describe('files', function () {
  let store: LevelBlockstore
  let cleanup: () => Promise<void>
  beforeEach(async () => { ({ store, cleanup } = await tempStore()) })
  afterEach(async () => { await cleanup() })

  const add = async (data: Uint8Array, opts: ImportOptions = small): Promise<CID> => {
    const r = await importFile(store, [data], { name: 'f.bin', ...opts })
    r.release()
    return r.cid
  }

  it('round-trips every size around chunk and stripe boundaries', async () => {
    const k = 3
    for (const size of [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, k * CHUNK - 1, k * CHUNK, k * CHUNK + 1, 7 * k * CHUNK + 5]) {
      const data = randomBytes(size)
      const cid = await add(data)
      expect((await collect(exportFile(store, cid))).equals(data), `size ${size}`).to.equal(true)
      const m = await readManifest(store, cid)
      expect(m.size).to.equal(size)
      expect(m.stripeCount).to.equal(Math.ceil(Math.ceil(size / CHUNK) / k))
    }
  })

  it('round-trips a multi-stripe file with the default 1 MiB chunks, k=10, m=4', async () => {
    const data = randomBytes(23 * 1024 * 1024 + 333)
    // Fed in odd-sized pieces, as a network or pipe would.
    const pieces: Uint8Array[] = []
    for (let i = 0; i < data.length; i += 700_001) pieces.push(data.subarray(i, i + 700_001))
    const r = await importFile(store, pieces, { name: 'big.bin' })
    r.release()
    const m = await readManifest(store, r.cid)
    expect(m).to.include({ chunkSize: 1024 * 1024, stripeCount: 3, name: 'big.bin', mediaType: 'application/octet-stream' })
    expect(m.erasure).to.include({ k: 10, m: 4 })
    expect((await collect(exportFile(store, r.cid))).equals(data)).to.equal(true)
  })

  it('builds index nodes when stripes outgrow one node, and navigates them for ranges', async () => {
    const data = randomBytes(41 * CHUNK + 17) // 42 chunks, k=2: 21 stripes; fanout 3: 3 * 3^2 >= 21
    const cid = await add(data, { ...small, k: 2, m: 1, fanout: 3 })
    const m = await readManifest(store, cid)
    expect(m.stripes.depth).to.equal(2)
    expect(m.stripes.links.length).to.be.at.most(3)
    expect((await collect(exportFile(store, cid))).equals(data)).to.equal(true)
    const locator = new StripeLocator(store, m)
    for (let s = 0; s < m.stripeCount; s++) expect((await locator.node(s)).index).to.equal(s)
    for (let t = 0; t < 30; t++) {
      const offset = Math.floor(Math.random() * data.length)
      const length = Math.floor(Math.random() * 5000)
      expect((await collect(exportFile(store, cid, { offset, length }))).equals(data.subarray(offset, offset + length))).to.equal(true)
    }
  })

  it('reads only the stripes a byte range touches', async () => {
    const data = randomBytes(30 * CHUNK)
    const cid = await add(data)
    const asked: string[] = []
    const counting: BlockSource = {
      get: async (c, o) => { asked.push(c.toString()); return await store.get(c, o) },
      getMany: (cs, o) => { const list = [...cs]; asked.push(...list.map(String)); return store.getMany(list, o) }
    }
    const m = await readManifest(store, cid)
    const stripe4 = await new StripeLocator(store, m).node(4) // chunks 12..14
    asked.length = 0
    const got = await collect(exportFile(counting, cid, { offset: 12 * CHUNK + 10, length: CHUNK }))
    expect(got.equals(data.subarray(12 * CHUNK + 10, 13 * CHUNK + 10))).to.equal(true)
    const dataAsked = asked.filter(a => m.stripeCount > 0 && !a.startsWith('bafyr'))
    expect(dataAsked).to.deep.equal(stripe4.data.slice(0, 2).map(String))
  })

  it('rebuilds a lost chunk without reading any block twice', async () => {
    const data = randomBytes(3 * CHUNK)
    const cid = await add(data)
    const node = await new StripeLocator(store, await readManifest(store, cid)).node(0)
    await store.delete(node.data[1])
    const asked: string[] = []
    const counting: BlockSource = {
      get: async (c, o) => { asked.push(c.toString()); return await store.get(c, o) },
      getMany: (cs, o) => { const list = [...cs]; asked.push(...list.map(String)); return store.getMany(list, o) }
    }
    expect((await collect(exportFile(counting, cid))).equals(data)).to.equal(true)
    expect(asked.length).to.equal(new Set(asked).size)
    expect(asked).to.include(node.parity[0].toString())
    expect(asked).to.not.include(node.parity[1].toString())
  })

  it('exports identical bytes with any m blocks of a stripe deleted, and names what is missing past m', async () => {
    const data = randomBytes(3 * CHUNK + 100) // stripe 0: 3 data + 2 parity; stripe 1: 1 short chunk + 2 parity
    const cid = await add(data)
    const m = await readManifest(store, cid)
    for (const s of [0, 1]) {
      const node = await new StripeLocator(store, m).node(s)
      const all = [...node.data, ...node.parity]
      expect(new Set(all.map(String)).size, 'every block of a stripe is distinct').to.equal(all.length)
      const saved = new Map<string, Uint8Array>()
      for (const c of all) saved.set(c.toString(), await store.get(c))
      for (const lost of subsets(all.length, 2)) {
        for (const i of lost) await store.delete(all[i])
        const events: string[] = []
        const out = await collect(exportFile(store, cid, { onProgress: e => events.push(e.type) }))
        expect(out.equals(data), `stripe ${s} lost ${lost}`).to.equal(true)
        if (lost.some(i => i < node.data.length)) expect(events).to.include('files:export:repaired')
        await store.putMany(all.map(c => ({ cid: c, bytes: saved.get(c.toString()) as Uint8Array })))
      }
      const lost3 = s === 0 ? [0, 1, 3] : [0, 1, 2]
      for (const i of lost3) await store.delete(all[i])
      const err = await rejection(collect(exportFile(store, cid)))
      expect(err.name).to.equal('DataLossError')
      expect(err.message).to.match(new RegExp(`stripe ${s} .*${all[lost3[0]].toString()}`))
      await store.putMany(all.map(c => ({ cid: c, bytes: saved.get(c.toString()) as Uint8Array })))
    }
  })

  it('detects a corrupted stored block, exports around it, and verify repairs it', async () => {
    const data = randomBytes(6 * CHUNK)
    const cid = await add(data)
    const node = await new StripeLocator(store, await readManifest(store, cid)).node(1)
    const good = await store.get(node.data[2])
    const bad = Buffer.from(good)
    bad[5] ^= 0xff
    await store.replaceMany([{ cid: node.data[2], bytes: bad }, { cid: node.parity[0], bytes: randomBytes(CHUNK) }])
    expect((await collect(exportFile(store, cid))).equals(data)).to.equal(true)
    const report = await verifyTree(store, cid, { repair: false })
    expect(report.ok).to.equal(true) // repairable
    expect(report.damaged.map(d => d.reason)).to.deep.equal(['corrupt', 'corrupt'])
    expect(report.repaired).to.deep.equal([])
    const fixed = await verifyTree(store, cid)
    expect(fixed.repaired.map(d => d.what)).to.deep.equal(['root: chunk 5', 'root: stripe 1 parity 0'])
    expect(Buffer.from(await store.get(node.data[2])).equals(good)).to.equal(true)
    const again = await verifyTree(store, cid)
    expect(again.damaged).to.deep.equal([])
  })

  it('reports damage it cannot repair: DAG nodes and stripes past m', async () => {
    const data = randomBytes(7 * CHUNK)
    const cid = await add(data)
    const m = await readManifest(store, cid)
    const locator = new StripeLocator(store, m)
    const s0 = await locator.cid(0)
    await store.delete(s0)
    const s1 = await locator.node(1)
    for (const c of [s1.data[0], s1.data[1], s1.parity[0]]) await store.delete(c)
    const report = await verifyTree(store, cid)
    expect(report.ok).to.equal(false)
    expect(report.unrecoverable.map(d => d.what)).to.deep.equal(['root: stripe 0 node', 'root: chunk 3', 'root: chunk 4', 'root: stripe 1 parity 0'])
    expect((await rejection(collect(exportFile(store, cid)))).name).to.equal('BlockNotFoundError')
  })

  it('refuses roots that are not PeerLink files', async () => {
    const chunk = randomBytes(100)
    await store.put(cidOf(chunk), chunk)
    expect((await rejection(collect(exportFile(store, cidOf(chunk))))).message).to.match(/not dag-cbor/)
    const other = dagCbor.encode({ hello: 'world' })
    const otherCid = cidOf(other, dagCbor.code)
    await store.put(otherCid, other)
    expect((await rejection(collect(exportFile(store, otherCid)))).name).to.equal('InvalidManifestError')
    const lying = encodeNode({ peerlink: FORMAT_VERSION, type: 'file', name: 'x', mediaType: 'x', size: 10 ** 9, chunkSize: CHUNK, hash: { alg: 'blake3', digest: new Uint8Array(32) }, erasure: { scheme: 'reed-solomon/cauchy/gf256-11d', k: 3, m: 2 }, stripeCount: 1, stripes: { depth: 0, fanout: 4, links: [] } })
    await store.put(lying.cid, lying.bytes)
    expect((await rejection(collect(exportFile(store, lying.cid)))).message).to.match(/stripe count/)
  })

  it('imports and exports directory trees, and refuses hostile entry names', async () => {
    const src = await tempDir()
    const dst = await tempDir()
    try {
      await mkdir(join(src.path, 'tree', 'sub', 'deeper'), { recursive: true })
      await writeFile(join(src.path, 'tree', 'a.txt'), 'alpha')
      await writeFile(join(src.path, 'tree', 'sub', 'b.bin'), randomBytes(5000))
      await writeFile(join(src.path, 'tree', 'sub', 'deeper', 'empty'), '')
      const r = await importPath(store, join(src.path, 'tree'), 'directory', 'tree', small)
      r.release()
      expect(r).to.include({ type: 'directory', files: 3, size: 5005 })
      await exportTree(store, r.cid, join(dst.path, 'out'))
      expect(await readFile(join(dst.path, 'out', 'a.txt'), 'utf8')).to.equal('alpha')
      expect((await readFile(join(dst.path, 'out', 'sub', 'b.bin'))).equals(await readFile(join(src.path, 'tree', 'sub', 'b.bin')))).to.equal(true)
      expect(await readdir(join(dst.path, 'out', 'sub', 'deeper'))).to.deep.equal(['empty'])
      expect((await rejection(exportTree(store, r.cid, join(dst.path, 'out')))).name).to.equal('FileExistsError')

      const file = await importFile(store, [Buffer.from('x')], small)
      for (const name of ['../escape', '/etc/passwd', '..', '.', 'a/b', '', 'nul\0byte']) {
        const evil = encodeNode({ peerlink: FORMAT_VERSION, type: 'directory', name: 'evil', size: 2, entries: [{ name: 'ok', cid: file.cid, size: 1, type: 'file' }, { name, cid: file.cid, size: 1, type: 'file' }] })
        await store.put(evil.cid, evil.bytes)
        const err = await rejection(exportTree(store, evil.cid, join(dst.path, `evil-${Math.random()}`)))
        expect(err.name, JSON.stringify(name)).to.equal('UnsafePathError')
      }
      expect((await readdir(dst.path)).sort()).to.deep.equal(['out'])

      // --force replaces the tree whole: what the old one held and the new lacks is gone.
      await writeFile(join(dst.path, 'out', 'stale.txt'), 'from before')
      await exportTree(store, r.cid, join(dst.path, 'out'), { force: true })
      expect((await readdir(join(dst.path, 'out'))).sort()).to.deep.equal(['a.txt', 'sub'])
      // A failure part-way (here a block gone from the store) leaves nothing at the path.
      const missing = encodeNode({ peerlink: FORMAT_VERSION, type: 'directory', name: 'broken', size: 2, entries: [{ name: 'a.txt', cid: file.cid, size: 1, type: 'file' }, { name: 'b.txt', cid: encodeNode({ peerlink: FORMAT_VERSION, type: 'directory', name: 'never-stored', size: 0, entries: [] }).cid, size: 1, type: 'directory' }] })
      await store.put(missing.cid, missing.bytes)
      expect((await rejection(exportTree(store, missing.cid, join(dst.path, 'broken')))).name).to.equal('BlockNotFoundError')
      expect((await readdir(dst.path)).sort()).to.deep.equal(['out'])
    } finally {
      await src.cleanup()
      await dst.cleanup()
    }
  })
})
