// Private files through a real LevelDB blockstore: the cipher, round trips, ranges, and what
// is refused: no key, a wrong key, ciphertext that does not authenticate.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'chai'
import type { CID } from 'multiformats/cid'
import type { LevelBlockstore } from '../../src/blockstore/index.js'
import { DecryptionError, InvalidArgumentError, PrivateRootError } from '../../src/errors.js'
import { cipherCores, keyFromText, keyToText, newKey, openMetadata, openSegment, sealMetadata, sealSegment, TAG_BYTES } from '../../src/files/cipher.js'
import { exportFile, readManifest, StripeLocator } from '../../src/files/exporter.js'
import { importFile, type ImportOptions } from '../../src/files/importer.js'
import { exportContent, importPrivateFile, openPrivate, readSegments, sealStream } from '../../src/files/private.js'
import { collect, tempStore } from '../helpers/repo.js'

const CHUNK = 1024
const SEGMENT = CHUNK - TAG_BYTES
const small: ImportOptions = { chunkSize: CHUNK, k: 3, m: 2, allowSmallChunks: true }

async function rejection (p: Promise<unknown>): Promise<Error> {
  try { await p } catch (err) { return err as Error }
  throw new Error('expected a rejection')
}

describe('files/cipher', function () {
  it('opens what it sealed, and nothing sealed under another key, index or last-segment mark', () => {
    const key = newKey()
    const plain = randomBytes(1000)
    const sealed = sealSegment(key, 7, false, plain)
    expect(sealed.byteLength).to.equal(1000 + TAG_BYTES)
    expect(Buffer.from(sealed.subarray(0, 1000)).equals(plain)).to.equal(false)
    expect(Buffer.from(openSegment(key, 7, false, sealed) as Uint8Array).equals(plain)).to.equal(true)
    expect(openSegment(newKey(), 7, false, sealed)).to.equal(undefined)
    expect(openSegment(key, 8, false, sealed)).to.equal(undefined)
    expect(openSegment(key, 7, true, sealed)).to.equal(undefined)
    const flipped = Uint8Array.from(sealed)
    flipped[3] ^= 1
    expect(openSegment(key, 7, false, flipped)).to.equal(undefined)
    expect(openSegment(key, 7, false, sealed.subarray(0, 10))).to.equal(undefined)
  })

  it('the native core and node:crypto seal the same bytes, each opens the other\'s, both refuse altered ones', () => {
    const { native, node } = { native: cipherCores.native(), node: cipherCores.node() }
    const key = newKey()
    const iv = Buffer.alloc(12, 5)
    for (const size of [0, 1, 1000, 65536 + 3]) {
      const plain = randomBytes(size)
      const cut = Math.floor(size / 3)
      const whole = Buffer.from(node.seal(key, iv, [plain]))
      for (const pieces of [[plain], [plain.subarray(0, cut), plain.subarray(cut)], [plain.subarray(0, cut), new Uint8Array(0), plain.subarray(cut)]]) {
        expect(Buffer.from(native.seal(key, iv, pieces)).equals(whole)).to.equal(true)
        expect(Buffer.from(node.seal(key, iv, pieces)).equals(whole)).to.equal(true)
      }
      for (const core of [native, node]) {
        // In place: the plaintext in a buffer with room for the tag after it.
        const room = new Uint8Array(size + 16)
        room.set(plain)
        expect(Buffer.from(core.seal(key, iv, [room.subarray(0, size)], room)).equals(whole)).to.equal(true)
        const apart = new Uint8Array(size + 16)
        expect(core.seal(key, iv, [plain], apart)).to.equal(apart)
        expect(Buffer.from(apart).equals(whole)).to.equal(true)
      }
      // A destination overlapping the message other than exactly is refused, not written.
      const shifted = new Uint8Array(size + 17)
      if (size > 0) expect(() => native.seal(key, iv, [shifted.subarray(1, 1 + size)], shifted.subarray(0, size + 16))).to.throw(RangeError)
      const body = whole.subarray(0, size)
      const tag = whole.subarray(size)
      for (const core of [native, node]) {
        expect(Buffer.from(core.open(key, iv, body, tag) as Uint8Array).equals(plain)).to.equal(true)
        expect(core.open(newKey(), iv, body, tag)).to.equal(undefined)
        const bad = Buffer.from(tag)
        bad[0] ^= 1
        expect(core.open(key, iv, body, bad)).to.equal(undefined)
      }
    }
  })

  it('seals a file read in segments in place, to the same ciphertext as from any other source', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'peerlink-segments-'))
    try {
      const path = join(dir, 'f')
      const plain = randomBytes(SEGMENT * 3 + 7)
      writeFileSync(path, plain)
      const key = newKey()
      const inPlace: Uint8Array[] = []
      for await (const b of sealStream(readSegments(path, SEGMENT), key, SEGMENT)) inPlace.push(b)
      const pieces = await collect(sealStream([plain.subarray(0, 100), plain.subarray(100)], key, SEGMENT))
      expect(inPlace.map(b => b.byteLength)).to.deep.equal([CHUNK, CHUNK, CHUNK, 7 + TAG_BYTES])
      expect(Buffer.concat(inPlace).equals(pieces)).to.equal(true)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('seals metadata in a nonce space of its own', () => {
    const key = newKey()
    const plain = Buffer.from('name')
    const meta = sealMetadata(key, plain)
    expect(Buffer.from(openMetadata(key, meta) as Uint8Array).toString()).to.equal('name')
    expect(openSegment(key, 0, false, meta)).to.equal(undefined)
    expect(openSegment(key, 0, true, meta)).to.equal(undefined)
  })

  it('writes keys as 43 base64url characters and refuses anything else', () => {
    const key = newKey()
    const text = keyToText(key)
    expect(text).to.match(/^[A-Za-z0-9_-]{43}$/)
    expect(Buffer.from(keyFromText(text)).equals(key)).to.equal(true)
    for (const bad of ['', text.slice(1), text + 'A', text.slice(1) + '+']) {
      const err = (() => { try { keyFromText(bad) } catch (e) { return e } })()
      expect(err).to.be.instanceOf(InvalidArgumentError)
      // The message never repeats what was given: it may be most of a key.
      if (bad.length > 4) expect((err as Error).message).to.not.include(bad.slice(0, 8))
    }
  })
})

