// A file fetched to an output is stored once: its chunks go into the pack named after its
// root, which becomes the output (a hard link), for each file of a fetched directory too; verify sees edits made through the output,
// and gc drops only the repo's name for the pack.
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'chai'
import { FILE_THRESHOLD } from '../../src/blockstore/level.js'
import { parseTarget } from '../../src/node/ticket.js'
import { randomFile, startNetwork, type TestNetwork } from '../helpers/network.js'
import { stripesOf } from '../helpers/repo.js'

const KiB = 1024
const CHUNK = 256 * KiB

describe('fetch to an output stores the file once', function () {
  this.timeout(90_000)
  let net: TestNetwork
  before(async () => { net = await startNetwork(2) })
  after(async () => { await net?.stop() })

  it('links the output to the repo\'s pack of the file, with no block file for its data chunks', async () => {
    const [a, b] = net.nodes
    const f = await randomFile(net.dir, 'packed.bin', 3 * 1024 * KiB + 777)
    const added = await a.add(f.path, { chunkSize: CHUNK, k: 4, m: 2 })
    const out = join(net.dir, 'packed.out')
    await b.fetch(parseTarget(added.cid.toString()), { output: out })
    expect((await readFile(out)).equals(f.bytes)).to.equal(true)
    const pack = join(b.repoPath, 'blocks', 'packs', added.cid.toString())
    const [o, p] = [await stat(out), await stat(pack)]
    expect(o.ino).to.equal(p.ino)
    expect(o.nlink).to.equal(2)
    // Only parity is stored loose: one file per parity block (the small ones stay in the index).
    const stripes = await stripesOf(b.blockstore, added.cid)
    const loose = (await readdir(join(b.repoPath, 'blocks', 'data'), { recursive: true, withFileTypes: true })).filter(e => e.isFile()).map(e => e.name).sort()
    expect(loose).to.deep.equal(stripes.filter(s => s.node.shardSize >= FILE_THRESHOLD).flatMap(s => s.node.parity.map(c => c.toString())).sort())
    expect((await b.verify(added.cid, { repair: false })).ok).to.equal(true)

    // An edit through the output is a corrupt chunk to verify, which rebuilds it (loose) from parity.
    const edited = Buffer.from(f.bytes)
    edited[CHUNK + 3] ^= 0xff
    await writeFile(out, edited) // in place: the same file as the pack
    const report = await b.verify(added.cid)
    expect(report.damaged.map(d => [d.cid, d.reason])).to.deep.equal([[stripes[0].node.data[1].toString(), 'corrupt']])
    expect(report.repaired).to.have.length(1)
    expect(report.ok).to.equal(true)
    expect((await b.verify(added.cid, { repair: false })).damaged).to.deep.equal([])
    expect((await readFile(out)).equals(edited)).to.equal(true) // the user's file stays as they left it

    // Unpinned and collected: the repo's pack goes, the output stays whole.
    await b.rm(added.cid)
    await b.gc()
    expect(await readdir(join(b.repoPath, 'blocks', 'packs'))).to.deep.equal([])
    expect((await readFile(out)).equals(edited)).to.equal(true)
  })

  it('adds a file\'s chunks into the pack named after its root, which a fetch from the repo links as the output', async () => {
    const [a] = net.nodes
    const f = await randomFile(net.dir, 'added.bin', 2 * 1024 * KiB + 5)
    const added = await a.add(f.path, { chunkSize: CHUNK, k: 4, m: 2 })
    const pack = join(a.repoPath, 'blocks', 'packs', added.cid.toString())
    // All but the 5-byte last chunk, which is small enough to live in the index.
    expect((await readFile(pack)).equals(f.bytes.subarray(0, 2 * 1024 * KiB))).to.equal(true)
    const stripes = await stripesOf(a.blockstore, added.cid)
    const loose = (await readdir(join(a.repoPath, 'blocks', 'data'), { recursive: true, withFileTypes: true })).filter(e => e.isFile()).map(e => e.name)
    for (const c of stripes.flatMap(s => s.node.data)) expect(loose).to.not.include(c.toString())
    const out = join(net.dir, 'added.out')
    await a.fetch(parseTarget(added.cid.toString()), { output: out })
    expect((await stat(out)).ino).to.equal((await stat(pack)).ino)
    expect((await readFile(out)).equals(f.bytes)).to.equal(true)
    // Written again over itself: nothing else is left beside it.
    await a.fetch(parseTarget(added.cid.toString()), { output: out, force: true })
    expect((await readdir(net.dir)).filter(n => n.startsWith('.added.out'))).to.deep.equal([])
  })

  it('puts right in the pack a chunk it rebuilds from parity before linking it as another output', async () => {
    const [a] = net.nodes
    const f = await randomFile(net.dir, 'rebuilt.bin', 2 * 1024 * KiB)
    const added = await a.add(f.path, { chunkSize: CHUNK, k: 4, m: 2 })
    const first = join(net.dir, 'rebuilt-1.out')
    await a.fetch(parseTarget(added.cid.toString()), { output: first })
    const edited = Buffer.from(f.bytes)
    edited[3 * CHUNK + 9] ^= 0x80
    await writeFile(first, edited) // in place: the pack's bytes too
    const second = join(net.dir, 'rebuilt-2.out')
    const events: string[] = []
    await a.fetch(parseTarget(added.cid.toString()), { output: second, onProgress: (e) => { events.push(e.type) } })
    expect(events).to.include('files:export:repaired')
    expect((await readFile(second)).equals(f.bytes)).to.equal(true)
    expect((await a.verify(added.cid, { repair: false })).damaged).to.deep.equal([])
  })

  it('writes a file whose chunks repeat whole, though the repeated chunk is stored once', async () => {
    const [a, b] = net.nodes
    const piece = (await randomFile(net.dir, 'piece.bin', CHUNK)).bytes
    const bytes = Buffer.concat([piece, piece, piece, piece.subarray(0, 1000)])
    await writeFile(join(net.dir, 'repeats.bin'), bytes)
    const added = await a.add(join(net.dir, 'repeats.bin'), { chunkSize: CHUNK, k: 2, m: 1 })
    const out = join(net.dir, 'repeats.out')
    await b.fetch(parseTarget(added.cid.toString()), { output: out })
    expect((await readFile(out)).equals(bytes)).to.equal(true)
    expect((await b.verify(added.cid, { repair: false })).ok).to.equal(true)
  })

  it('links each file of a fetched directory to its pack, in subdirectories too, the bytes exact', async () => {
    const [a, b] = net.nodes
    const dir = join(net.dir, 'tree')
    await mkdir(join(dir, 'sub'), { recursive: true })
    const files = {
      'one.bin': (await randomFile(dir, 'one.bin', 1024 * KiB + 13)).bytes,
      'sub/two.bin': (await randomFile(join(dir, 'sub'), 'two.bin', 2 * 1024 * KiB)).bytes,
      'sub/small.txt': (await randomFile(join(dir, 'sub'), 'small.txt', 100)).bytes
    }
    const added = await a.add(dir, { recursive: true, chunkSize: CHUNK, k: 4, m: 2 })
    const out = join(net.dir, 'tree.out')
    await b.fetch(parseTarget(added.cid.toString()), { output: out })
    const packs = join(b.repoPath, 'blocks', 'packs')
    const packInodes = new Set(await Promise.all((await readdir(packs)).map(async n => (await stat(join(packs, n))).ino)))
    const outInodes = new Set<number>()
    for (const [name, bytes] of Object.entries(files)) {
      expect((await readFile(join(out, name))).equals(bytes), name).to.equal(true)
      const { ino } = await stat(join(out, name))
      expect(packInodes.has(ino), `${name} is its pack`).to.equal(true)
      outInodes.add(ino)
    }
    expect(outInodes.size).to.equal(3)
    expect((await b.verify(added.cid, { repair: false })).ok).to.equal(true)
  })
})
