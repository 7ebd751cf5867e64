// Trees are bounded by what they write, not by what they claim: a directory's size must be
// the sum of its entries', each entry's that of its own root, and an export stops at its
// limits of entries and bytes before writing past them.
import { existsSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'chai'
import type { CID } from 'multiformats/cid'
import { InvalidManifestError, TreeLimitError } from '../../src/errors.js'
import { exportTree } from '../../src/files/directory.js'
import { decodeNode, encodeNode, type DirectoryEntry } from '../../src/files/format.js'
import { importFile } from '../../src/files/importer.js'
import type { LevelBlockstore } from '../../src/blockstore/index.js'
import { tempDir, tempStore } from '../helpers/repo.js'

const KiB = 1024

describe('files: tree limits', () => {
  let store: LevelBlockstore
  let cleanup: () => Promise<void>
  let out: { path: string, cleanup: () => Promise<void> }
  beforeEach(async () => { ({ store, cleanup } = await tempStore()); out = await tempDir() })
  afterEach(async () => { await cleanup(); await out.cleanup() })

  async function file (bytes: number): Promise<{ cid: CID, size: number }> {
    const r = await importFile(store, [Buffer.alloc(bytes, 1)], { name: 'f', chunkSize: 64 * KiB, k: 2, m: 1 })
    return { cid: r.cid, size: r.size }
  }

  /** A directory node stored as given: its size and its entries' sizes are whatever it says. */
  async function directory (name: string, size: number, entries: DirectoryEntry[]): Promise<CID> {
    const node = encodeNode({ peerlink: 1, type: 'directory', name, size, entries })
    await store.putMany([node])
    return node.cid
  }

  const copies = (n: number, e: Omit<DirectoryEntry, 'name'>): DirectoryEntry[] =>
    Array.from({ length: n }, (_, i) => ({ ...e, name: `copy-${i}` }))

  it('refuses a directory whose size is not the sum of its entries', async () => {
    const f = await file(100 * KiB)
    const node = encodeNode({ peerlink: 1, type: 'directory', name: 'd', size: f.size, entries: copies(100, { cid: f.cid, size: f.size, type: 'file' }) })
    expect(() => decodeNode(node.cid, node.bytes)).to.throw(InvalidManifestError, /not the sum of its entries/)
  })

  it('counts a child named many times once per copy, and writes every copy', async () => {
    const f = await file(100 * KiB)
    const root = await directory('d', 20 * f.size, copies(20, { cid: f.cid, size: f.size, type: 'file' }))
    const r = await exportTree(store, root, join(out.path, 'd'))
    expect(r).to.deep.equal({ files: 20, bytes: 20 * f.size })
    expect((await readdir(join(out.path, 'd'))).length).to.equal(20)
    expect((await readFile(join(out.path, 'd', 'copy-7'))).length).to.equal(f.size)
  })

  it('refuses a tree over maxBytes before writing anything', async () => {
    const f = await file(100 * KiB)
    const root = await directory('d', 20 * f.size, copies(20, { cid: f.cid, size: f.size, type: 'file' }))
    const err = await exportTree(store, root, join(out.path, 'd'), { maxBytes: 10 * f.size }).catch(e => e)
    expect(err).to.be.instanceOf(TreeLimitError).and.include({ what: 'bytes', exitCode: 20 })
    expect(await readdir(out.path)).to.deep.equal([])
  })

  it('refuses a nested directory that is larger than its entry claims, before writing it', async () => {
    const f = await file(100 * KiB)
    // The inner directory is honest about itself (100 copies), its parent claims it is one copy.
    const inner = await directory('inner', 100 * f.size, copies(100, { cid: f.cid, size: f.size, type: 'file' }))
    const root = await directory('d', 2 * f.size, [
      { name: 'a', cid: f.cid, size: f.size, type: 'file' },
      { name: 'b', cid: inner, size: f.size, type: 'directory' }
    ])
    const err = await exportTree(store, root, join(out.path, 'd')).catch(e => e)
    expect(err).to.be.instanceOf(InvalidManifestError)
    expect(err.message).to.match(/entry "b" claims a directory of 102400 bytes, but its root .* is a directory of 10240000 bytes/)
    expect(existsSync(join(out.path, 'd'))).to.equal(false)
    expect(await readdir(out.path)).to.deep.equal([]) // the temporary tree is gone too
  })

  it('refuses a tree with more entries than maxEntries, counting nested ones', async () => {
    const f = await file(1 * KiB)
    const inner = await directory('inner', 30 * f.size, copies(30, { cid: f.cid, size: f.size, type: 'file' }))
    const root = await directory('d', 3 * 30 * f.size, copies(3, { cid: inner, size: 30 * f.size, type: 'directory' }))
    expect((await exportTree(store, root, join(out.path, 'ok'), { maxEntries: 93 })).files).to.equal(90)
    const err = await exportTree(store, root, join(out.path, 'd'), { maxEntries: 92 }).catch(e => e)
    expect(err).to.be.instanceOf(TreeLimitError).and.include({ what: 'entries', limit: 92 })
    expect(existsSync(join(out.path, 'd'))).to.equal(false)
  })
})
