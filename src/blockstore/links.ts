// The CIDs a block links to, read generically from its codec: dag-cbor nodes are walked for
// every CID value; raw blocks have none. Pins and garbage collection use this, so they need
// no knowledge of what the DAG means.
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'

export function * links (cid: CID, bytes: Uint8Array): Generator<CID> {
  if (cid.code !== dagCbor.code) return // raw chunks, and codecs we do not write, link nothing
  yield * walk(dagCbor.decode(bytes), 0)
}

function * walk (value: unknown, depth: number): Generator<CID> {
  if (depth > 64) return // a node is a block of at most 2 MiB; deeper nesting is hostile
  const cid = CID.asCID(value)
  if (cid != null) {
    yield cid
    return
  }
  if (Array.isArray(value)) {
    for (const v of value) yield * walk(v, depth + 1)
  } else if (value !== null && typeof value === 'object' && !(value instanceof Uint8Array)) {
    for (const v of Object.values(value)) yield * walk(v, depth + 1)
  }
}

/**
 * The dag-cbor blocks under a root (a file's or tree's DAG nodes, no chunk or parity), root
 * first, breadth first, each read once, with its size.
 */
export async function dagNodes (source: { get: (cid: CID, options?: { signal?: AbortSignal }) => Promise<Uint8Array> }, root: CID, options: { signal?: AbortSignal } = {}): Promise<Array<{ cid: CID, size: number }>> {
  const out: Array<{ cid: CID, size: number }> = []
  const queue = [root]
  const seen = new Set<string>()
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    options.signal?.throwIfAborted()
    const id = next.toString()
    if (seen.has(id) || next.code !== dagCbor.code) continue // raw blocks are chunks or parity
    seen.add(id)
    const bytes = await source.get(next, options)
    out.push({ cid: next, size: bytes.byteLength })
    queue.push(...links(next, bytes))
  }
  return out
}
