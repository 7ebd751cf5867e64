// Direct (page-cache-bypassing) writes of large blocks: whatever the alignment of the
// position and the length, the file ends up holding exactly the bytes written, through the
// staging buffers when more writes run than there are buffers, and the open flags keep
// their meaning although two descriptors may write one file.
import { randomBytes } from 'node:crypto'
import { constants, mkdtempSync } from 'node:fs'
import { readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'chai'
import { ALIGN, DirectWriter } from '../../src/blockstore/direct.js'

const KiB = 1024
const CREATE = constants.O_RDWR | constants.O_CREAT

describe('blockstore/direct', () => {
  let dir: string
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'peerlink-direct-')) })
  afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

  it('writes aligned and unaligned blocks, with and without tails, in any order, to the exact bytes', async () => {
    const writer = new DirectWriter()
    const file = join(dir, 'pack')
    // Sizes and positions: whole units at aligned places, a tail after whole units, less
    // than a unit, and an unaligned place; more writes than staging buffers, in two sizes.
    const layout = [
      { position: 0, size: 256 * KiB },
      { position: 256 * KiB, size: 256 * KiB },
      { position: 1024 * KiB, size: 512 * KiB + 123 },
      { position: 2048 * KiB, size: 100 },
      { position: 3000 * KiB + 7, size: 64 * KiB },
      { position: 4096 * KiB, size: 1024 * KiB },
      { position: 5120 * KiB, size: 1024 * KiB },
      { position: 6144 * KiB, size: ALIGN }
    ]
    const writes = layout.map(l => ({ bytes: randomBytes(l.size), position: l.position })).reverse()
    await writer.write(file, CREATE, writes)
    const got = await readFile(file)
    for (const w of writes) expect(Buffer.compare(got.subarray(w.position, w.position + w.bytes.byteLength), w.bytes)).to.equal(0)
    expect((await stat(file)).size).to.equal(6144 * KiB + ALIGN)
  })

  it('keeps what a file holds when it is opened again without O_TRUNC, and refuses an existing file under O_EXCL', async () => {
    const writer = new DirectWriter()
    const file = join(dir, 'block')
    const first = randomBytes(128 * KiB + 5)
    await writer.write(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, [{ bytes: first, position: 0 }])
    expect(Buffer.compare(await readFile(file), first)).to.equal(0)
    const second = randomBytes(64 * KiB)
    await writer.write(file, CREATE, [{ bytes: second, position: 256 * KiB }])
    const got = await readFile(file)
    expect(Buffer.compare(got.subarray(0, first.byteLength), first)).to.equal(0)
    expect(Buffer.compare(got.subarray(256 * KiB), second)).to.equal(0)
    let code: string | undefined
    await writer.write(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, [{ bytes: first, position: 0 }]).catch((err: NodeJS.ErrnoException) => { code = err.code })
    expect(code).to.equal('EEXIST')
  })

  it('runs writes from many callers at once through its few staging buffers, each file right', async () => {
    const writer = new DirectWriter()
    const files = Array.from({ length: 12 }, (_, i) => ({ path: join(dir, `f${i}`), bytes: randomBytes((i % 3 + 1) * 192 * KiB) }))
    await Promise.all(files.map(async f => { await writer.write(f.path, CREATE, [{ bytes: f.bytes, position: 0 }]) }))
    for (const f of files) expect(Buffer.compare(await readFile(f.path), f.bytes)).to.equal(0)
  })
})
