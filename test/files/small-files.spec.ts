// Files smaller than one stripe get a geometry of their own: chunks cut so the file spans up
// to k of them, parity scaled to the chunks present. Written as ordinary manifests, so the
// unchanged exporter, verify and repair read them.
import { randomBytes } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'chai'
import type { CID } from 'multiformats/cid'
import type { LevelBlockstore } from '../../src/blockstore/index.js'
import { importPath } from '../../src/files/directory.js'
import { exportFile, readManifest, StripeLocator } from '../../src/files/exporter.js'
import { importFile, smallGeometry, SMALL_CHUNK_FLOOR, type ImportOptions } from '../../src/files/importer.js'
import { storedBytes } from '../../src/files/stored.js'
import { verifyTree } from '../../src/files/verify.js'
import { collect, tempDir, tempStore } from '../helpers/repo.js'

const KiB = 1024

function * subsets (n: number, size: number, start = 0, acc: number[] = []): Generator<number[]> {
  if (acc.length === size) { yield acc; return }
  for (let i = start; i < n; i++) yield * subsets(n, size, i + 1, [...acc, i])
}

describe('files: small-file geometry', function () {
  this.timeout(60_000)
  let store: LevelBlockstore
  let cleanup: () => Promise<void>
  beforeEach(async () => { ({ store, cleanup } = await tempStore()) })
  afterEach(async () => { await cleanup() })

  /** Imports `data`, checks the round trip through export, and gives the manifest and stripe 0. */
  const add = async (data: Uint8Array, opts: ImportOptions = {}): Promise<{ cid: CID, stored: number, manifest: Awaited<ReturnType<typeof readManifest>> }> => {
    const r = await importFile(store, [data], { name: 'f.bin', ...opts })
    r.release()
    expect((await collect(exportFile(store, r.cid))).equals(data), `round trip of ${data.length} bytes`).to.equal(true)
    return { cid: r.cid, stored: r.stored, manifest: await readManifest(store, r.cid) }
  }

  it('cuts a 4 KiB file into 4 chunks of 1 KiB with 2 parity blocks (defaults k=10, m=4)', async () => {
    const { cid, stored, manifest } = await add(randomBytes(4 * KiB))
    expect(manifest).to.include({ size: 4 * KiB, chunkSize: KiB, stripeCount: 1 })
    expect(manifest.erasure).to.include({ k: 4, m: 2 })
    const stripe = await new StripeLocator(store, manifest).node(0)
    expect({ data: stripe.data.length, parity: stripe.parity.length, shardSize: stripe.shardSize }).to.deep.equal({ data: 4, parity: 2, shardSize: KiB })
    // 4 KiB of data, 2 KiB of parity, and the two nodes.
    expect(stored).to.be.within(6 * KiB, 7 * KiB)
    expect(await storedBytes(store, cid)).to.equal(stored)
  })

  it('keeps one full stripe just below its size and the configured geometry from one stripe up', async () => {
    const chunkSize = 64 * KiB
    const opts = { chunkSize, k: 10, m: 4 }
    const below = await add(randomBytes(10 * chunkSize - 1), opts)
    expect(below.manifest).to.include({ chunkSize, stripeCount: 1 })
    expect(below.manifest.erasure).to.include({ k: 10, m: 4 })
    const full = await add(randomBytes(10 * chunkSize), opts)
    expect(full.manifest).to.include({ chunkSize, stripeCount: 1 })
    const above = await add(randomBytes(10 * chunkSize + 1), opts)
    expect(above.manifest).to.include({ chunkSize, stripeCount: 2 })
    expect(above.manifest.erasure).to.include({ k: 10, m: 4 })
    // The short last stripe of a large file keeps m parity blocks (a reader expects m in every stripe).
    const last = await new StripeLocator(store, above.manifest).node(1)
    expect({ data: last.data.length, parity: last.parity.length }).to.deep.equal({ data: 1, parity: 4 })
    // Half a stripe: ten chunks of half the size, full parity.
    const half = await add(randomBytes(5 * chunkSize + 3), opts)
    expect(half.manifest).to.include({ chunkSize: 32 * KiB + 64, stripeCount: 1 })
    expect(half.manifest.erasure).to.include({ k: 10, m: 4 })
  })

  it('stores a 0-byte file as a manifest alone and a 1-byte file as one chunk and one parity block', async () => {
    const empty = await add(new Uint8Array(0))
    expect(empty.manifest).to.include({ size: 0, stripeCount: 0 })
    expect(empty.stored).to.be.below(512)
    const one = await add(Uint8Array.of(42))
    expect(one.manifest).to.include({ size: 1, stripeCount: 1 })
    expect(one.manifest.erasure).to.include({ k: 1, m: 1 })
    const stripe = await new StripeLocator(store, one.manifest).node(0)
    expect({ data: stripe.data.length, parity: stripe.parity.length, shardSize: stripe.shardSize }).to.deep.equal({ data: 1, parity: 1, shardSize: 1 })
    // Without parity configured, none is added.
    const bare = await add(randomBytes(3000), { m: 0 })
    expect(bare.manifest.erasure).to.include({ k: 3, m: 0 })
  })

  it('chooses chunks of whole 64-byte multiples, up to k of them, no smaller than the floor, parity scaled', () => {
    const configs = [{ chunkSize: 1024 * KiB, k: 10, m: 4 }, { chunkSize: 64 * KiB, k: 3, m: 2 }, { chunkSize: 100, k: 7, m: 5 }, { chunkSize: 2048 * KiB, k: 128, m: 64 }]
    for (const g of configs) {
      for (let size = 1; size < g.k * g.chunkSize; size = Math.ceil(size * 1.07) + 1) {
        const s = smallGeometry(size, g)
        const what = `${size} bytes with ${JSON.stringify(g)}: ${JSON.stringify(s)}`
        expect(Math.ceil(size / s.chunkSize), what).to.equal(s.k)
        expect(s.k, what).to.be.within(1, g.k)
        expect(s.chunkSize, what).to.be.at.most(g.chunkSize)
        expect(s.chunkSize % 64 === 0 || s.chunkSize === g.chunkSize, what).to.equal(true)
        expect(s.m, what).to.equal(Math.ceil(g.m * s.k / g.k))
        // Several chunks only when each is close to the floor or larger.
        if (s.k > 1) expect(size / s.k, what).to.be.above(Math.min(SMALL_CHUNK_FLOOR, g.chunkSize) / 2)
      }
    }
    expect(smallGeometry(1500, { chunkSize: 1024 * KiB, k: 10, m: 4 })).to.deep.equal({ chunkSize: 768, k: 2, m: 1 })
    expect(smallGeometry(900, { chunkSize: 1024 * KiB, k: 10, m: 4 })).to.deep.equal({ chunkSize: 960, k: 1, m: 1 })
  })

  it('exports a small file with any m\' of its blocks deleted, and verify rebuilds them', async () => {
    const data = randomBytes(4 * KiB + 100) // 5 chunks of 896 bytes (the last 612), 2 parity
    const { cid, manifest } = await add(data)
    expect(manifest.erasure).to.include({ k: 5, m: 2 })
    const stripe = await new StripeLocator(store, manifest).node(0)
    const all = [...stripe.data, ...stripe.parity]
    const saved = await Promise.all(all.map(async c => ({ cid: c, bytes: await store.get(c) })))
    for (const lost of subsets(all.length, 2)) {
      for (const i of lost) await store.delete(all[i])
      expect((await collect(exportFile(store, cid))).equals(data), `lost ${lost.join(', ')}`).to.equal(true)
      await store.putMany(saved)
    }
    await store.delete(stripe.data[4])
    const report = await verifyTree(store, cid)
    expect(report.repaired.map(d => d.what)).to.deep.equal(['root: chunk 4'])
    expect((await store.get(stripe.data[4])).byteLength).to.equal(data.length - 4 * manifest.chunkSize)
    expect((await verifyTree(store, cid)).damaged).to.deep.equal([])
    for (const i of [0, 1, 5]) await store.delete(all[i])
    const err = await collect(exportFile(store, cid)).then(() => undefined, (e: Error) => e)
    expect(err?.name).to.equal('DataLossError')
  })

  it('stores a directory of 1,000 files of 4 KiB in at most 2× its size, and counts it as the repo does', async () => {
    const src = await tempDir()
    try {
      const tree = join(src.path, 'tree')
      await mkdir(tree)
      for (let i = 0; i < 1000; i++) await writeFile(join(tree, `f${String(i).padStart(4, '0')}`), randomBytes(4 * KiB))
      const r = await importPath(store, tree, 'directory', 'tree')
      r.release()
      expect(r).to.include({ size: 1000 * 4 * KiB, files: 1000 })
      // Everything the repo holds for the root: chunks, parity, stripe nodes, manifests and the directory node.
      expect((await store.usage()).bytes).to.equal(r.stored)
      expect(await storedBytes(store, r.cid)).to.equal(r.stored)
      expect(r.stored / r.size).to.be.at.most(2)
      expect(r.stored / r.size).to.be.at.least(1.5) // 2 parity blocks per 4 chunks
    } finally {
      await src.cleanup()
    }
  })
})
