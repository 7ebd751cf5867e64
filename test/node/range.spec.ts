// Reads of roots a node lacks, across a loopback network: paths inside directories, byte
// ranges that fetch only the stripes (and chunks) they touch, stat and list of remote roots.
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'chai'
import type { CID } from 'multiformats/cid'
import { InvalidArgumentError, PathNotFoundError } from '../../src/errors.js'
import { StripeLocator, readManifest, type BlockSource } from '../../src/files/exporter.js'
import type { PeerLinkNode } from '../../src/node/peerlink.js'
import { randomFile, startNetwork, type TestNetwork } from '../helpers/network.js'
import { collect, stripesOf } from '../helpers/repo.js'

/** A block source that records which blocks were read. */
function recording (source: BlockSource): { source: BlockSource, read: Set<string> } {
  const read = new Set<string>()
  return {
    read,
    source: {
      get: async (cid, o) => { read.add(cid.toString()); return await source.get(cid, o) },
      getMany: (cids, o) => source.getMany(cids, o)
    }
  }
}

/**
 * What a read of bytes [offset, end) of a file needs: its manifest, the index nodes above the
 * stripes it touches, those stripe nodes, and the data chunks holding the bytes.
 */
async function blocksOfRange (holder: PeerLinkNode, root: CID, offset: number, end: number): Promise<Set<string>> {
  const r = recording(holder.blockstore)
  const manifest = await readManifest(r.source, root)
  const locator = new StripeLocator(r.source, manifest)
  const { chunkSize } = manifest
  const { k } = manifest.erasure
  const first = Math.floor(offset / chunkSize)
  const last = Math.floor((end - 1) / chunkSize)
  const chunks: string[] = []
  for (let s = Math.floor(first / k); s <= Math.floor(last / k); s++) {
    const node = await locator.node(s)
    node.data.forEach((cid, i) => { if (s * k + i >= first && s * k + i <= last) chunks.push(cid.toString()) })
  }
  return new Set([...r.read, ...chunks])
}

async function blocksHeld (node: PeerLinkNode, cids: Iterable<string>): Promise<string[]> {
  const { CID } = await import('multiformats/cid')
  const out: string[] = []
  for (const c of cids) if (await node.blockstore.has(CID.parse(c))) out.push(c)
  return out
}

