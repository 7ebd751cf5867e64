// The WASM fallback core (hash-wasm), used when the native addon cannot load. Same API,
// same test vectors; batches run on the main thread one block at a time, yielding to the
// event loop between blocks (one 2 MiB block is a few milliseconds).
import { availableParallelism } from 'node:os'
import { setImmediate } from 'node:timers/promises'
import { createBLAKE3, type IHasher } from 'hash-wasm'
import type { HashCore, IncrementalHasher } from './core.js'

export async function loadWasmCore (fallbackReason?: string): Promise<HashCore> {
  const wasm: IHasher = await createBLAKE3(256)
  const hashSync = (data: Uint8Array): Uint8Array<ArrayBuffer> => wasm.init().update(data).digest('binary') as Uint8Array<ArrayBuffer>
  const eachYielding = async <T>(blocks: Uint8Array[], fn: (b: Uint8Array, i: number) => T): Promise<T[]> => {
    const out: T[] = []
    for (let i = 0; i < blocks.length; i++) {
      if (i > 0) await setImmediate()
      out.push(fn(blocks[i], i))
    }
    return out
  }
  return {
    info: () => ({ core: 'wasm', simd: 'wasm', available: ['wasm'], threads: availableParallelism(), fallbackReason }),
    hashSync,
    hashMany: async (blocks) => await eachYielding(blocks, hashSync),
    verifyMany: async (blocks, expected) =>
      await eachYielding(blocks, (b, i) => Buffer.from(hashSync(b)).equals(expected[i])),
    createHasher (): IncrementalHasher {
      // One WASM instance serves every hasher: each keeps its own saved state.
      let state = wasm.init().save()
      return {
        update (data) { state = wasm.load(state).update(data).save(); return this },
        digest: () => wasm.load(state).digest('binary')
      }
    },
    setSimd: () => false
  }
}
