// Private share links: the key after `#k=` on a CID or ticket, with or without a path, and
// the owner's key file.
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'chai'
import { InvalidArgumentError } from '../../src/errors.js'
import { keyToText, newKey } from '../../src/files/cipher.js'
import { splitKey, withKey } from '../../src/node/cid.js'
import { encodeTicket, parseTarget } from '../../src/node/ticket.js'
import { loadKey, saveKey } from '../../src/repo/keys.js'
import { tempDir } from '../helpers/repo.js'

const CID = 'bafyr4id7hxhjxhnumdeh7sbh5zxijvjgohfl3u3wposormfv3qtsx6yx4a'

function thrown (f: () => unknown): Error {
  try { f() } catch (err) { return err as Error }
  throw new Error('expected a throw')
}

describe('private share links', () => {
  it('carry the key after a CID, a path, or a ticket; links without one parse as before', async () => {
    const key = newKey()
    const bare = parseTarget(CID)
    expect(bare.key).to.equal(undefined)
    const onCid = parseTarget(withKey(CID, key))
    expect(onCid.root.toString()).to.equal(CID)
    expect(Buffer.from(onCid.key as Uint8Array).equals(key)).to.equal(true)
    const onPath = parseTarget(withKey(`${CID}/photos/cat.jpg`, key))
    expect(onPath.path).to.deep.equal(['photos', 'cat.jpg'])
    expect(Buffer.from(onPath.key as Uint8Array).equals(key)).to.equal(true)

    const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const root = onCid.root
    const plain = encodeTicket({ root, peer, addrs: [multiaddr('/ip4/127.0.0.1/tcp/4021')] })
    expect(plain).to.not.include('#')
    expect(parseTarget(plain).key).to.equal(undefined)
    const link = encodeTicket({ root, peer, addrs: [multiaddr('/ip4/127.0.0.1/tcp/4021')], key })
    expect(link).to.equal(`${plain}#k=${keyToText(key)}`)
    const t = parseTarget(`${plain}/a/b#k=${keyToText(key)}`)
    expect(t.peer?.toString()).to.equal(peer.toString())
    expect(t.path).to.deep.equal(['a', 'b'])
    expect(Buffer.from(t.key as Uint8Array).equals(key)).to.equal(true)
  })

  it('refuses a fragment that is not a key, without repeating it', () => {
    const key = keyToText(newKey())
    for (const bad of [`${CID}#${key}`, `${CID}#k=${key.slice(1)}`, `${CID}#k=${key}x`, `${CID}#k=`]) {
      const err = thrown(() => splitKey(bad))
      expect(err, bad).to.be.instanceOf(InvalidArgumentError)
      expect(err.message).to.not.include(key.slice(1, 20))
    }
  })

  it('are kept in the owner\'s repo, mode 0600, every key of concurrent adds', async () => {
    const dir = await tempDir()
    try {
      const keys = Array.from({ length: 8 }, () => newKey())
      await Promise.all(keys.map(async (k, i) => { await saveKey(dir.path, `root-${i}`, k) }))
      for (let i = 0; i < keys.length; i++) expect(Buffer.from(await loadKey(dir.path, `root-${i}`) as Uint8Array).equals(keys[i])).to.equal(true)
      expect(await loadKey(dir.path, 'other')).to.equal(undefined)
      expect((await stat(join(dir.path, 'private.keys'))).mode & 0o777).to.equal(0o600)
    } finally {
      await dir.cleanup()
    }
  })
})
