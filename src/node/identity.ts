// The node's identity: an Ed25519 key kept in the repo (mode 0600), made on first start.
// The peer id derives from it, so a node keeps its id across restarts.
import { readFile, writeFile } from 'node:fs/promises'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { InvalidArgumentError } from '../errors.js'
import { repoPaths } from '../repo/repo.js'

export async function loadIdentity (repo: string): Promise<PrivateKey> {
  const path = repoPaths(repo).identity
  let bytes: Uint8Array | undefined
  try {
    bytes = await readFile(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  if (bytes === undefined) {
    const key = await generateKeyPair('Ed25519')
    try {
      await writeFile(path, privateKeyToProtobuf(key), { mode: 0o600, flag: 'wx' })
      return key
    } catch (err) {
      // Another process made it first: use theirs.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      bytes = await readFile(path)
    }
  }
  try {
    return privateKeyFromProtobuf(bytes)
  } catch (err) {
    throw new InvalidArgumentError(`${path} does not hold a private key (${(err as Error).message}); move it away to make a new identity`)
  }
}
