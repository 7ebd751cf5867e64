// Noise's ChaCha20-Poly1305 through the native addon (OpenSSL, as Node's own crypto uses).
// Node's cipher API returns a fresh buffer from every update and final, and Noise's default
// crypto ignores the destination Noise offers for decryption; here each frame is decrypted
// into that destination (in place when the frame is one piece) and sealed into one buffer.
// On a bulk transfer that is a buffer less per 64 KiB frame on each side, and V8's
// collections, which these allocations drive, fall with them. The handshake's X25519 goes
// through the addon too, on raw keys: Noise's default wraps every key in DER for Node's
// KeyObjects, about 470 us an agreement against 30 for the agreement itself, three agreements
// at each end of every handshake. The handshake's hashing is Noise's default. Without the
// addon, Noise's default is used whole; PEERLINK_NOISE_CRYPTO=default chooses it.
//
// A frame larger than a socket read (a full one is 65,537 bytes with its length, a read at
// most 65,536) reaches Noise in pieces, and Noise joins them into a fresh buffer to decrypt
// into. With the addon each connection's frames are opened instead piece by piece, each piece
// over its own memory (inPlaceFrames), and handed on as those pieces. On a bulk transfer
// nearly every frame comes in two pieces: that is a fresh 64 KiB buffer and its copy spared
// per frame, about a gigabyte of allocation per gigabyte received.
import { noise, type ICryptoInterface } from '@chainsafe/libp2p-noise'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import type { ConnectionEncrypter } from '@libp2p/interface'
import { Uint8ArrayList } from 'uint8arraylist'
import { NativeAddonError } from '../errors.js'
import { chooseCore, loadAddon, type NativeBinding } from '../native.js'
import { overriding } from './overriding.js'

const TAG_LENGTH = 16

/**
 * The destination that asks the native decrypt to open each piece of the ciphertext over
 * itself. Only the transport's frames ask for it (inPlaceFrames): a handshake message must
 * stay as it came, since Noise hashes the ciphertext after opening it.
 */
const IN_PLACE = new Uint8Array(0)

/** A Uint8Array, or the chunks of a Uint8ArrayList (Noise may bring its own copy of that package). */
const pieces = (data: Uint8Array | Iterable<Uint8Array>): Uint8Array[] => data instanceof Uint8Array ? [data] : [...data]

/** One Uint8Array of the bytes (Noise may hand a key over as a list, of its own copy of uint8arraylist). */
const whole = (data: Uint8Array | { subarray: () => Uint8Array }): Uint8Array => data instanceof Uint8Array ? data : data.subarray()

/** Noise's key agreement through the addon, where it has it (an addon built before it had not). */
function nativeX25519 (binding: NativeBinding): Pick<ICryptoInterface, 'generateX25519KeyPair' | 'generateX25519KeyPairFromSeed' | 'generateX25519SharedKey'> | undefined {
  const { x25519Keypair: keypair, x25519Shared: shared } = binding
  if (keypair === undefined || shared === undefined) return undefined
  return {
    generateX25519KeyPair: () => keypair(),
    generateX25519KeyPairFromSeed: (seed) => keypair(seed),
    generateX25519SharedKey: (privateKey, publicKey) => shared(whole(privateKey), whole(publicKey))
  }
}

export function nativeNoiseCrypto (binding: NativeBinding): ICryptoInterface {
  if (typeof binding.aeadOpen !== 'function') throw new NativeAddonError('native addon has no ChaCha20-Poly1305')
  return {
    ...defaultCrypto,
    ...nativeX25519(binding),
    chaCha20Poly1305Encrypt (plaintext, nonce, ad, k) {
      return binding.aeadSeal(k, nonce, ad, pieces(plaintext))
    },
    chaCha20Poly1305Decrypt (ciphertext, nonce, ad, k, dst) {
      const length = ciphertext.byteLength - TAG_LENGTH
      if (length < 0) throw new Error('Invalid chacha20poly1305 decryption: shorter than its tag')
      const body = ciphertext instanceof Uint8Array ? [ciphertext.subarray(0, length)] : pieces(ciphertext.sublist(0, length))
      const tag = ciphertext.subarray(length)
      if (dst === IN_PLACE) {
        if (!binding.aeadOpen(k, nonce, ad, body, tag, null)) throw new Error('Invalid chacha20poly1305 decryption')
        // Noise's own copy of uint8arraylist is another type, the same at runtime (one symbol).
        return new Uint8ArrayList(...body) as unknown as ReturnType<ICryptoInterface['chaCha20Poly1305Decrypt']>
      }
      // Noise's destination is the ciphertext's own memory (or a copy of it): written over as
      // the bytes are read, which ChaCha20 allows.
      const out = dst !== undefined && dst.byteLength === length ? dst : new Uint8Array(length)
      if (!binding.aeadOpen(k, nonce, ad, body, tag, out)) throw new Error('Invalid chacha20poly1305 decryption')
      return out
    }
  }
}

