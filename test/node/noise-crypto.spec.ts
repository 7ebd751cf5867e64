// Noise's ChaCha20-Poly1305 and X25519 through the addon, against Node's own (node:crypto) as
// the reference: the same ciphertext, frames opened in place or from pieces, forgeries refused,
// RFC 7748's vectors and low-order keys refused; and on real connections, handshakes through
// the addon (with stock Noise at the other end too) and frames that came in pieces opened
// without joining them.
import { createCipheriv, createHash, randomBytes } from 'node:crypto'
import { noise } from '@chainsafe/libp2p-noise'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import type { ConnectionEncrypter } from '@libp2p/interface'
import { expect } from 'chai'
import { createLibp2p, type Libp2p } from 'libp2p'
import { Uint8ArrayList } from 'uint8arraylist'
import { loadAddon, type NativeBinding } from '../../src/native.js'
import { transportSettings } from '../../src/node/host.js'
import { inPlaceFrames, nativeNoiseCrypto, noiseCrypto } from '../../src/node/noise-crypto.js'

const crypto = nativeNoiseCrypto(loadAddon())
const NOISE_FRAME = 65535 - 16

function reference (plaintext: Uint8Array, nonce: Uint8Array, ad: Uint8Array, key: Uint8Array): Buffer {
  const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 })
  c.setAAD(ad, { plaintextLength: plaintext.byteLength })
  return Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()])
}

const bytes = (x: { subarray: () => Uint8Array }): Buffer => Buffer.from(x.subarray())
/** A Uint8ArrayList typed as Noise's (it may bring its own copy of the package). */
type NoiseInput = Parameters<typeof crypto.chaCha20Poly1305Decrypt>[0]
const list = (...parts: Uint8Array[]): NoiseInput => new Uint8ArrayList(...parts) as unknown as NoiseInput

