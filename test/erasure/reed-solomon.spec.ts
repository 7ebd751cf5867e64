// Reed-Solomon against a plain reference, on every GF(2^8) core.
import { randomBytes, randomInt } from 'node:crypto'
import { expect } from 'chai'
import { loadJsErasureCore, loadNativeErasureCore, type ErasureCore } from '../../src/erasure/core.js'
import { MUL_TABLE, inv, invert, multiply } from '../../src/erasure/gf256.js'
import { ReedSolomonCodec } from '../../src/erasure/reed-solomon.js'

// ---- a plain reference, sharing no code or tables with src/erasure ----
function slowMul (a: number, b: number): number {
  let p = 0
  for (let i = 0; i < 8; i++) {
    if ((b & 1) !== 0) p ^= a
    b >>= 1
    a <<= 1
    if ((a & 0x100) !== 0) a ^= 0x11d
  }
  return p
}
function slowInv (a: number): number {
  for (let b = 1; b < 256; b++) if (slowMul(a, b) === 1) return b
  throw new Error('no inverse')
}
function referenceParity (k: number, m: number, data: Uint8Array[]): Uint8Array[] {
  return Array.from({ length: m }, (_, i) => {
    const out = new Uint8Array(data[0].length)
    for (let j = 0; j < k; j++) {
      const coef = slowInv((k + 1 + i) ^ j)
      for (let b = 0; b < out.length; b++) out[b] ^= slowMul(coef, data[j][b])
    }
    return out
  })
}

const shards = (k: number, len: number): Uint8Array[] => Array.from({ length: k }, () => randomBytes(len))

function * subsets (n: number, size: number, start = 0, acc: number[] = []): Generator<number[]> {
  if (acc.length === size) { yield acc; return }
  for (let i = start; i < n; i++) yield * subsets(n, size, i + 1, [...acc, i])
}

describe('erasure/gf256', () => {
  it('multiplies like the bitwise reference, and every inverse inverts', () => {
    for (let a = 0; a < 256; a++) {
      for (let b = 0; b < 256; b++) expect(MUL_TABLE[a * 256 + b]).to.equal(slowMul(a, b))
      if (a > 0) expect(slowMul(a, inv(a))).to.equal(1)
    }
  })

  it('inverts matrices', () => {
    const n = 6
    const a = randomBytes(n * n)
    let inverse: Uint8Array
    try { inverse = invert(a, n) } catch { return } // a random matrix may be singular
    const id = multiply(a, inverse, n, n, n)
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) expect(id[i * n + j]).to.equal(i === j ? 1 : 0)
  })
})