describe('files/private', function () {
  let store: LevelBlockstore
  let cleanup: () => Promise<void>
  beforeEach(async () => { ({ store, cleanup } = await tempStore()) })
  afterEach(async () => { await cleanup() })

  const addPrivate = async (data: Uint8Array, key: Uint8Array, opts: ImportOptions = small): Promise<CID> => {
    const r = await importPrivateFile(store, [data], { name: 'secret.txt', ...opts, key })
    r.release()
    expect(r.name).to.equal('secret.txt')
    expect(r.size).to.equal(data.byteLength)
    return r.cid
  }

  it('round-trips sizes around segment and stripe boundaries; the manifest shows only ciphertext', async () => {
    for (const size of [0, 1, SEGMENT - 1, SEGMENT, SEGMENT + 1, 3 * SEGMENT, 3 * SEGMENT + 1, 20 * SEGMENT + 5]) {
      const key = newKey()
      const data = randomBytes(size)
      const cid = await addPrivate(data, key)
      expect((await collect(exportContent(store, cid, { key }))).equals(data), `size ${size}`).to.equal(true)
      const m = await readManifest(store, cid)
      expect(m.name).to.equal('')
      expect(m.mediaType).to.equal('')
      expect(m.private?.segment).to.equal(SEGMENT)
      expect(m.size).to.equal(size + Math.ceil(size / SEGMENT) * TAG_BYTES)
      expect(openPrivate(cid, m, key)).to.deep.equal({ name: 'secret.txt', mediaType: 'text/plain', size })
      const stored = await collect(exportFile(store, cid))
      if (size >= 32) expect(stored.includes(data.subarray(0, 32))).to.equal(false)
    }
  })

  it('one sealed segment per chunk on files of whole stripes', async () => {
    const key = newKey()
    const cid = await addPrivate(randomBytes(6 * SEGMENT + 100), key)
    const m = await readManifest(store, cid)
    expect(m.chunkSize).to.equal(CHUNK)
    expect(m.erasure.k).to.equal(3)
  })

  it('reads any range, opening only the segments it touches', async () => {
    const key = newKey()
    const data = randomBytes(9 * SEGMENT + 77)
    const cid = await addPrivate(data, key)
    const cases: Array<[number, number | undefined]> = [[0, 1], [SEGMENT - 1, 2], [SEGMENT, SEGMENT], [5, 3 * SEGMENT], [data.length - 1, 10], [data.length, 5], [1234, undefined], [0, 0]]
    for (let i = 0; i < 20; i++) {
      const offset = Math.floor(Math.random() * data.length)
      cases.push([offset, Math.floor(Math.random() * (data.length - offset + 10))])
    }
    for (const [offset, length] of cases) {
      const got = await collect(exportContent(store, cid, { key, offset, length }))
      const want = data.subarray(offset, length === undefined ? undefined : offset + length)
      expect(got.equals(want), `offset ${offset} length ${String(length)}`).to.equal(true)
    }
  })

  it('refuses a private root without its key (the stable code) and with a wrong one', async () => {
    const cid = await addPrivate(randomBytes(5000), newKey())
    const none = await rejection(collect(exportContent(store, cid)))
    expect(none).to.be.instanceOf(PrivateRootError)
    expect((none as PrivateRootError).code).to.equal('ERR_PRIVATE_ROOT')
    expect(none.message).to.include('this root is private: fetch it with its share link')
    const wrong = await rejection(collect(exportContent(store, cid, { key: newKey() })))
    expect(wrong).to.be.instanceOf(DecryptionError)
    expect(wrong.message).to.include(cid.toString())
    expect(wrong.message).to.include('key')
  })

  it('refuses ciphertext that does not authenticate, naming its block, and yields nothing of that segment', async () => {
    const key = newKey()
    const data = randomBytes(7 * SEGMENT)
    const good = await addPrivate(data, key)
    const field = (await readManifest(store, good)).private
    // A root whose blocks are valid (each matches its CID) but whose third segment was altered
    // before it was imported: only the key can tell.
    const sealed: Uint8Array[] = []
    for await (const s of sealStream([data], key, SEGMENT)) sealed.push(Uint8Array.from(s))
    sealed[2][100] ^= 0x40
    const r = await importFile(store, sealed, { ...small, name: '', mediaType: '', sealed: field })
    r.release()
    const bad = r.cid
    const m = await readManifest(store, bad)
    const third = (await new StripeLocator(store, m).node(0)).data[2].toString()
    const got: Uint8Array[] = []
    const err = await rejection((async () => { for await (const p of exportContent(store, bad, { key })) got.push(p) })())
    expect(err).to.be.instanceOf(DecryptionError)
    expect(err.message).to.include(`segment 2 of the private file ${bad.toString()}`)
    expect(err.message).to.include(third)
    expect(Buffer.concat(got).equals(data.subarray(0, 2 * SEGMENT))).to.equal(true)
  })

  it('refuses a private import with chunks too small to hold a tag', async () => {
    const err = await rejection(importPrivateFile(store, [randomBytes(10)], { ...small, chunkSize: 16, key: newKey() }))
    expect(err).to.be.instanceOf(InvalidArgumentError)
  })
})
