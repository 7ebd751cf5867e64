// One API over swappable GF(2^8) cores: the native SIMD addon, or plain JS.
import { availableParallelism } from 'node:os'
import { setImmediate } from 'node:timers/promises'
import { NativeAddonError } from '../errors.js'
import { loadAddon } from '../native.js'
import { MUL_TABLE } from './gf256.js'

export interface ErasureCoreInfo {
  core: 'native' | 'js'
  /** portable, ssse3, avx2, gfni (AVX-512 + GFNI); 'js' for the fallback. */
  simd: string
  available: string[]
  threads: number
  fallbackReason?: string
}

export interface ErasureCore {
  info (): ErasureCoreInfo
  /** outputs[r] = sum over c of coefs[r * cols + c] * inputs[c], on the calling thread. */
  dotSync (coefs: Uint8Array, inputs: Uint8Array[], outputs: Uint8Array[]): void
  /** The same off the event loop, the shard length split across threads. */
  dot (coefs: Uint8Array, inputs: Uint8Array[], outputs: Uint8Array[], threads: number): Promise<void>
  setLevel (level: string): boolean
}

export function loadNativeErasureCore (path?: string): ErasureCore {
  const binding = loadAddon(path)
  if (typeof binding.gfDotSync !== 'function') throw new NativeAddonError('native addon has no GF(2^8) core')
  // 3 * 7 = 9 in GF(2^8)/0x11d: a cheap proof the loaded core computes in our field.
  const probe = new Uint8Array(1)
  binding.gfDotSync(Uint8Array.of(3), [Uint8Array.of(7)], [probe])
  if (probe[0] !== 9) throw new NativeAddonError('native addon loaded but its GF(2^8) core is wrong')
  return {
    info: () => {
      const g = binding.gfInfo()
      return { core: 'native', simd: g.active, available: g.available, threads: availableParallelism() }
    },
    dotSync: (coefs, inputs, outputs) => binding.gfDotSync(coefs, inputs, outputs),
    dot: async (coefs, inputs, outputs, threads) => await binding.gfDot(coefs, inputs, outputs, threads),
    setLevel: (level) => binding.gfSetLevel(level)
  }
}

function jsDot (coefs: Uint8Array, inputs: Uint8Array[], outputs: Uint8Array[]): void {
  const cols = inputs.length
  outputs.forEach((out, r) => {
    out.fill(0)
    for (let c = 0; c < cols; c++) {
      const coef = coefs[r * cols + c]
      if (coef === 0) continue
      const row = MUL_TABLE.subarray(coef * 256, coef * 256 + 256)
      const src = inputs[c]
      for (let i = 0; i < out.length; i++) out[i] ^= row[src[i]]
    }
  })
}

export function loadJsErasureCore (fallbackReason?: string): ErasureCore {
  return {
    info: () => ({ core: 'js', simd: 'js', available: ['js'], threads: 1, fallbackReason }),
    dotSync: jsDot,
    // One output at a time, yielding between them, so the event loop keeps turning.
    async dot (coefs, inputs, outputs) {
      for (let r = 0; r < outputs.length; r++) {
        if (r > 0) await setImmediate()
        jsDot(coefs.subarray(r * inputs.length, (r + 1) * inputs.length), inputs, [outputs[r]])
      }
    },
    setLevel: () => false
  }
}
