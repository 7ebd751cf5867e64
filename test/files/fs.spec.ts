// Writing a file all-or-nothing: the bytes land whole under their name, or nothing does.
import { createHash, randomBytes } from 'node:crypto'
import { spawn } from 'node:child_process'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'chai'
import { FileExistsError } from '../../src/errors.js'
import { writeAtomically } from '../../src/files/fs.js'
import { tempDir } from '../helpers/repo.js'

const MiB = 1024 * 1024
/** Past the size at which the temporary file is first flushed while the rest still comes. */
const LARGE = 160 * MiB
const base = randomBytes(MiB)

/** LARGE bytes as 1 MiB pieces, each different; throws instead of the piece at `failAt`. */
async function * pieces (failAt = Infinity): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < LARGE / MiB; i++) {
    if (i * MiB >= failAt) throw new Error('the source broke off')
    const p = Buffer.from(base)
    p.writeUInt32LE(i, 0)
    yield p
  }
}

async function digest (source: AsyncIterable<Uint8Array>): Promise<string> {
  const h = createHash('sha256')
  for await (const p of source) h.update(p)
  return h.digest('hex')
}

describe('writeAtomically', function () {
  this.timeout(60_000)
  let dir: string
  let cleanup: () => Promise<void>
  beforeEach(async () => { ({ path: dir, cleanup } = await tempDir()) })
  afterEach(async () => { await cleanup() })

  it('writes a large stream whole under its name, with no temporary file left', async () => {
    const out = join(dir, 'big.bin')
    expect(await writeAtomically(out, pieces())).to.equal(LARGE)
    expect(createHash('sha256').update(await readFile(out)).digest('hex')).to.equal(await digest(pieces()))
    expect(await readdir(dir)).to.deep.equal(['big.bin'])
  })

  it('writes pieces of any size whole, past the switch to direct writes and with an unaligned tail', async () => {
    for (const [total, piece] of [[100, 7], [8 * MiB + 5, MiB - 16], [24 * MiB + 4097, MiB - 16], [16 * MiB, MiB], [9 * MiB + 11, 65536 + 3]]) {
      const bytes = randomBytes(total)
      const out = join(dir, `f${total}`)
      const source = async function * (): AsyncGenerator<Uint8Array> {
        for (let at = 0; at < total; at += piece) yield bytes.subarray(at, Math.min(total, at + piece))
      }
      expect(await writeAtomically(out, source())).to.equal(total)
      expect((await readFile(out)).equals(bytes)).to.equal(true, `${total} bytes in pieces of ${piece}`)
    }
  })

  it('leaves nothing behind when the source fails after part of the file was flushed', async () => {
    const err = await writeAtomically(join(dir, 'broken.bin'), pieces(LARGE - 16 * MiB)).then(() => undefined, (e: Error) => e)
    expect(err?.message).to.equal('the source broke off')
    expect(await readdir(dir)).to.deep.equal([])
  })

  it('refuses to replace an existing file unless forced, and replaces it whole when forced', async () => {
    const out = join(dir, 'there.bin')
    await writeFile(out, 'old')
    const err = await writeAtomically(out, pieces()).then(() => undefined, (e: Error) => e)
    expect(err).to.be.instanceOf(FileExistsError)
    expect(await readFile(out, 'utf8')).to.equal('old')
    expect(await writeAtomically(out, pieces(), { force: true })).to.equal(LARGE)
    expect(await readdir(dir)).to.deep.equal(['there.bin'])
  })
  it('does not replace a file that appears while it writes, unless forced', async () => {
    const out = join(dir, 'raced.bin')
    async function * appearing (): AsyncGenerator<Uint8Array> {
      yield Buffer.from(base)
      await writeFile(out, 'written meanwhile') // by the user, or by another fetch
      yield Buffer.from(base)
    }
    const err = await writeAtomically(out, appearing()).then(() => undefined, (e: Error) => e)
    expect(err).to.be.instanceOf(FileExistsError)
    expect(await readFile(out, 'utf8')).to.equal('written meanwhile')
    expect(await readdir(dir)).to.deep.equal(['raced.bin'])
  })

  it('deletes the temporary file of a writer that was killed, and keeps a live writer\'s', async () => {
    const child = spawn(process.execPath, ['-e', '0'])
    const deadPid = await new Promise<number>(resolve => child.once('exit', () => { resolve(child.pid as number) }))
    const dead = `.left.bin.peerlink-${deadPid}-0123456789ab.tmp`
    const live = `.left.bin.peerlink-${process.ppid}-0123456789ab.tmp`
    await writeFile(join(dir, dead), 'half a file')
    await writeFile(join(dir, live), 'being written')
    expect(await writeAtomically(join(dir, 'left.bin'), pieces())).to.equal(LARGE)
    expect((await readdir(dir)).sort()).to.deep.equal([live, 'left.bin'].sort())
  })
  it('says what is wrong with an output path it cannot write, before reading the source', async () => {
    let read = false
    async function * source (): AsyncGenerator<Uint8Array> { read = true; yield Buffer.from('x') }
    const cases: Array<[string, RegExp]> = [
      [dir, /is a directory: name the file to write/],
      [join(dir, 'missing', 'out.bin'), /the directory .*missing does not exist/],
      ['/dev/null', /is not a regular file/]
    ]
    for (const [path, message] of cases) {
      const err = await writeAtomically(path, source(), { force: true }).then(() => undefined, (e: Error & { exitCode?: number }) => e)
      expect(err?.message, path).to.match(message)
      expect(err?.exitCode, path).to.equal(2)
    }
    expect(read).to.equal(false)
  })
})
