// Temporary repos and stores for tests, removed afterwards.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { CID } from 'multiformats/cid'
import { LevelBlockstore } from '../../src/blockstore/index.js'
import { readManifest, StripeLocator, type BlockSource } from '../../src/files/exporter.js'
import type { StripeNode } from '../../src/files/format.js'

export async function tempDir (prefix = 'peerlink-test-'): Promise<{ path: string, cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix))
  return { path, cleanup: async () => { await rm(path, { recursive: true, force: true }) } }
}

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

/** Every stripe of a file, with the CID of its stripe node, read through the index. */
export async function stripesOf (source: BlockSource, root: CID): Promise<Array<{ cid: CID, node: StripeNode }>> {
  const manifest = await readManifest(source, root)
  const locator = new StripeLocator(source, manifest)
  return await Promise.all(Array.from({ length: manifest.stripeCount }, async (_, s) => ({ cid: await locator.cid(s), node: await locator.node(s) })))
}