describe('reads of remote roots: paths, ranges, stat and ls', function () {
  this.timeout(120_000)
  let net: TestNetwork
  let holder: PeerLinkNode
  let tree: { root: CID, big: Buffer, small: Buffer }
  before(async () => {
    net = await startNetwork(2)
    holder = net.nodes[1]
    // album/ { notes.txt, raw/ { big.bin, small.bin } }: big.bin in tiny chunks, so it has
    // many stripes and index nodes above them (fanout 4 at 256-byte chunks).
    const dir = join(net.dir, 'album')
    await mkdir(join(dir, 'raw'), { recursive: true })
    await writeFile(join(dir, 'notes.txt'), 'first notes')
    const big = await randomFile(join(dir, 'raw'), 'big.bin', 256 * 200 + 77)
    const small = await randomFile(join(dir, 'raw'), 'small.bin', 1000)
    const added = await holder.add(dir, { recursive: true, chunkSize: 256, k: 2, m: 1, allowSmallChunks: true })
    expect(added.provided).to.equal(true)
    tree = { root: added.cid, big: big.bytes, small: small.bytes }
  })
  after(async () => { await net?.stop() })

  it('cats a byte range of a remote file inside a directory, fetching only the blocks the range needs, not pinned', async () => {
    const reader = await net.add()
    const ref = `${tree.root.toString()}/raw/big.bin`
    const offset = 256 * 41 + 10
    const length = 256 * 70
    const before = (await reader.usage()).blocks
    const got = await collect(reader.cat(ref, { offset, length }))
    expect(got.equals(tree.big.subarray(offset, offset + length))).to.equal(true)
    const big = (await holder.stat(`${tree.root.toString()}/raw/big.bin`)).cid
    const { CID } = await import('multiformats/cid')
    const needed = await blocksOfRange(holder, CID.parse(big), offset, offset + length)
    // The directory nodes on the path, the file's manifest, the index and stripe nodes over
    // the range, its chunks: each of them stored, and nothing else.
    const path = [tree.root.toString(), (await holder.stat(`${tree.root.toString()}/raw`)).cid]
    const index = (await readManifest(holder.blockstore, CID.parse(big))).stripes.depth
    expect(index).to.be.greaterThan(1)
    expect(await blocksHeld(reader, [...needed, ...path])).to.have.length(needed.size + path.length)
    expect((await reader.usage()).blocks - before).to.equal(needed.size + path.length)
    // 71 chunks of the file's 201 (36 of its 101 stripes).
    expect(needed.size).to.be.lessThan(200)
    expect(await reader.blockstore.isPinned(tree.root)).to.equal(false)
    expect(await reader.blockstore.isPinned(CID.parse(big))).to.equal(false)
    // A second read is local: nothing more is stored, and gc may take it all.
    const again = await collect(reader.cat(ref, { offset, length }))
    expect(again.equals(got)).to.equal(true)
    expect((await reader.usage()).blocks - before).to.equal(needed.size + path.length)
    await reader.gc()
    expect((await reader.usage()).blocks).to.equal(before)
  })

  it('streams the first bytes of a remote range before the rest of it has arrived', async () => {
    const reader = await net.add()
    const before = (await reader.usage()).blocks
    const source = reader.cat(`${tree.root.toString()}/raw/big.bin`)
    const first = await source.next()
    expect(first.done).to.equal(false)
    // At the first piece the node holds the read-ahead at most, far from the file's 300-odd blocks.
    const atFirst = (await reader.usage()).blocks - before
    const rest = await collect(source)
    const whole = Buffer.concat([first.value as Uint8Array, rest])
    expect(whole.equals(tree.big)).to.equal(true)
    const all = (await reader.usage()).blocks - before
    expect(atFirst).to.be.lessThan(all / 3)
    expect(await reader.blockstore.isPinned(tree.root)).to.equal(false)
  })

  it('rebuilds a chunk no provider holds from the stripe\'s parity, verified, in a remote range', async () => {
    const f = await randomFile(net.dir, 'holes.bin', 6 * 4096 + 3)
    const lender = await net.add()
    const root = (await lender.add(f.path, { chunkSize: 4096, k: 3, m: 2, allowSmallChunks: true })).cid
    const [, second] = await stripesOf(lender.blockstore, root)
    await lender.blockstore.delete(second.node.data[1])
    const reader = await net.add()
    const repaired: number[][] = []
    const got = await collect(reader.cat({ root, peer: lender.network.peerId, addrs: lender.network.addresses() }, {
      offset: 4 * 4096 + 100,
      length: 4096,
      onProgress: (e) => { if (e.type === 'files:export:repaired') repaired.push(e.detail.chunks) }
    }))
    expect(got.equals(f.bytes.subarray(4 * 4096 + 100, 5 * 4096 + 100))).to.equal(true)
    expect(repaired).to.deep.equal([[4]])
    // The first stripe was not touched.
    const [first] = await stripesOf(lender.blockstore, root)
    expect(await blocksHeld(reader, [first.cid, ...first.node.data].map(String))).to.deep.equal([])
  })

  it('stats and lists remote roots and paths, fetching only the nodes on the path', async () => {
    const reader = await net.add()
    const before = (await reader.usage()).blocks
    const st = await reader.stat(`${tree.root.toString()}/raw/small.bin`)
    expect(st).to.include({ type: 'file', name: 'small.bin', size: 1000, pinned: false, k: 2, m: 1 })
    expect((await reader.usage()).blocks - before).to.equal(3) // album, raw, small.bin's manifest
    const ls = await reader.list(`${tree.root.toString()}/raw`)
    expect(ls.map(e => [e.name, e.type, e.size])).to.deep.equal([['big.bin', 'file', tree.big.length], ['small.bin', 'file', 1000]])
    expect(ls[1].cid).to.equal(st.cid)
    expect(await reader.list(st.cid)).to.deep.equal([{ name: 'small.bin', cid: st.cid, size: 1000, type: 'file' }])
    const top = await reader.stat(tree.root)
    expect(top).to.include({ type: 'directory', name: 'album', entries: 2, pinned: false })
    expect((await reader.usage()).blocks - before).to.equal(3)
  })

  it('says which name is missing, and where a path goes through a file (PathNotFoundError, exit 7)', async () => {
    const reader = await net.add()
    const missing = await reader.stat(`${tree.root.toString()}/raw/nope.bin`).catch((e: Error) => e)
    expect([(missing as PathNotFoundError).name, (missing as PathNotFoundError).exitCode]).to.deep.equal(['PathNotFoundError', 7])
    expect((missing as Error).message).to.match(/\/raw\/nope\.bin: no "nope\.bin" in the directory "raw" \(bafy\w+\)$/)
    const through = await collect(reader.cat(`${tree.root.toString()}/notes.txt/more`)).catch((e: Error) => e)
    expect(through).to.be.instanceOf(PathNotFoundError)
    expect((through as Error).message).to.match(/"notes\.txt" \(bafy\w+\) is a file, not a directory$/)
    const dir = await collect(reader.cat(`${tree.root.toString()}/raw`)).catch((e: Error) => e)
    expect(dir).to.be.instanceOf(InvalidArgumentError)
    expect((dir as Error).message).to.match(/raw is a directory: `ls` lists it, `fetch` writes it/)
  })

  it('fetches a path inside a remote root: writes and pins what it leads to, under its name', async () => {
    const reader = await net.add()
    const out = join(net.dir, 'raw-copy')
    const r = await reader.fetch(`${tree.root.toString()}/raw`, { output: out })
    expect(r).to.include({ name: 'raw', type: 'directory', size: tree.big.length + 1000 })
    expect((await readFile(join(out, 'big.bin'))).equals(tree.big)).to.equal(true)
    expect((await readFile(join(out, 'small.bin'))).equals(tree.small)).to.equal(true)
    expect((await reader.ls()).map(p => [p.cid.toString(), p.name])).to.deep.equal([[r.cid, 'raw']])
    expect((await reader.verify(r.cid)).ok).to.equal(true)
  })
})
