// The BLAKE3 cores against the official vectors and an independent implementation.
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { blake3 as oracle } from '@noble/hashes/blake3.js'
import { expect } from 'chai'
import type { HashCore } from '../../src/hash/core.js'
import { createFallbackCore, loadWasmCore } from '../../src/hash/fallback.js'
import { loadNativeCore } from '../../src/hash/native.js'

const LEVELS = ['portable', 'sse41', 'avx2', 'avx512']
const vectors = JSON.parse(readFileSync(new URL('./blake3-vectors.json', import.meta.url), 'utf8')) as {
  cases: Array<{ input_len: number, hash: string }>
}

function vectorInput (length: number): Uint8Array {
  const b = new Uint8Array(length)
  for (let i = 0; i < length; i++) b[i] = i % 251
  return b
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

// Lengths around every boundary the tree hasher has: blocks, chunks, lane groups
// (4/8/16 chunks), perfect trees of two or more lane groups (hashed with the CVs kept
// transposed: 8, 16, 32 chunks are the smallest for 4, 8, 16 lanes), and the 1 MiB subtrees
// that meet on the CV stack.
const EDGE_LENGTHS = [
  0, 1, 64, 1024, 1025, 4 * 1024 - 1, 8 * 1024, 8 * 1024 + 1, 16 * 1024, 16 * 1024 + 1, 17 * 1024,
  32 * 1024, 33 * 1024 + 5,
  65536, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, (2 << 20) - 1024, 2 << 20, (3 << 20) + 1024, (5 << 20) + 7
]

// Inputs of a given length with the independent implementation's digest, made once and shared
// by every core: that implementation is pure JavaScript, and hashing the same megabytes again
// for each of the six cores took most of this file's time.
const references = new Map<number, { data: Uint8Array, digest: string }>()
function reference (length: number): { data: Uint8Array, digest: string } {
  let r = references.get(length)
  if (r === undefined) {
    const data = randomBytes(length)
    r = { data, digest: hex(oracle(data)) }
    references.set(length, r)
  }
  return r
}

function suite (name: string, getCore: () => HashCore, level?: string): void {
  describe(name, function () {
    let core: HashCore
    before(function () {
      core = getCore()
      if (level !== undefined && !core.setSimd(level)) {
        console.log(`      (the ${level} path is compiled but this CPU lacks it: not run here)`)
        this.skip()
      }
    })
    after(() => { if (level !== undefined) core.setSimd(core.info().available.at(-1) as string) })

    it('matches every official test vector', () => {
      for (const { input_len: len, hash } of vectors.cases) {
        expect(hex(core.hashSync(vectorInput(len))), `length ${len}`).to.equal(hash)
      }
    })

    it('agrees with an independent implementation on random and boundary lengths', () => {
      for (const len of EDGE_LENGTHS) {
        const { data, digest } = reference(len)
        expect(hex(core.hashSync(data)), `length ${len}`).to.equal(digest)
      }
      for (let i = 0; i < 40; i++) {
        const data = randomBytes(Math.floor(Math.random() * 300_000))
        expect(hex(core.hashSync(data)), `length ${data.length}`).to.equal(hex(oracle(data)))
      }
    })

    it('hashes unaligned views into larger ArrayBuffers by their own bytes only', () => {
      const backing = randomBytes(200_000)
      for (const offset of [1, 3, 7, 13, 63]) {
        for (const len of [0, 5, 1023, 1024, 4097, 70_001]) {
          const view = new Uint8Array(backing.buffer, backing.byteOffset + offset, len)
          expect(hex(core.hashSync(view)), `offset ${offset} length ${len}`).to.equal(hex(oracle(view.slice())))
        }
      }
    })

    it('gives identical digests in a batch and one by one, with one thread and with all', async () => {
      const blocks = [0, 1, 1024, 65_537, 1 << 20, (2 << 20), 333_333].map(n => randomBytes(n))
      blocks.push(randomBytes(1_000_000).subarray(17, 500_017))
      const single = blocks.map(b => hex(core.hashSync(b)))
      expect((await core.hashMany(blocks, 1)).map(hex)).to.deep.equal(single)
      expect((await core.hashMany(blocks, 4)).map(hex)).to.deep.equal(single)
      const expected = blocks.map(b => core.hashSync(b))
      expected[3] = Buffer.alloc(32) // one wrong digest
      expect(await core.verifyMany(blocks, expected, 2)).to.deep.equal(blocks.map((_, i) => i !== 3))
    })

    it('hashes a stream fed in pieces of any size like the whole', () => {
      for (const len of [0, 1, 1025, (1 << 20), (1 << 20) + 1, (3 << 20) + 777]) {
        const { data, digest } = reference(len)
        const h = core.createHasher()
        let off = 0
        while (off < len) {
          const n = Math.min(len - off, 1 + Math.floor(Math.random() * 300_000))
          h.update(data.subarray(off, off + n))
          off += n
        }
        expect(hex(h.digest()), `length ${len}`).to.equal(digest)
      }
    })
  })
}

describe('hash/blake3 cores', () => {
  const native = loadNativeCore()
  for (const level of LEVELS) suite(`native ${level}`, () => native, level)
  let wasm: HashCore
  before(async () => { wasm = await loadWasmCore() })
  suite('wasm fallback', () => wasm)
  suite('pure JavaScript, @noble/hashes (the fallback before its WASM is up)', () => createFallbackCore(undefined, { wasm: false }))
})
