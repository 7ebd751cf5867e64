// A file's blocks by role, read from any block source: its DAG nodes (manifest, index and
// stripe nodes) and, per stripe, the data chunks and parity blocks a stripe node names.
import { open, rm } from 'node:fs/promises'
import type { CID } from 'multiformats/cid'
import { dagNodes } from '../../src/blockstore/links.js'
import type { LevelBlockstore } from '../../src/blockstore/level.js'
import { readManifest, StripeLocator, type BlockSource } from '../../src/files/exporter.js'
import type { StripeNode } from '../../src/files/format.js'

/** Every stripe of a file, with the CID of its stripe node, read through the index. */
export async function stripesOf (source: BlockSource, root: CID): Promise<Array<{ cid: CID, node: StripeNode }>> {
  const manifest = await readManifest(source, root)
  const locator = new StripeLocator(source, manifest)
  return await Promise.all(Array.from({ length: manifest.stripeCount }, async (_, s) => ({ cid: await locator.cid(s), node: await locator.node(s) })))
}

/** The DAG nodes under a root (everything but chunks and parity), root first. */
export async function dagNodesOf (source: BlockSource, root: CID): Promise<CID[]> {
  return (await dagNodes(source, root)).map(n => n.cid)
}

/**
 * Damages a stored chunk or parity block where it lies: `flip` inverts its byte at `at`
 * (modulo its size);
 * `remove` deletes its own file, or (in a pack, where the bytes of other blocks surround it)
 * inverts its first byte, which a reader finds the same way: the block is lost.
 */
export async function damageBlock (store: LevelBlockstore, cid: CID, how: 'flip' | 'remove' = 'flip', at = 0): Promise<void> {
  const where = await store.locate(cid)
  if (where === undefined) throw new Error(`${cid.toString()} is not stored outside the index`)
  if (how === 'remove' && where.offset === 0 && where.path.endsWith(cid.toString())) { await rm(where.path); return }
  const position = where.offset + (at % where.size)
  const fh = await open(where.path, 'r+')
  try {
    const byte = Buffer.alloc(1)
    await fh.read(byte, 0, 1, position)
    byte[0] ^= 0xff
    await fh.write(byte, 0, 1, position)
  } finally {
    await fh.close()
  }
}