describe('Noise ChaCha20-Poly1305 through the addon', () => {
  const key = randomBytes(32)
  const nonce = randomBytes(12)
  const ad = randomBytes(32)

  it('seals as node:crypto does, from one buffer or from pieces', () => {
    for (const length of [0, 1, 63, 64, 1199, 1200, 4096, NOISE_FRAME]) {
      const plaintext = randomBytes(length)
      const expected = reference(plaintext, nonce, ad, key)
      expect(bytes(crypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, key))).to.deep.equal(expected, `length ${length}`)
      const pieces = list(plaintext.subarray(0, length >> 1), plaintext.subarray(length >> 1))
      expect(bytes(crypto.chaCha20Poly1305Encrypt(pieces, nonce, ad, key))).to.deep.equal(expected, `length ${length} in pieces`)
    }
  })

  it('opens a frame in place, into the destination Noise passes', () => {
    const plaintext = randomBytes(NOISE_FRAME)
    const frame = reference(plaintext, nonce, ad, key)
    const dst = frame.subarray(0, frame.byteLength - 16)
    const out = crypto.chaCha20Poly1305Decrypt(frame, nonce, ad, key, dst)
    expect(bytes(out)).to.deep.equal(plaintext)
    expect(out).to.be.instanceOf(Uint8Array)
    expect((out as Uint8Array).buffer).to.equal(frame.buffer) // no new buffer
    expect(dst).to.deep.equal(plaintext)
  })

  it('opens a frame that arrived in pieces, with or without a destination', () => {
    const plaintext = randomBytes(50_000)
    const frame = reference(plaintext, nonce, ad, key)
    // Split inside the body and inside the tag.
    const pieces = list(frame.subarray(0, 1000), frame.subarray(1000, frame.byteLength - 7), frame.subarray(frame.byteLength - 7))
    expect(bytes(crypto.chaCha20Poly1305Decrypt(pieces, nonce, ad, key))).to.deep.equal(plaintext)
    const dst = new Uint8Array(plaintext.byteLength)
    expect(bytes(crypto.chaCha20Poly1305Decrypt(pieces, nonce, ad, key, dst))).to.deep.equal(plaintext)
    expect(Buffer.from(dst)).to.deep.equal(plaintext)
  })

  it('opens pieces each over itself when asked (dst null), and refuses a forgery so', () => {
    const addon = loadAddon()
    const plaintext = randomBytes(70_000)
    const frame = reference(plaintext, nonce, ad, key)
    const body = frame.subarray(0, plaintext.byteLength)
    const pieces = [body.subarray(0, 1), body.subarray(1, 40_000), body.subarray(40_000)]
    expect(addon.aeadOpen(key, nonce, ad, pieces, frame.subarray(plaintext.byteLength), null)).to.equal(true)
    expect(Buffer.from(body)).to.deep.equal(plaintext)
    const bad = reference(plaintext, nonce, ad, key)
    bad[50_000] ^= 0x80
    const badBody = bad.subarray(0, plaintext.byteLength)
    expect(addon.aeadOpen(key, nonce, ad, [badBody.subarray(0, 9), badBody.subarray(9)], bad.subarray(plaintext.byteLength), null)).to.equal(false)
  })

  it('agrees with Noise\'s default crypto both ways', () => {
    const plaintext = randomBytes(3000)
    const sealed = defaultCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, key)
    expect(bytes(crypto.chaCha20Poly1305Decrypt(sealed, nonce, ad, key))).to.deep.equal(plaintext)
    const ours = crypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, key)
    expect(bytes(defaultCrypto.chaCha20Poly1305Decrypt(ours, nonce, ad, key))).to.deep.equal(plaintext)
  })

  it('refuses a flipped bit anywhere, the wrong key, nonce or associated data, and a frame shorter than its tag', () => {
    const plaintext = randomBytes(2048)
    const frame = reference(plaintext, nonce, ad, key)
    for (const at of [0, 1000, frame.byteLength - 17, frame.byteLength - 16, frame.byteLength - 1]) {
      const bad = Buffer.from(frame)
      bad[at] ^= 0x01
      expect(() => crypto.chaCha20Poly1305Decrypt(bad, nonce, ad, key), `bit flipped at ${at}`).to.throw(/Invalid chacha20poly1305 decryption/)
    }
    expect(() => crypto.chaCha20Poly1305Decrypt(Buffer.from(frame), nonce, ad, randomBytes(32))).to.throw(/Invalid/)
    expect(() => crypto.chaCha20Poly1305Decrypt(Buffer.from(frame), randomBytes(12), ad, key)).to.throw(/Invalid/)
    expect(() => crypto.chaCha20Poly1305Decrypt(Buffer.from(frame), nonce, randomBytes(32), key)).to.throw(/Invalid/)
    expect(() => crypto.chaCha20Poly1305Decrypt(frame.subarray(0, 15), nonce, ad, key)).to.throw(/shorter than its tag/)
  })

  it('refuses a key or nonce of the wrong size and a destination overlapping the input elsewhere', () => {
    const addon = loadAddon()
    const frame = reference(randomBytes(100), nonce, ad, key)
    const body = frame.subarray(0, 100)
    const tag = frame.subarray(100)
    expect(() => addon.aeadSeal(key.subarray(0, 31), nonce, ad, [body])).to.throw(RangeError, /key must be 32 bytes/)
    expect(() => addon.aeadOpen(key, nonce.subarray(0, 8), ad, [body], tag, body)).to.throw(RangeError, /nonce must be 12 bytes/)
    expect(() => addon.aeadOpen(key, nonce, ad, [body], tag, new Uint8Array(99))).to.throw(RangeError, /as long as the ciphertext/)
    const shifted = Buffer.alloc(120)
    expect(() => addon.aeadOpen(key, nonce, ad, [shifted.subarray(0, 100)], tag, shifted.subarray(1, 101))).to.throw(RangeError, /not overlap/)
    expect(() => addon.aeadSeal(key, nonce, ad, ['text' as unknown as Uint8Array])).to.throw(TypeError, /Uint8Arrays/)
  })

  it('is chosen by default, and PEERLINK_NOISE_CRYPTO=default chooses Noise\'s own', async () => {
    const saved = process.env.PEERLINK_NOISE_CRYPTO
    try {
      delete process.env.PEERLINK_NOISE_CRYPTO
      const chosen = await noiseCrypto()
      expect(chosen).to.not.equal(defaultCrypto)
      const plaintext = randomBytes(100)
      expect(bytes(chosen.chaCha20Poly1305Encrypt(plaintext, nonce, ad, key))).to.deep.equal(reference(plaintext, nonce, ad, key))
      process.env.PEERLINK_NOISE_CRYPTO = 'default'
      expect(await noiseCrypto()).to.equal(defaultCrypto)
      process.env.PEERLINK_NOISE_CRYPTO = 'fast'
      let error: Error | undefined
      await noiseCrypto().catch((err: Error) => { error = err })
      expect(error?.message).to.match(/PEERLINK_NOISE_CRYPTO must be "native" or "default"/)
    } finally {
      if (saved === undefined) delete process.env.PEERLINK_NOISE_CRYPTO
      else process.env.PEERLINK_NOISE_CRYPTO = saved
    }
  })
})

