// Systematic Reed-Solomon over GF(2^8): k data shards, m parity shards, any k of the k + m
// rebuild the rest. The generator is identity over a Cauchy matrix; all bulk work is one
// GF(2^8) dot product in the native core (or its JS fallback).
import { InvalidArgumentError, NotEnoughShardsError } from '../errors.js'
import { chooseCore, lazily } from '../native.js'
import { cauchy, invert, multiply } from './gf256.js'
import { loadJsErasureCore, loadNativeErasureCore, type ErasureCore } from './core.js'

/** x_i = k + 1 + i must stay a field element: k + m <= 255. */
export const MAX_SHARDS = 255
/** Stripes with at least this many bytes are coded off the event loop. */
const ASYNC_BYTES = 256 * 1024

/**
 * The GF(2^8) core, chosen by the first codec made or the first call here (not at import): the
 * native addon, or plain JS (PEERLINK_ERASURE_CORE=native|js forces one). Both are synchronous.
 */
export const erasureCore: () => ErasureCore = lazily(() =>
  chooseCore('PEERLINK_ERASURE_CORE', 'js', () => loadNativeErasureCore(), loadJsErasureCore))

export interface CodingOptions {
  signal?: AbortSignal
  /** Threads for one large stripe; default 1 (stripes are usually coded side by side). */
  threads?: number
  /**
   * Buffers to write the results into, each one shard long: encode's m parity shards, or one
   * per shard reconstruct rebuilds (the missing ones of `wanted`, in its order; by default
   * every missing one, ascending). By default fresh ones; reusing them spares an allocation
   * and fresh pages per stripe.
   */
  into?: Uint8Array[]
}

/**
 * `count` result buffers of `len` bytes: the caller's (checked), or fresh ones left unzeroed,
 * since every core writes every byte of every output before a result is returned.
 */
function outputBuffers (count: number, len: number, into: Uint8Array[] | undefined): Uint8Array[] {
  if (into === undefined) return Array.from({ length: count }, () => new Uint8Array(Buffer.allocUnsafeSlow(len).buffer, 0, len))
  if (!Array.isArray(into) || into.length !== count || into.some(b => !(b instanceof Uint8Array) || b.byteLength !== len)) {
    throw new InvalidArgumentError(`into must hold ${count} Uint8Arrays of ${len} bytes`)
  }
  return into
}

export class ReedSolomonCodec {
  readonly k: number
  readonly m: number
  private readonly parityRows: Uint8Array
  private readonly core: ErasureCore

  constructor (k: number, m: number, core: ErasureCore = erasureCore()) {
    if (!Number.isInteger(k) || !Number.isInteger(m) || k < 1 || m < 0 || k + m > MAX_SHARDS) {
      throw new InvalidArgumentError(`Reed-Solomon needs integers k >= 1, m >= 0 and k + m <= ${MAX_SHARDS}; got k=${k}, m=${m}`)
    }
    this.k = k
    this.m = m
    this.core = core
    this.parityRows = cauchy(k, m)
  }

  /** The generator row of shard `index` (data rows are unit vectors). */
  private row (index: number): Uint8Array {
    if (index >= this.k) return this.parityRows.subarray((index - this.k) * this.k, (index - this.k + 1) * this.k)
    const r = new Uint8Array(this.k)
    r[index] = 1
    return r
  }

  private shardLength (shards: Array<Uint8Array | undefined>): number {
    let len = -1
    for (const s of shards) {
      if (s === undefined) continue
      if (!(s instanceof Uint8Array)) throw new InvalidArgumentError('shards must be Uint8Arrays')
      if (len === -1) len = s.byteLength
      else if (s.byteLength !== len) throw new InvalidArgumentError(`shards must all be ${len} bytes; one is ${s.byteLength}`)
    }
    return len
  }

  private async run (coefs: Uint8Array, inputs: Uint8Array[], outputs: Uint8Array[], options: CodingOptions): Promise<void> {
    options.signal?.throwIfAborted()
    if (outputs.length === 0) return
    const bytes = inputs.length * (inputs[0]?.byteLength ?? 0)
    if (bytes < ASYNC_BYTES) this.core.dotSync(coefs, inputs, outputs)
    else await this.core.dot(coefs, inputs, outputs, options.threads ?? 1)
    options.signal?.throwIfAborted()
  }

  /** The m parity shards of k equal-length data shards. */
  async encode (data: Uint8Array[], options: CodingOptions = {}): Promise<Uint8Array[]> {
    if (!Array.isArray(data) || data.length !== this.k) throw new InvalidArgumentError(`encode needs exactly k=${this.k} data shards`)
    const len = this.shardLength(data)
    const parity = outputBuffers(this.m, len, options.into)
    await this.run(this.parityRows, data, parity, options)
    return parity
  }

  /**
   * Fills in missing shards. `shards` has k + m entries, undefined where a shard is missing;
   * `wanted` names the indexes to rebuild (default: every missing one). Returns the rebuilt
   * shards by index. Throws NotEnoughShardsError when fewer than k are present.
   */
  async reconstruct (shards: Array<Uint8Array | undefined>, wanted?: number[], options: CodingOptions = {}): Promise<Map<number, Uint8Array>> {
    const n = this.k + this.m
    if (!Array.isArray(shards) || shards.length !== n) throw new InvalidArgumentError(`reconstruct needs k+m=${n} shard slots`)
    const present = shards.flatMap((s, i) => s !== undefined ? [i] : [])
    const missing = shards.flatMap((s, i) => s === undefined ? [i] : [])
    const targets = wanted ?? missing
    for (const t of targets) {
      if (!Number.isInteger(t) || t < 0 || t >= n) throw new InvalidArgumentError(`shard index ${t} is out of range 0..${n - 1}`)
    }
    const rebuilt = new Map<number, Uint8Array>()
    const todo = targets.filter(t => shards[t] === undefined)
    if (todo.length === 0) return rebuilt
    if (present.length < this.k) throw new NotEnoughShardsError(this.k, present.length, missing)
    const len = this.shardLength(shards)
    // Data shards first: their rows are unit vectors, which keeps the decode matrix light.
    const chosen = present.slice(0, this.k)
    const sub = new Uint8Array(this.k * this.k)
    chosen.forEach((idx, r) => sub.set(this.row(idx), r * this.k))
    const decode = invert(sub, this.k) // chosen shards -> data shards
    const coefs = new Uint8Array(todo.length * this.k)
    todo.forEach((t, r) => coefs.set(multiply(this.row(t), decode, 1, this.k, this.k), r * this.k))
    const outputs = outputBuffers(todo.length, len, options.into)
    await this.run(coefs, chosen.map(i => shards[i] as Uint8Array), outputs, options)
    todo.forEach((t, r) => rebuilt.set(t, outputs[r]))
    return rebuilt
  }
}
