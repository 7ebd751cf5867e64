// The fallback core, used when the native addon cannot load: BLAKE3 in WASM (hash-wasm). Same
// API, same test vectors; batches run on the main thread one block at a time, yielding to the
// event loop between blocks (one 2 MiB block is a few milliseconds).
//
// The WASM instance starts asynchronously, but hashSync and createHasher must answer at once:
// until the instance is up (ready() resolves), they run on @noble/hashes' pure-JavaScript
// BLAKE3; batches wait for the WASM. If WebAssembly cannot start, the pure-JS one serves all.
import { availableParallelism } from 'node:os'
import { setImmediate } from 'node:timers/promises'
import { createBLAKE3, type IHasher } from 'hash-wasm'
import { blake3 as blake3Js } from '@noble/hashes/blake3.js'
import type { HashCore, IncrementalHasher } from './core.js'

async function eachYielding<T> (blocks: Uint8Array[], fn: (b: Uint8Array, i: number) => T): Promise<T[]> {
  const out: T[] = []
  for (let i = 0; i < blocks.length; i++) {
    if (i > 0) await setImmediate()
    out.push(fn(blocks[i], i))
  }
  return out
}

function wasmHasher (wasm: IHasher): IncrementalHasher {
  // One WASM instance serves every hasher: each keeps its own saved state.
  let state = wasm.init().save()
  return {
    update (data) { state = wasm.load(state).update(data).save(); return this },
    digest: () => wasm.load(state).digest('binary')
  }
}

function jsHasher (): IncrementalHasher {
  const h = blake3Js.create()
  return {
    update (data) { h.update(data); return this },
    digest: () => h.clone().digest() // a clone, so the hasher can keep going
  }
}

/**
 * The fallback core, its WASM instance starting now. `wasm: false` keeps it on the pure-JS
 * BLAKE3 (for tests of that path).
 */
export function createFallbackCore (fallbackReason?: string, { wasm: useWasm = true } = {}): HashCore {
  let wasm: IHasher | undefined
  const started: Promise<void> = useWasm
    ? createBLAKE3(256).then(h => { wasm = h }, () => {})
    : Promise.resolve()
  const hashSync = (data: Uint8Array): Uint8Array<ArrayBuffer> =>
    wasm !== undefined ? wasm.init().update(data).digest('binary') as Uint8Array<ArrayBuffer> : blake3Js(data) as Uint8Array<ArrayBuffer>
  return {
    info: () => ({ core: 'wasm', simd: wasm !== undefined ? 'wasm' : 'js', available: ['wasm'], threads: availableParallelism(), fallbackReason }),
    ready: async () => await started,
    hashSync,
    async hashMany (blocks) {
      await started
      return await eachYielding(blocks, hashSync)
    },
    async verifyMany (blocks, expected) {
      await started
      return await eachYielding(blocks, (b, i) => Buffer.from(hashSync(b)).equals(expected[i]))
    },
    createHasher: () => wasm !== undefined ? wasmHasher(wasm) : jsHasher(),
    setSimd: () => false
  }
}

/** The fallback core once its WASM instance is up. */
export async function loadWasmCore (fallbackReason?: string): Promise<HashCore> {
  const core = createFallbackCore(fallbackReason)
  await core.ready()
  return core
}