/** The parts of Noise's secured connection that openFrame uses. */
interface NoiseConnection {
  handshake: { decrypt: (ciphertext: Uint8Array | Uint8ArrayList, dst?: Uint8Array) => Uint8Array | Uint8ArrayList }
  metrics?: { decryptedPackets: { increment: () => void }, decryptErrors: { increment: () => void } }
  decrypt: (frame: Uint8Array | Uint8ArrayList) => Uint8Array | Uint8ArrayList
}

/**
 * Noise's frame decrypt, but a frame that came in pieces is opened piece by piece over its
 * own memory (IN_PLACE) instead of joined first. The frame's pieces are the socket's reads,
 * which Noise already opens over themselves when a frame came whole. A frame is one Noise
 * message: its 2-byte length prefix bounds it to 65,535 bytes.
 */
function openFrame (this: NoiseConnection, frame: Uint8Array | Uint8ArrayList): Uint8Array | Uint8ArrayList {
  if (frame.byteLength < TAG_LENGTH) throw new Error('Invalid chunk')
  const dst = frame instanceof Uint8Array ? frame.subarray(0, frame.byteLength - TAG_LENGTH) : IN_PLACE
  try {
    const plaintext = this.handshake.decrypt(frame, dst)
    this.metrics?.decryptedPackets.increment()
    return plaintext
  } catch (err) {
    this.metrics?.decryptErrors.increment()
    throw err
  }
}

type NoiseInit = Parameters<typeof noise>[0]

/**
 * Noise with `crypto`, each secured connection decrypting its frames with openFrame. Only
 * for the native crypto, whose decrypt knows IN_PLACE.
 */
export function inPlaceFrames (init: NoiseInit): ReturnType<typeof noise> {
  const make = noise(init)
  return (components) => {
    const encrypter = make(components)
    const patch = <T extends { connection: unknown }>(secured: T): T => {
      const conn = secured.connection as NoiseConnection
      // A Noise of another shape keeps its own decrypt (the spec of this file notices).
      if (typeof conn.decrypt === 'function' && typeof conn.handshake?.decrypt === 'function') conn.decrypt = openFrame
      return secured
    }
    return overriding(encrypter, {
      secureInbound: async (...args: Parameters<ConnectionEncrypter['secureInbound']>) => patch(await encrypter.secureInbound(...args)),
      secureOutbound: async (...args: Parameters<ConnectionEncrypter['secureOutbound']>) => patch(await encrypter.secureOutbound(...args))
    })
  }
}

/**
 * The crypto for Noise: native ChaCha20-Poly1305 when the addon loads, else Noise's default
 * (with a warning). PEERLINK_NOISE_CRYPTO=native requires the addon; =default picks Noise's.
 */
export async function noiseCrypto (): Promise<ICryptoInterface> {
  return chooseCore('PEERLINK_NOISE_CRYPTO', 'default', () => nativeNoiseCrypto(loadAddon()), () => defaultCrypto)
}

/** Noise for a host: with the native crypto, frames opened in place (inPlaceFrames). */
export async function noiseEncrypter (): Promise<ReturnType<typeof noise>> {
  const crypto = await noiseCrypto()
  return crypto === defaultCrypto ? noise({ crypto }) : inPlaceFrames({ crypto })
}
