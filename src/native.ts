// The native addon (native/): loaded on first use, checked by each layer that uses it.
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { InvalidArgumentError, NativeAddonError } from './errors.js'

export interface NativeBinding {
  hash (data: Uint8Array): Buffer
  batch (blocks: Uint8Array[], expected: Uint8Array | null, threads: number): Promise<Buffer | { digests: Buffer, ok: boolean[] }>
  Hasher: new () => { update (data: Uint8Array): unknown, digest (): Buffer, reset (): unknown }
  simdInfo (): { active: string, detected: string, available: string[], compiled: string[], threads: number }
  setSimd (level: string): boolean
  gfDot (coefs: Uint8Array, inputs: Uint8Array[], outputs: Uint8Array[], threads: number): Promise<void>
  gfDotSync (coefs: Uint8Array, inputs: Uint8Array[], outputs: Uint8Array[]): void
  gfInfo (): { active: string, detected: string, available: string[], compiled: string[] }
  gfSetLevel (level: string): boolean
  /** ChaCha20-Poly1305 unless `cipher` says 'aes-256-gcm'; into `dst` when given (the one piece's own memory, or apart). */
  aeadSeal <T extends Uint8Array = Buffer> (key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, pieces: Uint8Array[], cipher?: string, dst?: T): T
  /** dst null: each piece is opened over itself. */
  aeadOpen (key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, pieces: Uint8Array[], tag: Uint8Array, dst: Uint8Array | null, cipher?: string): boolean
  /** A fresh X25519 key pair, or the one of a 32-byte private key (`seed`). */
  x25519Keypair?: (seed?: Uint8Array) => { publicKey: Buffer, privateKey: Buffer }
  /** The X25519 shared secret; throws when OpenSSL refuses the agreement (a low-order key). */
  x25519Shared?: (privateKey: Uint8Array, publicKey: Uint8Array) => Buffer
}

/** Where `npm install` builds the addon (same depth from src/ and dist/); PEERLINK_ADDON_PATH overrides. */
export const ADDON_PATH = process.env.PEERLINK_ADDON_PATH ?? fileURLToPath(new URL('../native/build/Release/peerlink_native.node', import.meta.url))

export function loadAddon (path = ADDON_PATH): NativeBinding {
  try {
    return createRequire(import.meta.url)(path) as NativeBinding
  } catch (err) {
    throw new NativeAddonError(`native addon did not load from ${path}: ${(err as Error).message.split('\n')[0]}`, { cause: err })
  }
}

const warned = new Set<string>()

/**
 * Chooses between a native core and its fallback by an environment variable: "native" (the
 * addon must load), the fallback's name (always the fallback), or unset (native if it loads,
 * else the fallback with a warning). One warning per reason: the hash, erasure and Noise cores
 * all fall back when the addon does not load, and one line says so.
 */
export function chooseCore<T> (variable: string, fallbackName: string, native: () => T,
  fallback: (reason: string) => T): T {
  const wanted = process.env[variable]
  if (wanted !== undefined && wanted !== '' && wanted !== 'native' && wanted !== fallbackName) {
    throw new InvalidArgumentError(`${variable} must be "native" or "${fallbackName}", not "${wanted}"`)
  }
  if (wanted === fallbackName) return fallback(`${variable}=${fallbackName}`)
  try {
    return native()
  } catch (err) {
    if (wanted === 'native') throw err
    const reason = (err as Error).message
    if (!warned.has(reason)) {
      warned.add(reason)
      process.emitWarning(`${reason}; PeerLink runs on its slower WASM/JS cores (npm run build:native builds the addon)`,
        { code: NativeAddonError.code })
    }
    return fallback(reason)
  }
}

/** `make` run on the first call, not at import, and its result kept. */
export function lazily<T> (make: () => T): () => T {
  let made: { value: T } | undefined
  return () => {
    made ??= { value: make() }
    return made.value
  }
}
