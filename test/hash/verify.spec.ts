// Block verification: the check every block from outside passes before it is stored.
import { createHash, randomBytes } from 'node:crypto'
import { expect } from 'chai'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import * as Digest from 'multiformats/hashes/digest'
import { sha256 } from 'multiformats/hashes/sha2'
import {
  blake3, cidOf, createBlake3Hasher, hashBlock, hashBlocks, hashInfo, verifyBlock, verifyBlocks, verifyDigests
} from '../../src/hash/index.js'
import { loadNativeCore } from '../../src/hash/native.js'
import { MAX_BLOCK_SIZE } from '../../src/limits.js'

async function rejection (p: Promise<unknown>): Promise<Error> {
  try {
    await p
  } catch (err) {
    return err as Error
  }
  throw new Error('expected the promise to reject')
}

function thrown (fn: () => unknown): Error {
  try {
    fn()
  } catch (err) {
    return err as Error
  }
  throw new Error('expected a throw')
}

describe('hash/verify', () => {
  it('uses the native core with the best SIMD level of this CPU', () => {
    const info = hashInfo()
    expect(info.core).to.equal('native')
    expect(info.simd).to.equal(info.available.at(-1))
  })

  it('makes CIDv1 blake3 CIDs that multiformats round-trips', () => {
    const bytes = randomBytes(5000)
    const cid = cidOf(bytes)
    expect(cid.version).to.equal(1)
    expect(cid.code).to.equal(raw.code)
    expect(cid.multihash.code).to.equal(0x1e)
    expect(CID.parse(cid.toString()).equals(cid)).to.equal(true)
    const viaHasher = blake3.digest(bytes) as Digest.Digest<0x1e, 32>
    expect(CID.createV1(raw.code, viaHasher).equals(cid)).to.equal(true)
    expect(hashBlock(bytes)).to.deep.equal(cid.multihash.digest)
  })

  it('accepts a block that matches its blake3 or sha2-256 CID', async () => {
    for (const size of [0, 100, 70_000, MAX_BLOCK_SIZE]) {
      const bytes = randomBytes(size)
      await verifyBlock(cidOf(bytes), bytes)
      await verifyBlock(CID.createV1(raw.code, await sha256.digest(bytes)), bytes)
    }
  })

  it('rejects a block whose bytes do not match, naming the CID', async () => {
    const bytes = randomBytes(100_000)
    const cid = cidOf(bytes)
    const tampered = Buffer.from(bytes)
    tampered[99_999] ^= 1
    const err = await rejection(verifyBlock(cid, tampered))
    expect(err.name).to.equal('HashMismatchError')
    expect(err.message).to.include(cid.toString())
    const shaCid = CID.createV1(raw.code, await sha256.digest(bytes))
    expect((await rejection(verifyBlock(shaCid, tampered))).name).to.equal('HashMismatchError')
  })

  it('refuses unsupported hashes, wrong digest lengths, oversize blocks and non-bytes', async () => {
    const bytes = randomBytes(10)
    const sha512 = CID.createV1(raw.code, Digest.create(0x13, createHash('sha512').update(bytes).digest()))
    expect((await rejection(verifyBlock(sha512, bytes))).name).to.equal('UnsupportedHashError')
    const short = CID.createV1(raw.code, Digest.create(0x1e, hashBlock(bytes).subarray(0, 16)))
    expect((await rejection(verifyBlock(short, bytes))).name).to.equal('InvalidDigestError')
    const big = Buffer.alloc(MAX_BLOCK_SIZE + 1)
    const tooLarge = await rejection(verifyBlock(cidOf(bytes), big))
    expect(tooLarge.name).to.equal('BlockTooLargeError')
    expect(tooLarge.message).to.match(/2097153 bytes exceeds/)
    expect((await rejection(verifyBlock(cidOf(bytes), 'hello' as unknown as Uint8Array))).name).to.equal('InvalidArgumentError')
    expect((await rejection(verifyBlock('bafy' as unknown as CID, bytes))).name).to.equal('InvalidArgumentError')
    expect(thrown(() => hashBlock(big)).name).to.equal('BlockTooLargeError')
    expect(thrown(() => cidOf([1, 2, 3] as unknown as Uint8Array)).name).to.equal('InvalidArgumentError')
  })

  it('verifies a mixed batch, reporting each failure without throwing', async () => {
    const blocks = Array.from({ length: 150 }, (_, i) => randomBytes(1000 + i * 997))
    const items = blocks.map(bytes => ({ cid: cidOf(bytes), bytes }))
    items[7] = { cid: CID.createV1(raw.code, await sha256.digest(blocks[7])), bytes: blocks[7] }
    items[70] = { cid: items[70].cid, bytes: randomBytes(blocks[70].length) }
    items[100] = { cid: CID.createV1(raw.code, Digest.create(0x13, randomBytes(64))), bytes: blocks[100] }
    const results = await verifyBlocks(items, { threads: 2 })
    expect(results.map(r => r.ok)).to.deep.equal(items.map((_, i) => i !== 70 && i !== 100))
    const failed = results.filter(r => !r.ok) as Array<{ ok: false, error: Error }>
    expect(failed.map(r => r.error.name)).to.deep.equal(['HashMismatchError', 'UnsupportedHashError'])
  })

  it('hashes batches the same with one thread or two, and stops on abort', async () => {
    const blocks = Array.from({ length: 130 }, () => randomBytes(64 * 1024))
    const one = await hashBlocks(blocks, { threads: 1 })
    const two = await hashBlocks(blocks, { threads: 2 })
    expect(two).to.deep.equal(one)
    expect(one[5]).to.deep.equal(hashBlock(blocks[5]))
    const events: number[] = []
    const ok = await verifyDigests(blocks, one, { onProgress: (e) => events.push(e.detail.done) })
    expect(ok.every(Boolean)).to.equal(true)
    expect(events).to.deep.equal([64, 128, 130])
    const controller = new AbortController()
    controller.abort()
    expect((await rejection(hashBlocks(blocks, { signal: controller.signal }))).name).to.equal('AbortError')
    expect((await rejection(hashBlocks(blocks, { threads: 0 }))).name).to.equal('InvalidArgumentError')
    expect((await rejection(verifyDigests(blocks, one.slice(1)))).name).to.equal('InvalidArgumentError')
  })

  it('streams any length through the incremental hasher', () => {
    const data = randomBytes(3 * 1024 * 1024 + 5)
    const h = createBlake3Hasher()
    for (let i = 0; i < data.length; i += 100_003) h.update(data.subarray(i, i + 100_003))
    expect(h.digest()).to.deep.equal((blake3.digest(data) as Digest.Digest<0x1e, 32>).digest)
  })

  it('native binding refuses bad arguments with a TypeError instead of crashing', async () => {
    const { createRequire } = await import('node:module')
    const { ADDON_PATH } = await import('../../src/hash/native.js')
    const binding = createRequire(import.meta.url)(ADDON_PATH)
    expect(() => binding.hash('text')).to.throw(TypeError, /Uint8Array/)
    expect(() => binding.hash(new Uint16Array(4))).to.throw(TypeError)
    expect(() => binding.hash()).to.throw(TypeError)
    expect(() => binding.batch([Buffer.alloc(1), 'x'], null, 1)).to.throw(TypeError, /block 1/)
    expect(() => binding.batch([Buffer.alloc(1)], Buffer.alloc(31), 1)).to.throw(TypeError, /32 bytes per block/)
    expect(() => binding.setSimd('mmx')).to.throw(TypeError, /unknown SIMD level/)
    expect(() => new binding.Hasher().update(42)).to.throw(TypeError)
    expect(() => loadNativeCore('/nonexistent/peerlink_native.node')).to.throw(/did not load/)
  })
})
