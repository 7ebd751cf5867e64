// A file's blocks as spreading sees them: its DAG nodes (replicated), and per stripe the data
// chunks then the parity blocks (coded), each with its size, read from the repo's nodes only:
// chunk sizes come from the manifest, so no chunk is read to plan where it goes.
import type { CID } from 'multiformats/cid'
import { dagNodes } from '../blockstore/links.js'
import { InvalidArgumentError } from '../errors.js'
import { readNode, StripeLocator, type BlockSource } from '../files/exporter.js'
import { chunkLength, type Manifest } from '../files/format.js'

export interface LayoutBlock { cid: CID, size: number }

export interface FileLayout {
  manifest: Manifest
  /** The manifest, index and stripe nodes, root first. */
  nodes: LayoutBlock[]
  /** Per stripe: its data chunks, then its parity blocks; `k` of them rebuild the stripe. */
  stripes: Array<{ blocks: LayoutBlock[], k: number }>
}

export async function fileLayout (source: BlockSource, root: CID, options: { signal?: AbortSignal } = {}): Promise<FileLayout> {
  const manifest = await readNode(source, root, options)
  if (manifest.type !== 'file') throw new InvalidArgumentError(`${root.toString()} is a ${manifest.type}, not a file: spread takes a file's root`)
  const locator = new StripeLocator(source, manifest)
  const stripes: FileLayout['stripes'] = []
  const k = manifest.erasure.k
  for (let s = 0; s < manifest.stripeCount; s++) {
    options.signal?.throwIfAborted()
    const node = await locator.node(s, options)
    const data = node.data.map((c, i) => ({ cid: c, size: chunkLength(manifest, s * k + i) }))
    const parity = node.parity.map(c => ({ cid: c, size: node.shardSize }))
    stripes.push({ blocks: [...data, ...parity], k: node.data.length })
  }
  return { manifest, nodes: await dagNodes(source, root, options), stripes }
}
