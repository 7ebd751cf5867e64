// Private directories through a real LevelDB blockstore: the tree round-trips under its one
// key, paths resolve with it, and no key, a wrong key, a tampered node or a name in the clear
// are refused.
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import * as dagCbor from '@ipld/dag-cbor'
import { expect } from 'chai'
import type { LevelBlockstore } from '../../src/blockstore/index.js'
import { DecryptionError, InvalidManifestError, PrivateRootError } from '../../src/errors.js'
import { deriveKey, newKey } from '../../src/files/cipher.js'
import { exportTree, importPath, resolvePath } from '../../src/files/directory.js'
import { readNode } from '../../src/files/exporter.js'
import { encodeNode, type DirectoryNode } from '../../src/files/format.js'
import type { ImportOptions } from '../../src/files/importer.js'
import { exportContent } from '../../src/files/private.js'
import { MARKER, markerIn } from '../helpers/plaintext.js'
import { collect, tempDir, tempStore } from '../helpers/repo.js'

const small: ImportOptions = { chunkSize: 1024, k: 3, m: 2, allowSmallChunks: true }

async function rejection (p: Promise<unknown>): Promise<Error> {
  try { await p } catch (err) { return err as Error }
  throw new Error('expected a rejection')
}

describe('files/private directories', function () {
  let store: LevelBlockstore
  let repo: string
  let cleanup: () => Promise<void>
  let dir: { path: string, cleanup: () => Promise<void> }
  beforeEach(async () => {
    ({ store, path: repo, cleanup } = await tempStore())
    dir = await tempDir('peerlink-privdir-')
  })
  afterEach(async () => { await cleanup(); await dir.cleanup() })

  /** A tree whose every name and file holds the marker: top/{MARKER-a.txt, sub/{MARKER-b.bin, deep/MARKER-empty}}. */
  async function markedTree (): Promise<string> {
    const top = join(dir.path, `top-${MARKER}`)
    await mkdir(join(top, `sub-${MARKER}`, `deep-${MARKER}`), { recursive: true })
    await writeFile(join(top, `${MARKER}-a.txt`), `${MARKER} the first file`)
    await writeFile(join(top, `sub-${MARKER}`, `${MARKER}-b.bin`), Buffer.concat([randomBytes(5000), Buffer.from(MARKER), randomBytes(3000)]))
    await writeFile(join(top, `sub-${MARKER}`, `deep-${MARKER}`, `${MARKER}-empty`), '')
    return top
  }

  it('round-trips a tree under one key, and stores no name or content in the clear', async () => {
    const top = await markedTree()
    const key = newKey()
    const r = await importPath(store, top, 'directory', `top-${MARKER}`, { ...small, key })
    r.release()
    expect(r.files).to.equal(3)
    const root = await readNode(store, r.cid) as DirectoryNode
    expect(root.name).to.equal('')
    expect(root.entries.map(e => e.name)).to.deep.equal(['', ''])
    expect(root.private?.alg).to.equal('aes-256-gcm')

    const out = join(dir.path, 'out')
    await exportTree(store, r.cid, out, { key })
    for (const rel of [`${MARKER}-a.txt`, join(`sub-${MARKER}`, `${MARKER}-b.bin`), join(`sub-${MARKER}`, `deep-${MARKER}`, `${MARKER}-empty`)]) {
      expect((await readFile(join(out, rel))).equals(await readFile(join(top, rel))), rel).to.equal(true)
    }
    await store.close()
    expect(await markerIn(repo)).to.deep.equal([])
  })

  it('resolves a path with the link\'s key: each entry under its own derived key', async () => {
    const top = await markedTree()
    const key = newKey()
    const r = await importPath(store, top, 'directory', 'top', { ...small, key })
    r.release()
    const file = await resolvePath(store, r.cid, [`sub-${MARKER}`, `${MARKER}-b.bin`], { key })
    expect(file.name).to.equal(`${MARKER}-b.bin`)
    // sub is entry 1 of the root, b.bin entry 0 of sub (entries sorted by name).
    expect(Buffer.from(file.key as Uint8Array).equals(deriveKey(deriveKey(key, 1), 0))).to.equal(true)
    const bytes = await collect(exportContent(store, file.cid, { key: file.key }))
    expect(bytes.equals(await readFile(join(top, `sub-${MARKER}`, `${MARKER}-b.bin`)))).to.equal(true)
    const sub = await resolvePath(store, r.cid, [`sub-${MARKER}`], { key })
    expect(sub.sizes).to.deep.equal({ size: 8000 + MARKER.length, entries: [8000 + MARKER.length, 0] })
    // The keys of siblings and of parent and child all differ.
    const keys = [key, deriveKey(key, 0), deriveKey(key, 1), deriveKey(deriveKey(key, 1), 0)].map(k => Buffer.from(k).toString('hex'))
    expect(new Set(keys).size).to.equal(4)
  })

  it('refuses a path or an export without the key (the stable code), and with a wrong one', async () => {
    const r = await importPath(store, await markedTree(), 'directory', 'top', { ...small, key: newKey() })
    r.release()
    // The root alone resolves (a fetch without the key stores its ciphertext): nothing is opened.
    expect((await resolvePath(store, r.cid, [])).name).to.equal('')
    const none = await rejection(resolvePath(store, r.cid, [`sub-${MARKER}`]))
    expect(none).to.be.instanceOf(PrivateRootError)
    expect(none.message).to.include('this root is private: fetch it with its share link')
    expect(await rejection(exportTree(store, r.cid, join(dir.path, 'no')))).to.be.instanceOf(PrivateRootError)
    const wrong = await rejection(resolvePath(store, r.cid, [`sub-${MARKER}`], { key: newKey() }))
    expect(wrong).to.be.instanceOf(DecryptionError)
    expect(wrong.message).to.include(`does not open the directory ${r.cid.toString()}`)
    expect(await rejection(exportTree(store, r.cid, join(dir.path, 'no'), { key: newKey() }))).to.be.instanceOf(DecryptionError)
  })

  it('refuses a directory node whose sealed names were altered, or that names an entry in the clear', async () => {
    const key = newKey()
    const r = await importPath(store, await markedTree(), 'directory', 'top', { ...small, key })
    r.release()
    const root = await readNode(store, r.cid) as DirectoryNode
    // Valid blocks, each named by its own CID: only the key tells the first is not what was sealed.
    const meta = Uint8Array.from(root.private?.meta as Uint8Array)
    meta[5] ^= 1
    const tampered = encodeNode({ ...root, private: { alg: 'aes-256-gcm', meta } })
    await store.putMany([tampered])
    const err = await rejection(exportTree(store, tampered.cid, join(dir.path, 't'), { key }))
    expect(err).to.be.instanceOf(DecryptionError)
    expect(err.message).to.include(tampered.cid.toString())

    const named = { ...root, entries: root.entries.map((e, i) => i === 0 ? { ...e, name: 'a.txt' } : e) }
    const clear = encodeNode(dagCbor.decode(dagCbor.encode(named)) as DirectoryNode)
    await store.putMany([clear])
    const bad = await rejection(readNode(store, clear.cid))
    expect(bad).to.be.instanceOf(InvalidManifestError)
    expect(bad.message).to.include('names something in the clear')
  })
})
