// The holder's lease book on a real LevelDB blockstore: bytes counted per lease, merged
// grants, expiry, release, the book kept across a reopen, and leased blocks held from gc.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'chai'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { cidOf } from '../../src/hash/index.js'
import { LeaseBook, LEASES_FILE } from '../../src/storage/leases.js'
import { tempStore } from '../helpers/repo.js'

describe('storage: lease book', () => {
  let t: Awaited<ReturnType<typeof tempStore>>
  beforeEach(async () => { t = await tempStore() })
  afterEach(async () => { await t.cleanup() })

  async function block (text: string): Promise<{ cid: string, size: number }> {
    const bytes = new TextEncoder().encode(text)
    const cid = cidOf(bytes, raw.code)
    await t.store.put(cid, bytes)
    return { cid: cid.toString(), size: bytes.byteLength }
  }

  it('counts bytes per lease, merges grants, keeps leased blocks through gc until expiry, and survives a reopen', async () => {
    const a = await block('block a')
    const b = await block('block b, longer')
    const loose = await block('nobody leases this')
    const book = await LeaseBook.open(t.path, t.store)
    await book.grant('owner1', 'root1', { [a.cid]: a.size }, Date.now() + 60_000)
    await book.grant('owner1', 'root1', { [b.cid]: b.size }, Date.now() + 60_000)
    expect(book.held()).to.equal(a.size + b.size)
    expect(book.size).to.equal(1)

    const gc = await t.store.gc()
    expect(gc.removedBlocks).to.equal(1)
    expect(await t.store.has(CID.parse(loose.cid))).to.equal(false)
    expect(await t.store.has(CID.parse(a.cid))).to.equal(true)

    // Opened again (a gc without the daemon): the leases hold their blocks as before.
    const again = await LeaseBook.open(t.path, t.store)
    expect(again.get('owner1', 'root1')?.bytes).to.equal(a.size + b.size)

    expect(await book.expire(Date.now() + 120_000)).to.have.length(1)
    expect(book.held()).to.equal(0)
    expect(await book.release('owner1', 'root1')).to.equal(false)
  })

  it('refuses a book that is not a list, naming the file', async () => {
    await writeFile(join(t.path, LEASES_FILE), '{"not": "a list"}')
    try {
      await LeaseBook.open(t.path, t.store)
      expect.fail('opened')
    } catch (err) {
      expect((err as Error).message).to.equal(`${join(t.path, LEASES_FILE)} is not a lease book: not a list`)
    }
  })
})
