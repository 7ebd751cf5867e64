// An import from disk reads its chunks and codes its parity into buffers it reuses stripe after
// stripe: the memory comes back only once a stripe is stored, and what is stored is unchanged.
import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'chai'
import { newKey } from '../../src/files/cipher.js'
import { importPath } from '../../src/files/directory.js'
import { STRIPES_IN_FLIGHT, importFile } from '../../src/files/importer.js'
import { BufferPool } from '../../src/files/pool.js'
import { exportContent } from '../../src/files/private.js'
import { collect, tempStore } from '../helpers/repo.js'

/** A pool that counts the distinct buffers it lent. */
class CountingPool extends BufferPool {
  private readonly seen = new Set<ArrayBufferLike>()
  get made (): number { return this.seen.size }
  override take (): Buffer {
    const b = super.take()
    this.seen.add(b.buffer)
    return b
  }
}

describe('files: buffers reused by an import', function () {
  this.timeout(60_000)

  it('lends a buffer again once given back, ignores memory it did not lend or got back already, and keeps at most its bound', () => {
    const pool = new BufferPool(1024, 1)
    const a = pool.take()
    expect(a.byteLength).to.equal(1024)
    pool.give(a.subarray(10, 20))
    pool.give(a)
    expect(pool.take().buffer).to.equal(a.buffer)
    pool.give(new Uint8Array(1024))
    const b = pool.take()
    expect(b.buffer).to.not.equal(a.buffer)
    const c = pool.take()
    pool.give(b)
    pool.give(c)
    expect(pool.take().buffer).to.equal(b.buffer)
    expect(pool.take().buffer).to.not.equal(c.buffer)
  })

  it('stores a file read into reused buffers exactly as one read into fresh ones, public and private, making no more buffers than the stripes held at once need', async () => {
    const { store, path, cleanup } = await tempStore()
    try {
      const chunkSize = 64 * 1024
      const opts = { chunkSize, k: 4, m: 2 }
      // The stripes being stored and the one being read, and a short last chunk's own.
      const bound = (STRIPES_IN_FLIGHT + 1) * (4 + 2) + 2
      const data = randomBytes(40 * 4 * chunkSize + 12345)
      const file = join(path, 'in.bin')
      await writeFile(file, data)

      const pool = new CountingPool(chunkSize, bound)
      const pooled = await importPath(store, file, 'file', 'in.bin', { ...opts, pool })
      expect(pool.made).to.be.at.most(bound)
      const fresh = await importFile(store, [data], { ...opts, name: 'in.bin' })
      expect(pooled.cid.toString()).to.equal(fresh.cid.toString())
      expect((await collect(exportContent(store, pooled.cid))).equals(data)).to.equal(true)

      const key = newKey()
      const privatePool = new CountingPool(chunkSize, bound)
      const priv = await importPath(store, file, 'file', 'in.bin', { ...opts, key, pool: privatePool })
      expect(privatePool.made).to.be.at.most(bound)
      expect((await collect(exportContent(store, priv.cid, { key }))).equals(data)).to.equal(true)
    } finally {
      await cleanup()
    }
  })
})
