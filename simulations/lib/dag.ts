// A file's blocks by role, read from any block source: its DAG nodes (manifest, index and
// stripe nodes) and, per stripe, the data chunks and parity blocks a stripe node names.
import type { CID } from 'multiformats/cid'
import { links } from '../../src/blockstore/links.js'
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
  const out: CID[] = []
  const queue = [root]
  const seen = new Set<string>()
  while (queue.length > 0) {
    const cid = queue.shift() as CID
    if (seen.has(cid.toString()) || cid.code !== 0x71) continue // raw blocks are chunks or parity
    seen.add(cid.toString())
    out.push(cid)
    queue.push(...links(cid, await source.get(cid)))
  }
  return out
}
