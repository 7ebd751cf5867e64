// The benchmarks' input file and output check: a file of random bytes written in 16 MiB
// pieces (the bench itself never holds more), and the BLAKE3 of a file read in 4 MiB chunks.
// Every piece is filled afresh: a piece reused with one byte changed would repeat all its
// chunks but the first, and content addressing would store and move each only once.
import { randomFillSync } from 'node:crypto'
import { closeSync, openSync, writeSync } from 'node:fs'
import { readChunks } from '../../src/files/fs.js'
import { createBlake3Hasher } from '../../src/hash/index.js'

const MiB = 1024 * 1024

export function writeRandomFile (path: string, bytes: number): void {
  const fd = openSync(path, 'w')
  try {
    const piece = Buffer.allocUnsafe(16 * MiB)
    for (let done = 0; done < bytes; done += piece.length) {
      randomFillSync(piece)
      writeSync(fd, piece, 0, Math.min(piece.length, bytes - done))
    }
  } finally {
    closeSync(fd)
  }
}

export async function blake3File (path: string): Promise<string> {
  const h = createBlake3Hasher()
  for await (const c of readChunks(path, 4 * MiB)) h.update(c)
  return Buffer.from(h.digest()).toString('hex')
}
