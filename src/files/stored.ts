// How much of a root the repo holds already: what a fetch resumed after an interruption (or a
// full disk) does not need room for again.
import type { CID } from 'multiformats/cid'
import * as dagCbor from '@ipld/dag-cbor'
import type { Blockstore } from '../blockstore/blockstore.js'
import { decodeNode } from './format.js'

/**
 * The bytes of `root`'s blocks present in `store`: its DAG nodes as stored, and each chunk
 * or parity block counted at its stripe's shard size (an upper bound: only a file's last
 * data chunk is shorter), so the chunks themselves are never read. Below a node that is
 * missing or unreadable nothing is counted: the fetch has yet to bring it.
 */
export async function storedBytes (store: Blockstore, root: CID, options: { signal?: AbortSignal } = {}): Promise<number> {
  let total = 0
  const stack: CID[] = [root]
  const seen = new Set<string>()
  while (stack.length > 0) {
    options.signal?.throwIfAborted()
    const cid = stack.pop() as CID
    if (seen.has(cid.toString()) || cid.code !== dagCbor.code) continue
    seen.add(cid.toString())
    const bytes = await store.get(cid, options).catch(() => undefined)
    if (bytes === undefined) continue
    total += bytes.byteLength
    let node
    try {
      node = decodeNode(cid, bytes)
    } catch {
      continue // verify reports it; the fetch replaces nothing here
    }
    if (node.type === 'file') stack.push(...node.stripes.links)
    else if (node.type === 'index') stack.push(...node.links)
    else if (node.type === 'directory') stack.push(...node.entries.map(e => e.cid))
    else {
      const present = await store.hasMany([...node.data, ...node.parity], options)
      total += present.filter(Boolean).length * node.shardSize
    }
  }
  return total
}
