// A file written to an output path by way of its pack (blockstore/packs.ts): every block is
// read and verified as an export reads it, chunks rebuilt from parity are put right in the
// pack, the pack is completed from wherever else chunks are stored, and the output becomes
// the pack (a hard link; a copy on another filesystem). The file's bytes are written once,
// by the fetch or add that stored them, or not at all when the repo held them packed.
import type { CID } from 'multiformats/cid'
import type { LevelBlockstore } from '../blockstore/level.js'
import { checkRootSize, exportTree, type TreeExportOptions } from '../files/directory.js'
import { exportFile, readRoot, type BlockSource, type ExportOptions, type ExportProgressEvents } from '../files/exporter.js'
import type { DirectoryNode, Manifest } from '../files/format.js'
import { checkOutput, linkAtomically } from '../files/fs.js'

export interface PackedExportOptions extends TreeExportOptions {
  /** Called for every stripe after its chunks are read (a fetch stores parity there). */
  onStripe?: ExportOptions['onStripe']
  /** Called once every block is read, before the pack is completed (a fetch's last parity writes). */
  beforeLink?: () => Promise<void>
}

/**
 * Writes file `root` (its manifest `node`) to `output` through its pack. The output and the
 * repo share that file afterwards: an edit of the output is a damaged block to `verify`, and
 * gc drops only the repo's name for it.
 */
export async function exportPacked (store: LevelBlockstore, source: BlockSource, { root, node, output }: { root: CID, node: Manifest, output: string }, options: PackedExportOptions = {}): Promise<void> {
  checkRootSize(root, node, options)
  await checkOutput(output, options.force === true) // before any reading or fetching, as an export checks
  const pack = root.toString()
  // The pack is named after the root: holding the root keeps the pack from gc throughout.
  const release = store.hold([root])
  try {
    const chunks: Array<{ cid: CID, offset: number }> = []
    const rebuilt = new Set<number>()
    const onProgress = (e: ExportProgressEvents): void => {
      if (e.type === 'files:export:repaired') for (const c of e.detail.chunks) rebuilt.add(c)
      options.onProgress?.(e)
    }
    const onStripe: ExportOptions['onStripe'] = async (manifest, stripe, data) => {
      const first = stripe.index * manifest.erasure.k
      const repaired: Array<{ bytes: Uint8Array, offset: number }> = []
      stripe.data.forEach((cid, i) => {
        const offset = (first + i) * manifest.chunkSize
        chunks.push({ cid, offset })
        if (rebuilt.delete(first + i)) repaired.push({ bytes: data.get(i) as Uint8Array, offset })
      })
      // What the pack holds for a rebuilt chunk is damaged or absent: the verified bytes go there.
      await store.writePack(pack, repaired)
      await options.onStripe?.(manifest, stripe, data)
    }
    await drain(source, root, { ...options, onProgress, onStripe })
    await options.beforeLink?.()
    const file = await store.completePack(pack, chunks, node.size, { signal: options.signal })
    await linkAtomically(file, output, { force: options.force })
  } finally {
    release()
  }
}

/**
 * Writes root `root` (its node `node`) to `output`: a public file by way of its pack, a
 * directory by export with each public file in it by way of its pack, a private file (whose
 * pack holds ciphertext: the output is decrypted) by export.
 */
export async function exportToOutput (store: LevelBlockstore, source: BlockSource, target: { root: CID, node: Manifest | DirectoryNode, output: string }, options: PackedExportOptions = {}): Promise<void> {
  const { root, node, output } = target
  if (node.type === 'file' && node.private === undefined) await exportPacked(store, source, { root, node, output }, options)
  else {
    // The tree's public files go through their packs too, each linked into the fresh tree.
    const placeFile = async (file: CID, manifest: Manifest, path: string): Promise<void> => {
      await exportPacked(store, source, { root: file, node: manifest, output: path }, { ...options, force: true })
    }
    await exportTree(source, root, output, { ...options, placeFile })
  }
}

/** Reads a whole tree through the source without writing it anywhere. */
export async function drain (source: BlockSource, root: CID, options: ExportOptions): Promise<void> {
  const node = await readRoot(source, root, options)
  if (node.type === 'directory') {
    for (const e of node.entries) await drain(source, e.cid, options)
    return
  }
  for await (const piece of exportFile(source, root, options)) { void piece }
}
