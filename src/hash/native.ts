// Loads the native addon and checks that it really works before anything relies on it.
import { NativeAddonError } from '../errors.js'
import { ADDON_PATH, loadAddon } from '../native.js'
import type { HashCore, HashCoreInfo, IncrementalHasher } from './core.js'

export { ADDON_PATH } from '../native.js'

// BLAKE3-256 of the empty input: the first test vector.
const EMPTY_DIGEST = 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262'

function split (digests: Buffer, count: number): Uint8Array[] {
  const out: Uint8Array[] = new Array(count)
  for (let i = 0; i < count; i++) out[i] = digests.subarray(i * 32, i * 32 + 32)
  return out
}

export function loadNativeCore (path = ADDON_PATH): HashCore {
  const binding = loadAddon(path)
  if (typeof binding.hash !== 'function' || Buffer.from(binding.hash(new Uint8Array(0))).toString('hex') !== EMPTY_DIGEST) {
    throw new NativeAddonError(`native addon at ${path} loaded but does not compute BLAKE3 correctly`)
  }
  return {
    info (): HashCoreInfo {
      const s = binding.simdInfo()
      return { core: 'native', simd: s.active, available: s.available, threads: s.threads }
    },
    ready: async () => {},
    hashSync: (data) => binding.hash(data) as Uint8Array<ArrayBuffer>,
    async hashMany (blocks, threads) {
      const digests = await binding.batch(blocks, null, threads) as Buffer
      return split(digests, blocks.length)
    },
    async verifyMany (blocks, expected, threads) {
      const packed = Buffer.concat(expected)
      const { ok } = await binding.batch(blocks, packed, threads) as { ok: boolean[] }
      return ok
    },
    createHasher (): IncrementalHasher {
      const h = new binding.Hasher()
      return {
        update (data) { h.update(data); return this },
        digest: () => h.digest()
      }
    },
    setSimd: (level) => binding.setSimd(level)
  }
}
