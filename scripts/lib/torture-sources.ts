// The files the torture run's provider serves: made from the run's seed, added to the
// provider's repo before its daemon starts, with the blocks a fetch of each must bring.
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { CID } from 'multiformats/cid'
import { FILE_THRESHOLD } from '../../src/blockstore/level.js'
import { readManifest } from '../../src/files/exporter.js'
import { PeerLinkNode } from '../../src/node/peerlink.js'
import { dagNodesOf, stripesOf } from '../../simulations/lib/dag.js'
import type { Rng } from '../../simulations/lib/rng.js'

export interface Source {
  name: string
  /** The file it was added from. */
  path: string
  root: CID
  /** Its share ticket, once the provider's daemon runs. */
  ticket: string
  /** What a fetch brings over the network: the DAG nodes and the data chunks (parity is computed). */
  needed: CID[]
  /** Its chunks and parity blocks stored outside the index (what a verify round damages). */
  files: CID[]
  /** Each data chunk's offset in the file and size: its place in the pack of a repo that stores it packed. */
  places: Map<string, { offset: number, size: number }>
}

/** Files served, as [smallest, largest] sizes in MiB: small to large fetches. */
const SIZES_MIB: Array<[number, number]> = [[1, 4], [4, 12], [12, 24]]
const CHUNK_SIZE = 256 * 1024

export async function addSources (repo: string, dir: string, rng: Rng): Promise<Source[]> {
  await mkdir(dir, { recursive: true })
  const node = await PeerLinkNode.open(repo)
  try {
    const out: Source[] = []
    for (const [i, [lo, hi]] of SIZES_MIB.entries()) {
      const name = `source-${i}.bin`
      await writeFile(join(dir, name), rng.bytes((lo + rng.int(hi - lo + 1)) * 1024 * 1024 - rng.int(CHUNK_SIZE)))
      const root = (await node.add(join(dir, name), { chunkSize: CHUNK_SIZE })).cid
      const stripes = await stripesOf(node.blockstore, root)
      const blocks = stripes.flatMap(s => [...s.node.data, ...s.node.parity])
      const manifest = await readManifest(node.blockstore, root)
      const sizes = await Promise.all(blocks.map(async c => (await node.blockstore.get(c)).byteLength))
      const isFile = (_: CID, i: number): boolean => sizes[i] >= FILE_THRESHOLD
      out.push({
        name,
        path: join(dir, name),
        root,
        ticket: '',
        needed: [...await dagNodesOf(node.blockstore, root), ...stripes.flatMap(s => s.node.data)],
        files: blocks.filter(isFile),
        places: new Map(stripes.flatMap(s => s.node.data.map((c, i) => {
          const offset = (s.node.index * manifest.erasure.k + i) * manifest.chunkSize
          return [c.toString(), { offset, size: Math.min(manifest.chunkSize, manifest.size - offset) }]
        })))
      })
    }
    return out
  } finally {
    await node.stop()
  }
}
