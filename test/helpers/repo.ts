// Temporary repos and stores for tests, removed afterwards.
import { execFileSync } from 'node:child_process'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { LevelBlockstore } from '../../src/blockstore/index.js'
import { tempDir } from '../../simulations/lib/network.js'

export { tempDir }

export async function tempStore (): Promise<{ store: LevelBlockstore, path: string, cleanup: () => Promise<void> }> {
  const dir = await tempDir()
  const store = new LevelBlockstore(join(dir.path, 'blocks'))
  await store.open()
  return { store, path: dir.path, cleanup: async () => { await store.close().catch(() => {}); await dir.cleanup() } }
}

export async function collect (source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = []
  for await (const p of source) parts.push(p)
  return Buffer.concat(parts)
}

export { damageBlock, stripesOf } from '../../simulations/lib/dag.js'

/**
 * A small disk: a tmpfs of `sizeMiB` mounted at `path` (made here), for full-disk tests.
 * Mounting needs root; elsewhere the test is skipped, saying why.
 */
export async function smallDisk (test: Mocha.Context, path: string, sizeMiB: number): Promise<{ path: string, unmount: () => void }> {
  await mkdir(path)
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m`, 'tmpfs', path], { stdio: 'ignore' })
  } catch {
    console.log('      (cannot mount a tmpfs here: needs root; a full disk is not exercised)')
    test.skip()
  }
  return { path, unmount: () => { execFileSync('umount', [path]) } }
}
