// A file's blocks as spreading sees them: its DAG nodes (replicated), and per stripe the data
// chunks then the parity blocks (coded), each with its size, read from the repo's nodes only:
// chunk sizes come from the manifest, so no chunk is read to plan where it goes.
import { CID } from 'multiformats/cid'
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
  const top = await readNode(source, root, options)
  if (top.type !== 'file') throw new InvalidArgumentError(`${root.toString()} is a ${top.type}, not a file: spread takes a file's root`)
  const manifest = top
  const nodes: LayoutBlock[] = [{ cid: root, size: (await source.get(root, options)).byteLength }]
  const seen = new Set<string>([root.toString()])
  const locator = new StripeLocator(source, manifest)
  const stripes: FileLayout['stripes'] = []
  const k = manifest.erasure.k
  for (let s = 0; s < manifest.stripeCount; s++) {
    options.signal?.throwIfAborted()
    const cid = await locator.cid(s, options)
    const node = await locator.node(s, options)
    nodes.push({ cid, size: (await source.get(cid, options)).byteLength })
    seen.add(cid.toString())
    const data = node.data.map((c, i) => ({ cid: c, size: chunkLength(manifest, s * k + i) }))
    const parity = node.parity.map(c => ({ cid: c, size: node.shardSize }))
    stripes.push({ blocks: [...data, ...parity], k: node.data.length })
  }
  // Index nodes sit between the manifest and the stripe nodes.
  for (const cid of await indexNodes(source, manifest, options)) {
    if (seen.has(cid.toString())) continue
    seen.add(cid.toString())
    nodes.push({ cid, size: (await source.get(cid, options)).byteLength })
  }
  return { manifest, nodes, stripes }
}

async function indexNodes (source: BlockSource, manifest: Manifest, options: { signal?: AbortSignal }): Promise<CID[]> {
  const out: CID[] = []
  let level = manifest.stripes.depth > 0 ? manifest.stripes.links : []
  for (let d = manifest.stripes.depth; d > 0; d--) {
    out.push(...level)
    const next: CID[] = []
    for (const cid of level) {
      const node = await readNode(source, cid, options)
      if (node.type === 'index' && d > 1) next.push(...node.links)
    }
    level = next
  }
  return out
}
