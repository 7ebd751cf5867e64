// Temporary repos and stores for tests, removed afterwards.
import { join } from 'node:path'
import { LevelBlockstore } from '../../src/blockstore/index.js'
import { tempDir } from '../../simulations/lib/network.js'

export { tempDir }

export async function tempStore (): Promise<{ store: LevelBlockstore, path: string, cleanup: () => Promise<void> }> {
  const dir = await tempDir()
  const store = new LevelBlockstore(join(dir.path, 'blocks'))
  await store.open()
  return { store, path: dir.path, cleanup: async () => { await store.close().catch(() => {}); await dir.cleanup() } }
}

export async function collect (source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = []
  for await (const p of source) parts.push(p)
  return Buffer.concat(parts)
}

export { stripesOf } from '../../simulations/lib/dag.js'
