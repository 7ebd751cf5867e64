// The keys of the private files this repo added: private.keys, a JSON map of root CID to key
// (base64url), mode 0600 like identity.key, so that `share <cid>` can print the whole link
// again. Only the owner's repo has it; a fetcher keeps no key (its link is the key).
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { keyFromText, keyToText } from '../files/cipher.js'
import { writeWhole } from './repo.js'

const keysPath = (repo: string): string => join(repo, 'private.keys')

/** Writes to one repo's key file, one after another (a read-modify-write each). */
const queues = new Map<string, Promise<void>>()

async function readKeys (repo: string): Promise<Record<string, string>> {
  try {
    const v: unknown = JSON.parse(await readFile(keysPath(repo), 'utf8'))
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? v as Record<string, string> : {}
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {}
    throw err
  }
}

export async function saveKey (repo: string, root: string, key: Uint8Array): Promise<void> {
  const path = keysPath(repo)
  const run = (queues.get(path) ?? Promise.resolve()).then(async () => {
    const keys = await readKeys(repo)
    keys[root] = keyToText(key)
    await writeWhole(path, JSON.stringify(keys, null, 1) + '\n', 'replace')
  })
  const settled = run.catch(() => {})
  queues.set(path, settled)
  void settled.then(() => { if (queues.get(path) === settled) queues.delete(path) })
  await run
}

/** The key this repo keeps for a root it added privately, if any. */
export async function loadKey (repo: string, root: string): Promise<Uint8Array | undefined> {
  const text = (await readKeys(repo))[root]
  return typeof text === 'string' ? keyFromText(text) : undefined
}