describe('erasure/reed-solomon', () => {
  const native = loadNativeErasureCore()
  const levels = ['portable', 'ssse3', 'avx2', 'gfni']
  const cores: Array<[string, () => ErasureCore, string?]> = [
    ...levels.map(l => [`native ${l}`, () => native, l] as [string, () => ErasureCore, string]),
    ['js', () => loadJsErasureCore()]
  ]
  after(() => { native.setLevel(native.info().available.at(-1) as string) })

  for (const [name, getCore, level] of cores) {
    describe(name, function () {
      let core: ErasureCore
      before(function () {
        core = getCore()
        if (level !== undefined && !core.setLevel(level)) {
          console.log(`      (the ${level} GF core is compiled but this CPU lacks it: not run here)`)
          this.skip()
        }
      })

      it('encodes exactly the reference parity for random k, m and lengths', async () => {
        for (let t = 0; t < 12; t++) {
          const k = randomInt(1, 21)
          const m = randomInt(1, 9)
          const len = [0, 1, 63, 64, 65, 1000, 4096 + 17][t % 7] + randomInt(0, 3)
          const data = shards(k, len)
          const parity = await new ReedSolomonCodec(k, m, core).encode(data)
          expect(parity.map(p => Buffer.from(p).toString('hex'))).to.deep.equal(referenceParity(k, m, data).map(p => Buffer.from(p).toString('hex')), `k=${k} m=${m} len=${len}`)
        }
      })

      it('rebuilds every pattern of up to m erasures at small k, m', async () => {
        for (const [k, m] of [[4, 2], [3, 3], [5, 1], [2, 4]]) {
          const codec = new ReedSolomonCodec(k, m, core)
          const data = shards(k, 257)
          const all = [...data, ...await codec.encode(data)]
          for (let e = 1; e <= m; e++) {
            for (const lost of subsets(k + m, e)) {
              const have: Array<Uint8Array | undefined> = all.map((s, i) => lost.includes(i) ? undefined : s)
              const rebuilt = await codec.reconstruct(have)
              expect([...rebuilt.keys()]).to.deep.equal(lost)
              for (const i of lost) expect(Buffer.from(rebuilt.get(i) as Uint8Array).equals(all[i]), `k=${k} m=${m} lost ${lost}`).to.equal(true)
            }
          }
        }
      })
    })
  }

  it('gives the portable core\'s bytes on every SIMD core, at the row and column limits and across step, tile and thread tails', async () => {
    // [rows, cols, length]: lengths straddle the 64/128-byte steps and the 16 KiB tiles;
    // the threaded run splits at a 64-byte boundary that is not a 128-byte one.
    const shapes = [[1, 1, 1], [4, 10, 16384 * 2 + 128 + 64 + 5], [5, 250, 255], [255, 1, 129], [8, 247, 127], [3, 7, 200], [4, 10, 0]]
    const run = async (level: string, coefs: Uint8Array, inputs: Uint8Array[], rows: number, len: number, threads: number): Promise<string[]> => {
      expect(native.setLevel(level)).to.equal(true)
      const outputs = Array.from({ length: rows }, () => randomBytes(len)) // stale bytes must be overwritten
      if (threads === 1) native.dotSync(coefs, inputs, outputs)
      else await native.dot(coefs, inputs, outputs, threads)
      return outputs.map(o => Buffer.from(o).toString('hex'))
    }
    const simd = native.info().available.filter(l => l !== 'portable')
    for (const [rows, cols, len] of [...shapes, [4, 10, 2 * 65536 + 64 + 3]]) {
      const coefs = randomBytes(rows * cols)
      coefs[0] = 0
      const inputs = shards(cols, len)
      const threads = len > 65536 ? 2 : 1
      const expected = await run('portable', coefs, inputs, rows, len, 1)
      for (const level of simd) expect(await run(level, coefs, inputs, rows, len, threads), `${level} ${rows}x${cols} len=${len}`).to.deep.equal(expected)
    }
  })

  it('rebuilds random erasures at random k, m, and codes large stripes off-thread identically', async () => {
    for (let t = 0; t < 10; t++) {
      const k = randomInt(1, 40)
      const m = randomInt(1, 12)
      const codec = new ReedSolomonCodec(k, m)
      const data = shards(k, randomInt(1, 3000))
      const all = [...data, ...await codec.encode(data)]
      const lost: number[] = []
      while (lost.length < m) { const i = randomInt(0, k + m); if (!lost.includes(i)) lost.push(i) }
      const rebuilt = await codec.reconstruct(all.map((s, i) => lost.includes(i) ? undefined : s))
      for (const i of lost) expect(Buffer.from(rebuilt.get(i) as Uint8Array).equals(all[i])).to.equal(true)
    }
    const codec = new ReedSolomonCodec(10, 4)
    const big = shards(10, 1024 * 1024 + 7)
    const async2 = await codec.encode(big, { threads: 2 })
    const js = await new ReedSolomonCodec(10, 4, loadJsErasureCore()).encode(big)
    expect(async2.every((p, i) => Buffer.from(p).equals(js[i]))).to.equal(true)
  })

  it('says which shards are missing when more than m are gone, and rebuilds only what is wanted', async () => {
    const codec = new ReedSolomonCodec(4, 2)
    const data = shards(4, 100)
    const all: Array<Uint8Array | undefined> = [...data, ...await codec.encode(data)]
    all[0] = all[2] = all[5] = undefined
    try {
      await codec.reconstruct(all)
      expect.fail('reconstruct should fail')
    } catch (err) {
      expect((err as Error).name).to.equal('NotEnoughShardsError')
      expect((err as Error).message).to.match(/3 of the 4 shards.*missing shards 0, 2, 5/)
    }
    all[5] = (await codec.encode(data))[1]
    const only = await codec.reconstruct(all, [2])
    expect([...only.keys()]).to.deep.equal([2])
    expect(Buffer.from(only.get(2) as Uint8Array).equals(data[2])).to.equal(true)
  })

  it('writes into the caller\'s buffers when given, and refuses ones of the wrong count or length', async () => {
    const codec = new ReedSolomonCodec(5, 3)
    const data = shards(5, 1000)
    const fresh = await codec.encode(data)
    const into = Array.from({ length: 3 }, () => randomBytes(1000))
    const parity = await codec.encode(data, { into })
    expect(parity.every((p, i) => p === into[i] && Buffer.from(p).equals(fresh[i]))).to.equal(true)
    const have: Array<Uint8Array | undefined> = [...data, ...fresh]
    have[1] = have[6] = undefined
    const rebuiltInto = [randomBytes(1000), randomBytes(1000)]
    const rebuilt = await codec.reconstruct(have, [6, 1], { into: rebuiltInto })
    expect(rebuilt.get(6)).to.equal(rebuiltInto[0])
    expect(Buffer.from(rebuiltInto[0]).equals(fresh[1]) && Buffer.from(rebuiltInto[1]).equals(data[1])).to.equal(true)
    for (const bad of [[randomBytes(1000)], [randomBytes(1000), randomBytes(1000), randomBytes(999)]]) {
      try {
        await codec.encode(data, { into: bad })
        expect.fail('encode should fail')
      } catch (err) {
        expect((err as Error).name).to.equal('InvalidArgumentError')
        expect((err as Error).message).to.match(/into must hold 3 Uint8Arrays of 1000 bytes/)
      }
    }
  })

  it('refuses bad parameters and uneven shards', async () => {
    for (const [k, m] of [[0, 2], [200, 56], [1.5, 2], [3, -1]]) {
      expect(() => new ReedSolomonCodec(k, m)).to.throw(/k \+ m <= 255/)
    }
    const codec = new ReedSolomonCodec(2, 1)
    try {
      await codec.encode([Buffer.alloc(3), Buffer.alloc(4)])
      expect.fail('encode should fail')
    } catch (err) {
      expect((err as Error).name).to.equal('InvalidArgumentError')
    }
    expect(() => native.dotSync(new Uint8Array(2), [Buffer.alloc(1)], [Buffer.alloc(1)])).to.throw(RangeError)
  })
})
