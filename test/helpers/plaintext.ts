// Searching a stopped repo for plaintext: a marker planted in a private file's name and
// content must show nowhere in the repo of a node that holds only its ciphertext.
import { randomBytes } from 'node:crypto'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'

export const MARKER = 'PLAINTEXT-MARKER-7f3a9c'

/** Every file under `dir`, read whole. */
async function * filesUnder (dir: string): AsyncGenerator<{ path: string, bytes: Buffer }> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, e.name)
    if (e.isDirectory()) yield * filesUnder(path)
    else if (e.isFile()) yield { path, bytes: await readFile(path) }
  }
}

/** Where the marker shows in a (stopped) repo: any file's bytes, or any LevelDB key or value. */
export async function markerIn (repo: string): Promise<string[]> {
  const found: string[] = []
  for await (const f of filesUnder(repo)) if (f.bytes.includes(MARKER)) found.push(f.path)
  const db = new ClassicLevel<Uint8Array, Uint8Array>(join(repo, 'blocks', 'index'), { keyEncoding: 'view', valueEncoding: 'view' })
  await db.open()
  try {
    for await (const [k, v] of db.iterator()) {
      if (Buffer.from(k).includes(MARKER) || Buffer.from(v).includes(MARKER)) found.push(`LevelDB entry ${Buffer.from(k).toString('hex').slice(0, 16)}…`)
    }
  } finally {
    await db.close()
  }
  return found
}

/** A file named after the marker with the marker all through its content (`pieces` × ~20 KB). */
export async function markedFile (dir: string, pieces: number): Promise<{ path: string, content: Buffer }> {
  const parts: Buffer[] = []
  for (let i = 0; i < pieces; i++) parts.push(Buffer.from(randomBytes(15_000).toString('base64')), Buffer.from(MARKER))
  const content = Buffer.concat(parts)
  const path = join(dir, `${MARKER}.txt`)
  await writeFile(path, content)
  return { path, content }
}
