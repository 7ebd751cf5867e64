import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'chai'
import { parseTarget } from '../../src/node/ticket.js'
import { randomFile, startNetwork, type TestNetwork } from '../helpers/network.js'

describe('fetch across a loopback network', function () {
  this.timeout(60_000)
  let net: TestNetwork
  before(async () => { net = await startNetwork(4) })
  after(async () => { await net?.stop() })

  it('finds the provider through the DHT and fetches identical bytes', async () => {
    const [a, , , d] = net.nodes
    const f = await randomFile(net.dir, 'one.bin', 5 * 1024 * 1024 + 123)
    const added = await a.add(f.path, { chunkSize: 256 * 1024, k: 4, m: 2 })
    expect(added.provided).to.equal(true)
    const out = join(net.dir, 'one.out')
    const r = await d.fetch(parseTarget(added.cid.toString()), { output: out })
    expect((await readFile(out)).equals(f.bytes)).to.equal(true)
    expect(r.providers.map(p => p.peer)).to.deep.equal([a.network.peerId.toString()])
    expect(r.parityComputed).to.be.greaterThan(0)
    expect((await d.verify(added.cid)).ok).to.equal(true)
    expect(await d.blockstore.isPinned(added.cid)).to.equal(true)
  })
})
