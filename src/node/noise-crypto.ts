// Noise's ChaCha20-Poly1305 through the native addon (OpenSSL, as Node's own crypto uses).
// Node's cipher API returns a fresh buffer from every update and final, and Noise's default
// crypto ignores the destination Noise offers for decryption; here each frame is decrypted
// into that destination (in place when the frame is one piece) and sealed into one buffer.
// On a bulk transfer that is a buffer less per 64 KiB frame on each side, and V8's
// collections, which these allocations drive, fall with them. Everything else (handshake
// hashing and key agreement) is Noise's default. Without the addon, Noise's default is used
// whole; PEERLINK_NOISE_CRYPTO=default chooses it.
import type { ICryptoInterface } from '@chainsafe/libp2p-noise'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import { NativeAddonError } from '../errors.js'
import { chooseCore, loadAddon, type NativeBinding } from '../native.js'

const TAG_LENGTH = 16

/** A Uint8Array, or the chunks of a Uint8ArrayList (Noise may bring its own copy of that package). */
const pieces = (data: Uint8Array | Iterable<Uint8Array>): Uint8Array[] => data instanceof Uint8Array ? [data] : [...data]

export function nativeNoiseCrypto (binding: NativeBinding): ICryptoInterface {
  if (typeof binding.aeadOpen !== 'function') throw new NativeAddonError('native addon has no ChaCha20-Poly1305')
  return {
    ...defaultCrypto,
    chaCha20Poly1305Encrypt (plaintext, nonce, ad, k) {
      return binding.aeadSeal(k, nonce, ad, pieces(plaintext))
    },
    chaCha20Poly1305Decrypt (ciphertext, nonce, ad, k, dst) {
      const length = ciphertext.byteLength - TAG_LENGTH
      if (length < 0) throw new Error('Invalid chacha20poly1305 decryption: shorter than its tag')
      const body = ciphertext instanceof Uint8Array ? [ciphertext.subarray(0, length)] : pieces(ciphertext.sublist(0, length))
      const tag = ciphertext.subarray(length)
      // Noise's destination is the ciphertext's own memory (or a copy of it): written over as
      // the bytes are read, which ChaCha20 allows.
      const out = dst !== undefined && dst.byteLength === length ? dst : new Uint8Array(length)
      if (!binding.aeadOpen(k, nonce, ad, body, tag, out)) throw new Error('Invalid chacha20poly1305 decryption')
      return out
    }
  }
}

/**
 * The crypto for Noise: native ChaCha20-Poly1305 when the addon loads, else Noise's default
 * (with a warning). PEERLINK_NOISE_CRYPTO=native requires the addon; =default picks Noise's.
 */
export async function noiseCrypto (): Promise<ICryptoInterface> {
  return chooseCore('PEERLINK_NOISE_CRYPTO', 'default', () => nativeNoiseCrypto(loadAddon()), () => defaultCrypto)
}
