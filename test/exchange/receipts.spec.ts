// Receipts over real libp2p connections: a provider from before receipts (a stock libp2p node
// serving the exchange, without the receipt protocol) and receipts from a hostile peer.
import { expect } from 'chai'
import type { Libp2p, PeerId } from '@libp2p/interface'
import { EXCHANGE_PROTOCOL, RECEIPT_PROTOCOL } from '../../src/exchange/constants.js'
import { PeerPenalties } from '../../src/exchange/penalties.js'
import { ExchangeServer } from '../../src/exchange/server.js'
import { frame, Message, readMessages, type Outgoing } from '../../src/exchange/wire.js'
import { decodeNode, type Manifest } from '../../src/files/format.js'
import { importFile } from '../../src/files/importer.js'
import { randomFile, waitUntil } from '../helpers/network.js'
import { tempStore } from '../helpers/repo.js'
import { stockNode, withStockPair } from '../helpers/stock.js'

/** Opens a stream of `protocol` from `from` to `to`, sends `msg` on it and closes it. */
async function sendOn (from: Libp2p, to: PeerId, protocol: string, msg: Outgoing): Promise<void> {
  const stream = await from.dialProtocol(to, protocol)
  stream.send(frame(msg))
  await stream.close().catch(() => {})
}

describe('receipts between real nodes', function () {
  this.timeout(60_000)
  const pair = withStockPair()

  it('a fetch from a provider that predates receipts completes, and costs the fetcher nothing there', async () => {
    const { dir, peerlink, stock } = pair
    const { store, cleanup } = await tempStore()
    const penalties = new PeerPenalties()
    const server = new ExchangeServer({ libp2p: stock, blocks: store, penalties, logger: stock.logger })
    try {
      const f = await randomFile(dir.path, 'old.bin', 2 * 1024 * 1024 + 3)
      const imported = await importFile(store, [f.bytes], { name: 'old.bin', k: 2, m: 1 })
      imported.release()
      await server.start()
      const r = await peerlink.fetch({ root: imported.cid, peer: stock.peerId, addrs: stock.getMultiaddrs() }, { findTimeout: 1000, announce: false })
      expect(r.size).to.equal(f.bytes.length)
      expect(r.providers[0]).to.include({ peer: stock.peerId.toString(), dropped: false })
      // Stopping waits for the receipt the fetch sent in the background: refused at negotiation.
      await peerlink.stop()
      expect(penalties.list()).to.deep.equal([])
      // Sent on the exchange protocol instead, the old provider would have penalised it.
      const other = await stockNode()
      try {
        await other.dial(stock.getMultiaddrs()[0])
        await sendOn(other, stock.peerId, EXCHANGE_PROTOCOL, { type: Message.Type.RECEIPT, root: imported.cid.bytes, bytes: 1n })
        await waitUntil(() => penalties.list().length > 0, 5000, 'the old provider took an unknown type without penalty')
        expect(penalties.list()[0]).to.include({ peer: other.peerId.toString(), points: 5 })
      } finally {
        await other.stop()
      }
    } finally {
      await server.stop()
      await cleanup()
    }
  })

  it('takes receipts only for what it served that peer, refuses malformed ones, and stays bounded', async () => {
    const { dir, peerlink, stock } = pair
    const f = await randomFile(dir.path, 'p.bin', 300 * 1024)
    const added = await peerlink.add(f.path, { k: 2, m: 1 })
    const root = added.cid
    const shares = peerlink.network.shares
    await stock.dial(peerlink.network.addresses()[0])
    const to = peerlink.network.peerId
    const me = stock.peerId.toString()

    // Receipts for roots it was never sent: well formed, ignored, and nothing is kept.
    for (let i = 0; i < 50; i++) await sendOn(stock, to, RECEIPT_PROTOCOL, { type: Message.Type.RECEIPT, root: root.bytes, bytes: BigInt(i), blocks: 1n, started: 1n, completed: 2n })
    await new Promise(resolve => setTimeout(resolve, 200))
    expect(shares.size()).to.deep.equal({ roots: 0, receivers: 0 })
    expect(peerlink.network.penalties.list()).to.deep.equal([])

    // Served a block (the manifest) under the root: fetching.
    const stream = await stock.dialProtocol(to, EXCHANGE_PROTOCOL)
    stream.send(frame({ type: Message.Type.WANT, id: 1n, root: root.bytes, cids: [root.bytes] }))
    const answers = readMessages(stream)
    const first = await answers.next()
    expect(first.value?.type).to.equal(Message.Type.BLOCK)
    expect((decodeNode(root, first.value?.data as Uint8Array) as Manifest).size).to.equal(f.bytes.length)
    await answers.return(undefined)
    await stream.close()
    await waitUntil(() => shares.list().length === 1, 5000, 'no record of the block served')
    expect(shares.list()[0].receivers[0]).to.include({ peer: me, state: 'fetching', sentBlocks: 1 })

    // A count past 2^53: malformed, penalised, not recorded.
    await sendOn(stock, to, RECEIPT_PROTOCOL, { type: Message.Type.RECEIPT, root: root.bytes, bytes: 2n ** 64n - 1n, blocks: 1n })
    await waitUntil(() => peerlink.network.penalties.list().length > 0, 5000, 'a huge count went unpunished')
    expect(peerlink.network.penalties.list()[0]).to.include({ peer: me, points: 5 })
    expect(shares.list()[0].receivers[0].state).to.equal('fetching')

    await sendOn(stock, to, RECEIPT_PROTOCOL, { type: Message.Type.RECEIPT, root: root.bytes, bytes: 123n, blocks: 1n, started: 5n, completed: 6n })
    await waitUntil(() => shares.list()[0].receivers[0].state === 'completed', 5000, 'the receipt was not taken')
    expect(shares.list()[0].receivers[0].receipt).to.deep.equal({ bytes: 123, blocks: 1, started: 5, completed: 6 })
    expect(shares.size()).to.deep.equal({ roots: 1, receivers: 1 })
  })
})