describe('Noise X25519 through the addon', () => {
  const hex = (h: string): Buffer => Buffer.from(h, 'hex')
  // RFC 7748, section 6.1.
  const alice = { privateKey: hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a'), publicKey: hex('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a') }
  const bob = { privateKey: hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb'), publicKey: hex('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f') }
  const shared = hex('4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742')

  it('gives RFC 7748\'s public keys and shared secret', () => {
    expect(bytes(crypto.generateX25519KeyPairFromSeed(alice.privateKey).publicKey)).to.deep.equal(alice.publicKey)
    expect(bytes(crypto.generateX25519KeyPairFromSeed(bob.privateKey).publicKey)).to.deep.equal(bob.publicKey)
    expect(bytes(crypto.generateX25519SharedKey(alice.privateKey, bob.publicKey))).to.deep.equal(shared)
    expect(bytes(crypto.generateX25519SharedKey(bob.privateKey, alice.publicKey))).to.deep.equal(shared)
    // Noise may pass a key as a list.
    expect(bytes(crypto.generateX25519SharedKey(list(bob.privateKey.subarray(0, 5), bob.privateKey.subarray(5)), list(alice.publicKey)))).to.deep.equal(shared)
  })

  it('agrees with Noise\'s default crypto (node:crypto) on fresh key pairs, both ways', () => {
    for (let i = 0; i < 8; i++) {
      const ours = crypto.generateX25519KeyPair()
      const theirs = defaultCrypto.generateX25519KeyPair()
      expect(ours.privateKey.byteLength).to.equal(32)
      expect(bytes(defaultCrypto.generateX25519KeyPairFromSeed(ours.privateKey).publicKey)).to.deep.equal(bytes(ours.publicKey))
      const expected = bytes(defaultCrypto.generateX25519SharedKey(theirs.privateKey, ours.publicKey))
      expect(bytes(crypto.generateX25519SharedKey(ours.privateKey, theirs.publicKey))).to.deep.equal(expected)
    }
    expect(bytes(crypto.generateX25519KeyPair().privateKey)).to.not.deep.equal(bytes(crypto.generateX25519KeyPair().privateKey))
  })

  it('refuses a low-order public key (an all-zero secret) and keys of the wrong size', () => {
    const addon = loadAddon()
    const zero = Buffer.alloc(32)
    const one = Buffer.alloc(32)
    one[0] = 1
    for (const point of [zero, one]) {
      expect(() => crypto.generateX25519SharedKey(alice.privateKey, point)).to.throw(/X25519 key agreement failed/)
      expect(() => defaultCrypto.generateX25519SharedKey(alice.privateKey, point), 'node:crypto refuses it too').to.throw()
    }
    expect(() => addon.x25519Shared?.(alice.privateKey.subarray(1), bob.publicKey)).to.throw(RangeError, /privateKey must be 32 bytes/)
    expect(() => addon.x25519Keypair?.(new Uint8Array(31))).to.throw(RangeError, /seed must be 32 bytes/)
  })
})

describe('Noise frames opened in place on real connections', function () {
  this.timeout(60_000)
  const PROTOCOL = '/peerlink-test/echo/1.0.0'
  const hosts: Libp2p[] = []
  afterEach(async () => { await Promise.all(hosts.splice(0).map(async h => { await h.stop() })) })

  const host = async (encrypter: (components: any) => ConnectionEncrypter): Promise<Libp2p> => {
    const h = await createLibp2p({
      ...await transportSettings(),
      connectionEncrypters: [encrypter],
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      connectionManager: { allow: ['/ip4/127.0.0.0/ipcidr/8'] }
    })
    hosts.push(h)
    return h
  }

  /** The addon with its in-place openings (dst null) and its X25519 agreements counted. */
  const counted = (): { binding: NativeBinding, inPlace: () => number, agreements: () => number } => {
    const addon = loadAddon()
    const x25519Shared = addon.x25519Shared as NonNullable<NativeBinding['x25519Shared']>
    let n = 0
    let dh = 0
    const binding: NativeBinding = {
      ...addon,
      aeadOpen: (...args: Parameters<NativeBinding['aeadOpen']>) => { if (args[5] === null) n++; return addon.aeadOpen(...args) },
      x25519Shared: (privateKey, publicKey) => { dh++; return x25519Shared(privateKey, publicKey) }
    }
    return { binding, inPlace: () => n, agreements: () => dh }
  }

  /** Sends `bytes` from `from` to an echo on `to` and returns what came back. */
  const echo = async (from: Libp2p, to: Libp2p, bytes: Uint8Array): Promise<Buffer> => {
    await to.handle(PROTOCOL, async (stream) => {
      for await (const chunk of stream) {
        if (!stream.send(chunk instanceof Uint8Array ? chunk : chunk.subarray())) await stream.onDrain({ signal: AbortSignal.timeout(20_000) })
      }
      await stream.close()
    })
    const stream = await from.dialProtocol(to.getMultiaddrs()[0], PROTOCOL, { signal: AbortSignal.timeout(10_000) })
    const back = (async () => {
      const parts: Buffer[] = []
      for await (const chunk of stream) parts.push(Buffer.from(chunk instanceof Uint8Array ? chunk : chunk.subarray()))
      return Buffer.concat(parts)
    })()
    for (let at = 0; at < bytes.byteLength; at += 1 << 20) {
      if (!stream.send(bytes.subarray(at, at + (1 << 20)))) await stream.onDrain({ signal: AbortSignal.timeout(20_000) })
    }
    await stream.close()
    return await back
  }

  const digest = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

  it('carries 8 MiB both ways intact, between two in-place hosts and with stock Noise at the other end', async () => {
    const bytes = randomBytes(8 << 20)
    for (const other of ['in place', 'stock'] as const) {
      const a = counted()
      const b = counted()
      const sender = await host(other === 'stock' ? noise({ crypto: defaultCrypto }) : inPlaceFrames({ crypto: nativeNoiseCrypto(a.binding) }))
      const receiver = await host(inPlaceFrames({ crypto: nativeNoiseCrypto(b.binding) }))
      expect(digest(await echo(sender, receiver, bytes)), `echo with ${other} Noise`).to.equal(digest(bytes))
      // Frames of 65,537 bytes through reads of at most 65,536: most come in pieces.
      expect(b.inPlace(), `frames opened in place by the receiver (${other})`).to.be.greaterThan(16)
      if (other === 'in place') expect(a.inPlace(), 'frames opened in place by the sender').to.be.greaterThan(16)
      // A Noise XX handshake makes three agreements at each end (ee, es, se).
      expect(b.agreements(), `X25519 agreements through the addon at the receiver (${other})`).to.be.at.least(3)
      if (other === 'in place') expect(a.agreements(), 'X25519 agreements through the addon at the sender').to.be.at.least(3)
    }
  })
})
