// BLAKE3-256 in plain TypeScript, after the specification's reference implementation. It is
// the one BLAKE3 that runs synchronously from the very first call without the native addon:
// the WASM core needs an asynchronous start, and sync callers (cidOf, a hasher) cannot wait.

const BLOCK_LEN = 64
const CHUNK_LEN = 1024
const BLOCKS_PER_CHUNK = CHUNK_LEN / BLOCK_LEN
const CHUNK_START = 1
const CHUNK_END = 2
const PARENT = 4
const ROOT = 8

const IV = Int32Array.of(0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19)
const PERMUTATION = [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8]
/** The message word order of each of the 7 rounds. */
const SCHEDULE: number[][] = [[...Array(16).keys()]]
for (let r = 1; r < 7; r++) SCHEDULE.push(PERMUTATION.map(i => SCHEDULE[r - 1][i]))

/** The compression state; its first 8 words are the output. Int32, so V8 never boxes a word. */
const v = new Int32Array(16)

function rotr (x: number, n: number): number {
  return (x >>> n) | (x << (32 - n))
}

function g (a: number, b: number, c: number, d: number, x: number, y: number): void {
  v[a] = (v[a] + v[b] + x) | 0
  v[d] = rotr(v[d] ^ v[a], 16)
  v[c] = (v[c] + v[d]) | 0
  v[b] = rotr(v[b] ^ v[c], 12)
  v[a] = (v[a] + v[b] + y) | 0
  v[d] = rotr(v[d] ^ v[a], 8)
  v[c] = (v[c] + v[d]) | 0
  v[b] = rotr(v[b] ^ v[c], 7)
}

/** The compression function, for a chaining value or a root digest: leaves 8 words in `v`. */
function compress (cv: Int32Array, m: Int32Array, counter: number, blockLen: number, flags: number): void {
  for (let i = 0; i < 8; i++) v[i] = cv[i]
  for (let i = 0; i < 4; i++) v[i + 8] = IV[i]
  v[12] = counter
  v[13] = counter / 0x100000000
  v[14] = blockLen
  v[15] = flags
  for (const s of SCHEDULE) {
    g(0, 4, 8, 12, m[s[0]], m[s[1]])
    g(1, 5, 9, 13, m[s[2]], m[s[3]])
    g(2, 6, 10, 14, m[s[4]], m[s[5]])
    g(3, 7, 11, 15, m[s[6]], m[s[7]])
    g(0, 5, 10, 15, m[s[8]], m[s[9]])
    g(1, 6, 11, 12, m[s[10]], m[s[11]])
    g(2, 7, 8, 13, m[s[12]], m[s[13]])
    g(3, 4, 9, 14, m[s[14]], m[s[15]])
  }
  for (let i = 0; i < 8; i++) v[i] ^= v[i + 8]
}

function wordsOf (bytes: Uint8Array, offset: number, out: Int32Array): Int32Array {
  for (let i = 0; i < 16; i++) {
    const o = offset + i * 4
    out[i] = bytes[o] | (bytes[o + 1] << 8) | (bytes[o + 2] << 16) | (bytes[o + 3] << 24)
  }
  return out
}

/** A node still to be compressed: the chunk or parent whose output is a CV, or the root. */
interface Output { cv: Int32Array, words: Int32Array, counter: number, blockLen: number, flags: number }

function chainingValue (o: Output): Int32Array {
  compress(o.cv, o.words, o.counter, o.blockLen, o.flags)
  return v.slice(0, 8)
}

function parentOutput (left: Int32Array, right: Int32Array): Output {
  const words = new Int32Array(16)
  words.set(left)
  words.set(right, 8)
  return { cv: IV, words, counter: 0, blockLen: BLOCK_LEN, flags: PARENT }
}

/** An incremental BLAKE3-256 hasher; digest() leaves it able to go on. */
export class Blake3Js {
  private cv = IV.slice()
  private chunkCounter = 0
  private readonly block = new Uint8Array(BLOCK_LEN)
  private readonly words = new Int32Array(16)
  private blockLen = 0
  private blocksCompressed = 0
  private readonly stack: Int32Array[] = []

  update (input: Uint8Array): this {
    let pos = 0
    while (pos < input.length) {
      if (this.blocksCompressed * BLOCK_LEN + this.blockLen === CHUNK_LEN) this.endChunk()
      if (this.blockLen === BLOCK_LEN) {
        this.compressBlock(wordsOf(this.block, 0, this.words))
        this.blockLen = 0
      }
      // Whole blocks straight from the input while more input follows (the last block of a
      // chunk waits: it is compressed differently when it turns out to be the root's).
      while (this.blockLen === 0 && pos + BLOCK_LEN < input.length && this.blocksCompressed < BLOCKS_PER_CHUNK - 1) {
        this.compressBlock(wordsOf(input, pos, this.words))
        pos += BLOCK_LEN
      }
      const take = Math.min(BLOCK_LEN - this.blockLen, input.length - pos)
      this.block.set(input.subarray(pos, pos + take), this.blockLen)
      this.blockLen += take
      pos += take
    }
    return this
  }

  digest (): Uint8Array<ArrayBuffer> {
    let out = this.chunkOutput()
    for (let i = this.stack.length - 1; i >= 0; i--) out = parentOutput(this.stack[i], chainingValue(out))
    compress(out.cv, out.words, 0, out.blockLen, out.flags | ROOT)
    const digest = new Uint8Array(32)
    for (let i = 0; i < 8; i++) new DataView(digest.buffer).setUint32(i * 4, v[i], true)
    return digest
  }

  private compressBlock (words: Int32Array): void {
    compress(this.cv, words, this.chunkCounter, BLOCK_LEN, this.blocksCompressed === 0 ? CHUNK_START : 0)
    for (let i = 0; i < 8; i++) this.cv[i] = v[i]
    this.blocksCompressed++
  }

  private chunkOutput (): Output {
    const block = new Uint8Array(BLOCK_LEN)
    block.set(this.block.subarray(0, this.blockLen))
    const start = this.blocksCompressed === 0 ? CHUNK_START : 0
    return { cv: this.cv, words: wordsOf(block, 0, new Int32Array(16)), counter: this.chunkCounter, blockLen: this.blockLen, flags: start | CHUNK_END }
  }

  /** Pushes the full chunk's CV, merging every subtree it completes, and starts the next chunk. */
  private endChunk (): void {
    let cv = chainingValue(this.chunkOutput())
    let total = ++this.chunkCounter
    while ((total & 1) === 0) {
      cv = chainingValue(parentOutput(this.stack.pop() as Int32Array, cv))
      total /= 2
    }
    this.stack.push(cv)
    this.cv = IV.slice()
    this.blocksCompressed = 0
    this.blockLen = 0
  }
}

export function blake3Js (data: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Blake3Js().update(data).digest()
}
