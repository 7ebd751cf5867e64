import { join } from 'node:path'
import { readFile } from 'node:fs/promises'
import type { Stream } from '@libp2p/interface'
import { expect } from 'chai'
import * as varint from 'uint8-varint'
import { EXCHANGE_PROTOCOL, MAX_MESSAGE_SIZE, MAX_QUEUED_BLOCKS } from '../../src/exchange/constants.js'
import { frame, Message, readMessages } from '../../src/exchange/wire.js'
import type { PeerLinkNode } from '../../src/node/peerlink.js'
import { parseTarget } from '../../src/node/ticket.js'
import { randomFile, startNetwork, type TestNetwork } from '../helpers/network.js'

/** Sends raw bytes on a fresh exchange stream and reports how the provider ended it. */
async function attack (from: PeerLinkNode, to: PeerLinkNode, chunks: Uint8Array[], closeWrite = false): Promise<{ outcome: 'reset' | 'closed', ms: number }> {
  const started = Date.now()
  const stream: Stream = await from.network.host.dialProtocol(to.network.peerId, EXCHANGE_PROTOCOL)
  for (const c of chunks) stream.send(c)
  if (closeWrite) await stream.close()
  try {
    for await (const piece of stream) { void piece }
    return { outcome: 'closed', ms: Date.now() - started }
  } catch {
    return { outcome: 'reset', ms: Date.now() - started }
  }
}

const raw = (bytes: number[]): Uint8Array => Uint8Array.from([...varint.encode(bytes.length), ...bytes])

describe('exchange: hostile messages', function () {
  this.timeout(60_000)
  let net: TestNetwork
  let provider: PeerLinkNode
  let root: string
  let original: Buffer
  before(async () => {
    net = await startNetwork(2)
    provider = net.nodes[0]
    const f = await randomFile(net.dir, 'served.bin', 3 * 1024 * 1024)
    original = f.bytes
    root = (await provider.add(f.path)).cid.toString()
  })
  after(async () => { await net?.stop() })

  const cases: Array<{ name: string, chunks: () => Uint8Array[], closeWrite?: boolean }> = [
    { name: 'an unknown message type', chunks: () => [raw([0x08, 0x09])] },
    { name: 'a length over the limit', chunks: () => [Uint8Array.from([...varint.encode(MAX_MESSAGE_SIZE + 1), 1, 2, 3])] },
    { name: 'a truncated frame', chunks: () => [Uint8Array.from([...varint.encode(100), 1, 2, 3, 4, 5])], closeWrite: true },
    { name: 'garbage that is not protobuf', chunks: () => [raw([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])] },
    { name: 'a BLOCK nobody asked for', chunks: () => [frame({ type: Message.Type.BLOCK, id: 7n, cid: parseTarget(root).root.bytes, data: Uint8Array.of(1, 2, 3) }).subarray()] },
    { name: 'a WANT with a CID that is not one', chunks: () => [frame({ type: Message.Type.WANT, id: 1n, root: parseTarget(root).root.bytes, cids: [Uint8Array.of(1, 2, 3)] }).subarray()] },
    {
      name: 'a flood of WANTs',
      chunks: () => Array.from({ length: MAX_QUEUED_BLOCKS + 8 }, (_, i) => frame({ type: Message.Type.WANT, id: BigInt(i + 1), root: parseTarget(root).root.bytes, cids: [parseTarget(root).root.bytes] }).subarray())
    }
  ]

  for (const c of cases) {
    it(`resets the stream on ${c.name}, penalises the sender and keeps serving others`, async () => {
      const attacker = await net.add()
      const before = provider.network.server.stats.violations
      const r = await attack(attacker, provider, c.chunks(), c.closeWrite)
      expect(r.outcome).to.equal('reset')
      expect(r.ms).to.be.lessThan(5000)
      expect(provider.network.server.stats.violations).to.equal(before + 1)
      expect(provider.network.penalties.list().find(p => p.peer === attacker.network.peerId.toString())?.points).to.be.greaterThan(0)
    })
  }

  it('bans a peer that keeps breaking the protocol and refuses its streams', async () => {
    const attacker = await net.add()
    await attack(attacker, provider, [raw([0x08, 0x09])])
    await attack(attacker, provider, [raw([0x08, 0x09])])
    expect(provider.network.penalties.isBanned(attacker.network.peerId)).to.equal(true)
  })

  it('still serves an honest fetch after all that', async () => {
    const honest = await net.add()
    const out = join(net.dir, 'honest.out')
    // By ticket: what is tested here is that the provider still serves, not the DHT lookup.
    await honest.fetch(parseTarget(provider.network.ticket(parseTarget(root).root)), { output: out })
    expect((await readFile(out)).equals(original)).to.equal(true)
  })

  it('drops a provider that answers with a HAVE bitfield of the wrong size', async () => {
    const fake = await net.add()
    const f = await randomFile(net.dir, 'fake.bin', 4096)
    const fakeRoot = (await fake.add(f.path)).cid
    await fake.network.host.unhandle(EXCHANGE_PROTOCOL)
    await fake.network.host.handle(EXCHANGE_PROTOCOL, (stream) => {
      void (async () => {
        try {
          for await (const msg of readMessages(stream)) {
            stream.send(frame({ type: Message.Type.HAVE, id: msg.id, root: msg.root, bitfield: new Uint8Array(msg.cids.length + 5) }))
          }
        } catch {}
      })()
    })
    const fetcher = await net.add()
    const err = await fetcher.fetch({ root: fakeRoot, peer: fake.network.peerId, addrs: fake.network.addresses() }, { findTimeout: 2000 }).then(() => undefined, (e: Error) => e)
    expect(err?.name).to.equal('NoProvidersError')
    const standing = fetcher.network.penalties.list().find(p => p.peer === fake.network.peerId.toString())
    expect(standing?.offences).to.include('protocol')
  })
})
