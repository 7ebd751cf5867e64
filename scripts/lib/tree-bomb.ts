// The tree figure of bench:abuse: a directory that claims 1 MiB (two entries of 512 KiB) but
// whose second entry is a directory naming one 512 KiB file 100 times (50 MiB). Exported
// from a LevelDB blockstore in this process, through a source that counts the bytes of file
// data it hands out (raw chunks: what the export writes), until the export refuses the tree.
import { join } from 'node:path'
import type { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { LevelBlockstore } from '../../src/blockstore/level.js'
import { TreeLimitError, InvalidManifestError } from '../../src/errors.js'
import { exportTree } from '../../src/files/directory.js'
import type { BlockSource } from '../../src/files/exporter.js'
import { encodeNode } from '../../src/files/format.js'
import { importFile } from '../../src/files/importer.js'

const KiB = 1024

/** Bytes of file data read for the output before the export refused the tree. */
export async function treeWrittenBeforeRefusal (dir: string): Promise<number> {
  const store = new LevelBlockstore(join(dir, 'tree-blocks'))
  await store.open()
  try {
    const f = await importFile(store, [Buffer.alloc(512 * KiB, 1)], { name: 'f', chunkSize: 64 * KiB, k: 2, m: 1 })
    f.release()
    const node = async (name: string, size: number, entries: Array<{ name: string, cid: CID, size: number, type: 'file' | 'directory' }>): Promise<CID> => {
      const n = encodeNode({ peerlink: 1, type: 'directory', name, size, entries })
      await store.putMany([n])
      return n.cid
    }
    const inner = await node('inner', 100 * f.size, Array.from({ length: 100 }, (_, i) => ({ name: `copy-${i}`, cid: f.cid, size: f.size, type: 'file' as const })))
    const root = await node('bomb', 2 * f.size, [{ name: 'a', cid: f.cid, size: f.size, type: 'file' }, { name: 'b', cid: inner, size: f.size, type: 'directory' }])
    let handed = 0
    const count = (cid: CID, bytes: Uint8Array | undefined): void => { if (cid.code === raw.code && bytes !== undefined) handed += bytes.byteLength }
    const source: BlockSource = {
      get: async (cid, options) => { const b = await store.get(cid, options); count(cid, b); return b },
      getMany: async function * (cids, options) {
        for await (const r of store.getMany(cids, options)) { count(r.cid, r.bytes); yield r }
      }
    }
    const err = await exportTree(source, root, join(dir, 'bomb-out')).then(() => undefined, (e: Error) => e)
    if (!(err instanceof TreeLimitError || err instanceof InvalidManifestError)) throw new Error(`the tree bomb was not refused: ${String(err)}`)
    return handed
  } finally {
    await store.close()
  }
}
