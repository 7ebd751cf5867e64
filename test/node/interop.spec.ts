// PeerLink and a libp2p node with libp2p's default settings (Yamux's 256 KiB stream windows,
// Noise's own crypto) exchange blocks both ways: a 1 MiB block must not overrun the window a
// stock peer granted ("Receive window exceeded" before PeerLink followed the protocol's
// initial window).
import { expect } from 'chai'
import { CID } from 'multiformats/cid'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ExchangeServer } from '../../src/exchange/server.js'
import { EXCHANGE_PROTOCOL } from '../../src/exchange/constants.js'
import { PeerPenalties } from '../../src/exchange/penalties.js'
import { frame, Message, readMessages } from '../../src/exchange/wire.js'
import { importFile } from '../../src/files/importer.js'
import { decodeNode, type Manifest, type StripeNode } from '../../src/files/format.js'
import { verifyBlock } from '../../src/hash/index.js'
import { randomFile } from '../helpers/network.js'
import { tempStore } from '../helpers/repo.js'
import { withStockPair } from '../helpers/stock.js'

describe('interop with a stock libp2p node', function () {
  this.timeout(60_000)
  const pair = withStockPair()

  it('a stock node gets 1 MiB blocks from PeerLink, as the first answer on a stream', async () => {
    const { dir, peerlink, stock } = pair
    const f = await randomFile(dir.path, 'f.bin', 3 * 1024 * 1024)
    const added = await peerlink.add(f.path, { k: 2, m: 1 })
    const manifest = decodeNode(added.cid, await peerlink.blockstore.get(added.cid)) as Manifest
    const stripe = decodeNode(manifest.stripes.links[0], await peerlink.blockstore.get(manifest.stripes.links[0])) as StripeNode
    await stock.dial(peerlink.network.addresses()[0])
    const stream = await stock.dialProtocol(peerlink.network.peerId, EXCHANGE_PROTOCOL)
    stream.send(frame({ type: Message.Type.WANT, id: 1n, root: added.cid.bytes, cids: stripe.data.map(c => c.bytes) }))
    const got: Uint8Array[] = []
    for await (const msg of readMessages(stream)) {
      expect(msg.type).to.equal(Message.Type.BLOCK)
      await verifyBlock(CID.decode(msg.cid), msg.data)
      got.push(msg.data)
      if (got.length === stripe.data.length) break
    }
    // A window overrun resets the whole connection, and the stream ends with nothing read.
    expect(got.map(b => b.byteLength)).to.deep.equal([1024 * 1024, 1024 * 1024])
    expect(Buffer.concat(got).equals(f.bytes.subarray(0, 2 * 1024 * 1024))).to.equal(true)
    await stream.close()
  })

  it('PeerLink fetches from a stock node serving the exchange protocol', async () => {
    const { dir, peerlink, stock } = pair
    const { store, cleanup } = await tempStore()
    const server = new ExchangeServer({ libp2p: stock, blocks: store, penalties: new PeerPenalties(), logger: stock.logger })
    try {
      const f = await randomFile(dir.path, 'g.bin', 3 * 1024 * 1024 + 7)
      const imported = await importFile(store, [f.bytes], { name: 'g.bin', k: 2, m: 1 })
      await store.pin(imported.cid, { name: 'g.bin', size: imported.size, type: 'file' })
      imported.release()
      await server.start()
      const out = join(dir.path, 'g.out')
      const r = await peerlink.fetch({ root: imported.cid, peer: stock.peerId, addrs: stock.getMultiaddrs() }, { output: out, findTimeout: 1000, announce: false })
      expect(r.size).to.equal(f.bytes.length)
      expect(r.providers.map(p => p.peer)).to.deep.equal([stock.peerId.toString()])
      expect((await readFile(out)).equals(f.bytes)).to.equal(true)
    } finally {
      await server.stop()
      await cleanup()
    }
  })
})
