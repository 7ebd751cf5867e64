// A root's blocks as spreading sees them: its DAG nodes (replicated), and per stripe the data
// chunks then the parity blocks (coded), each with its size, read from the repo's nodes only:
// chunk sizes come from the manifest, so no chunk is read to plan where it goes. A directory
// root is one tree: its directory nodes and every file's DAG nodes are its nodes, and the
// stripes of its files, in the order treeStripes walks them, are its stripes, numbered from 0
// across the tree. Anyone with the tree walks it the same way (a private one too: its entries'
// CIDs are in the clear), so stripe i's key (stripeKey(root, i)) can be recomputed by anyone.
import type { CID } from 'multiformats/cid'
import { dagNodes } from '../blockstore/links.js'
import { InvalidArgumentError } from '../errors.js'
import { readNode, StripeLocator, type BlockSource } from '../files/exporter.js'
import { chunkLength, MAX_TREE_ENTRIES, type Manifest, type StripeNode } from '../files/format.js'

export interface LayoutBlock { cid: CID, size: number }

export interface FileLayout {
  /** The manifest, index and stripe nodes (and a tree's directory nodes), root first. */
  nodes: LayoutBlock[]
  /** Per stripe: its data chunks, then its parity blocks; `k` of them rebuild the stripe. */
  stripes: Array<{ blocks: LayoutBlock[], k: number }>
}

/** One stripe of a root: its number across the tree, its file, its number in the file, and its node. */
export interface TreeStripe { index: number, file: CID, manifest: Manifest, stripe: number, node: StripeNode }

/**
 * The stripes of a file root, or of every file under a directory root (depth first, entries
 * in their order; a file the tree holds twice is walked once), numbered from 0.
 */
export async function * treeStripes (source: BlockSource, root: CID, options: { signal?: AbortSignal, maxEntries?: number } = {}): AsyncGenerator<TreeStripe> {
  const maxEntries = options.maxEntries ?? MAX_TREE_ENTRIES
  const seen = new Set<string>()
  const stack: CID[] = [root]
  let index = 0
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    options.signal?.throwIfAborted()
    if (seen.has(next.toString())) continue
    seen.add(next.toString())
    if (seen.size > maxEntries) throw new InvalidArgumentError(`${root.toString()} holds more than ${maxEntries} files and directories: too many to spread as one root`)
    const node = await readNode(source, next, options)
    if (node.type === 'directory') {
      // Reversed onto the stack, so the first entry is walked first.
      for (let i = node.entries.length - 1; i >= 0; i--) stack.push(node.entries[i].cid)
      continue
    }
    if (node.type !== 'file') throw new InvalidArgumentError(`${next.toString()} is a ${node.type} node, not a file or directory: spread takes the root of a file or a tree`)
    const locator = new StripeLocator(source, node)
    for (let s = 0; s < node.stripeCount; s++) yield { index: index++, file: next, manifest: node, stripe: s, node: await locator.node(s, options) }
  }
}

export async function fileLayout (source: BlockSource, root: CID, options: { signal?: AbortSignal } = {}): Promise<FileLayout> {
  const stripes: FileLayout['stripes'] = []
  for await (const { manifest, stripe, node } of treeStripes(source, root, options)) {
    const k = manifest.erasure.k
    const data = node.data.map((c, i) => ({ cid: c, size: chunkLength(manifest, stripe * k + i) }))
    const parity = node.parity.map(c => ({ cid: c, size: node.shardSize }))
    stripes.push({ blocks: [...data, ...parity], k: node.data.length })
  }
  return { nodes: await dagNodes(source, root, options), stripes }
}
