// Small files (under one stripe, so with a geometry of their own) between two real nodes on
// loopback: fetched whole, a chunk the provider lost rebuilt from the scaled parity.
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { expect } from 'chai'
import { readManifest, readRoot } from '../../src/files/exporter.js'
import { startNetwork, type TestNetwork } from '../helpers/network.js'
import { stripesOf } from '../helpers/repo.js'

describe('fetch of small files across a loopback network', function () {
  this.timeout(90_000)
  let net: TestNetwork
  before(async () => { net = await startNetwork(2) })
  after(async () => { await net?.stop() })

  it('fetches a directory of small files, rebuilding a chunk no provider holds from its parity', async () => {
    const [holder, fetcher] = net.nodes
    const tree = join(net.dir, 'small-tree')
    await mkdir(tree)
    const sizes = [0, 1, 100, 1500, 4096, 4196, 70_000, 300_000]
    const files = sizes.map((size, i) => ({ name: `f${i}.bin`, bytes: randomBytes(size) }))
    for (const f of files) await writeFile(join(tree, f.name), f.bytes)
    const added = await holder.add(tree, { recursive: true })
    expect(added.files).to.equal(sizes.length)

    // The 4196-byte file: 5 chunks of 896 bytes and 2 parity blocks. The holder loses chunk 1.
    const dir = await holder.stat(added.cid)
    expect(dir.entries).to.equal(sizes.length)
    const root = await readRoot(holder.blockstore, added.cid)
    if (root.type !== 'directory') throw new Error('expected a directory')
    const damaged = root.entries.find(e => e.name === 'f5.bin')?.cid
    if (damaged === undefined) throw new Error('f5.bin is missing from the directory')
    expect((await readManifest(holder.blockstore, damaged)).erasure).to.include({ k: 5, m: 2 })
    const [stripe] = await stripesOf(holder.blockstore, damaged)
    await holder.blockstore.delete(stripe.node.data[1])

    const out = join(net.dir, 'small-out')
    const r = await fetcher.fetch({ root: added.cid, peer: holder.network.peerId, addrs: holder.network.addresses() }, { output: out })
    for (const f of files) expect((await readFile(join(out, f.name))).equals(f.bytes), f.name).to.equal(true)
    expect(r.rebuiltChunks).to.equal(1)
    expect((await fetcher.verify(added.cid)).ok).to.equal(true)
    expect(await fetcher.blockstore.has(stripe.node.data[1])).to.equal(true)

    // The holder mends its own copy from the parity as well.
    const report = await holder.verify(added.cid)
    expect(report.repaired.map(d => d.cid)).to.deep.equal([stripe.node.data[1].toString()])
    expect((await holder.verify(added.cid)).damaged).to.deep.equal([])
  })
})
