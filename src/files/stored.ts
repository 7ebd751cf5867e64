// How much of a root the repo holds already: what a fetch resumed after an interruption (or a
// full disk) does not need room for again.
import type { CID } from 'multiformats/cid'
import * as dagCbor from '@ipld/dag-cbor'
import type { Blockstore } from '../blockstore/blockstore.js'
import { decodeNode } from './format.js'

/** DAG nodes looked up at once: one index query for their presence, then their reads together. */
const BATCH = 64

/**
 * The bytes of `root`'s blocks present in `store`: its DAG nodes as stored, and each chunk
 * or parity block counted at its stripe's shard size (an upper bound: only a file's last
 * data chunk is shorter), so the chunks themselves are never read. Below a node that is
 * missing or unreadable nothing is counted: the fetch has yet to bring it. The DAG is walked
 * a level at a time, each level's presence asked in one query: a fresh fetch, which holds
 * the root only, learns that in one round trip to the index rather than one per stripe.
 */
export async function storedBytes (store: Blockstore, root: CID, options: { signal?: AbortSignal } = {}): Promise<number> {
  let total = 0
  const seen = new Set<string>()
  let level: CID[] = [root]
  while (level.length > 0) {
    const next: CID[] = []
    for (let i = 0; i < level.length; i += BATCH) {
      options.signal?.throwIfAborted()
      const nodes = level.slice(i, i + BATCH).filter(c => c.code === dagCbor.code && !seen.has(c.toString()))
      for (const c of nodes) seen.add(c.toString())
      if (nodes.length === 0) continue
      const present = await store.hasMany(nodes, options)
      const found = nodes.filter((_, j) => present[j])
      const blocks = await Promise.all(found.map(async c => await store.get(c, options).catch(() => undefined)))
      // Each stripe's chunks and parity, asked about together for the whole batch.
      const shards: CID[] = []
      const sizes: number[] = []
      found.forEach((cid, j) => {
        const bytes = blocks[j]
        if (bytes === undefined) return
        total += bytes.byteLength
        let node
        try {
          node = decodeNode(cid, bytes)
        } catch {
          return // verify reports it; the fetch replaces nothing here
        }
        if (node.type === 'file') next.push(...node.stripes.links)
        else if (node.type === 'index') next.push(...node.links)
        else if (node.type === 'directory') next.push(...node.entries.map(e => e.cid))
        else for (const c of [...node.data, ...node.parity]) { shards.push(c); sizes.push(node.shardSize) }
      })
      if (shards.length > 0) (await store.hasMany(shards, options)).forEach((has, j) => { if (has) total += sizes[j] })
    }
    level = next
  }
  return total
}
