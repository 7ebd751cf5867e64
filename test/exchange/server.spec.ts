import { join } from 'node:path'
import { readFile } from 'node:fs/promises'
import type { Stream } from '@libp2p/interface'
import { expect } from 'chai'
import * as varint from 'uint8-varint'
import { EXCHANGE_PROTOCOL, MAX_MESSAGE_SIZE, MAX_QUEUED_BLOCKS } from '../../src/exchange/constants.js'
import { ExchangeServer, REFUSAL_HOLD } from '../../src/exchange/server.js'
import { CROSSING_IDLE_MS, ProviderChannel } from '../../src/exchange/channel.js'
import { CID } from 'multiformats/cid'
import { frame, Message, readMessages, toBitfield } from '../../src/exchange/wire.js'
import { cidOf } from '../../src/hash/index.js'
import type { PeerLinkNode } from '../../src/node/peerlink.js'
import { parseTarget } from '../../src/node/ticket.js'
import { randomFile, startNetwork, waitUntil, type TestNetwork } from '../helpers/network.js'

/** Sends raw bytes on a fresh exchange stream and reports how the provider ended it. */
async function attack (from: PeerLinkNode, to: PeerLinkNode, chunks: Uint8Array[], closeWrite = false): Promise<{ outcome: 'reset' | 'closed', ms: number }> {
  const stream: Stream = await from.network.host.dialProtocol(to.network.peerId, EXCHANGE_PROTOCOL)
  // Timed from the open stream: the bounds are the server's, not the dial's (a loaded machine's
  // handshake is seconds).
  const started = Date.now()
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

/** Makes `node` a fake provider: `answer` is called for each exchange message it reads. */
async function fakeProvider (node: PeerLinkNode, answer: (msg: Message, stream: Stream) => void | Promise<void>): Promise<void> {
  await node.network.host.unhandle(EXCHANGE_PROTOCOL)
  await node.network.host.handle(EXCHANGE_PROTOCOL, (stream) => {
    void (async () => {
      try {
        for await (const msg of readMessages(stream)) await answer(msg, stream)
      } catch {}
    })()
  })
}

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
    await fakeProvider(fake, (msg, stream) => {
      stream.send(frame({ type: Message.Type.HAVE, id: msg.id, root: msg.root, bitfield: new Uint8Array(msg.cids.length + 5) }))
    })
    const fetcher = await net.add()
    const err = await fetcher.fetch({ root: fakeRoot, peer: fake.network.peerId, addrs: fake.network.addresses() }, { findTimeout: 2000 }).then(() => undefined, (e: Error) => e)
    expect(err?.name).to.equal('NoProvidersError')
    const standing = fetcher.network.penalties.list().find(p => p.peer === fake.network.peerId.toString())
    expect(standing?.offences).to.include('protocol')
  })

  it('charges a provider once for one broken answer, though many requests were open on its stream', async () => {
    const [honest, faulty, fetcher] = [await net.add(), await net.add(), await net.add()]
    const f = await randomFile(net.dir, 'once.bin', 16 * 1024 * 1024)
    const onceRoot = (await honest.add(f.path, { chunkSize: 256 * 1024 })).cid
    await faulty.add(f.path, { chunkSize: 256 * 1024 })
    // Serves honestly, except that its third block answer names another block (with more open behind it).
    let answered = 0
    await fakeProvider(faulty, async (msg, stream) => {
      if (msg.haveOnly) {
        stream.send(frame({ type: Message.Type.HAVE, id: msg.id, root: msg.root, bitfield: toBitfield(msg.cids.map(() => true)) }))
        return
      }
      const cid = CID.decode(msg.cids[0])
      const data = await faulty.blockstore.get(cid)
      stream.send(frame({ type: Message.Type.BLOCK, id: msg.id, cid: ++answered === 3 ? onceRoot.bytes : cid.bytes, data }))
    })
    const out = join(net.dir, 'once.out')
    await fetcher.fetch({ root: onceRoot, peer: faulty.network.peerId, addrs: faulty.network.addresses() }, { output: out })
    expect((await readFile(out)).equals(f.bytes)).to.equal(true)
    const standing = fetcher.network.penalties.list().find(p => p.peer === faulty.network.peerId.toString())
    expect(standing?.offences).to.deep.equal(['protocol'])
    expect(standing?.banned).to.equal(false)
  })

  it('takes one late answer to a cancelled request, and resets the stream on a second', async () => {
    const echo = await net.add()
    await fakeProvider(echo, (msg, stream) => {
      if (msg.type !== Message.Type.WANT) return
      // Every request answered twice.
      for (let i = 0; i < 2; i++) stream.send(frame({ type: Message.Type.DONT_HAVE, id: msg.id, cid: msg.cids[0] }))
    })
    const requester = await net.add()
    const target = parseTarget(root).root
    const stream = await requester.network.host.dialProtocol(echo.network.peerId, EXCHANGE_PROTOCOL)
    const channel = new ProviderChannel(echo.network.peerId, stream, target)
    const { id } = channel.request(target)
    channel.cancel(id)
    await waitUntil(() => !channel.open, 5000, 'the channel to fail')
    expect(channel.violation?.message).to.match(/never made or was answered already/)
  })

  it('hands the block a cancelled request still gets to onLateBlock, and resets the stream on one naming another block', async () => {
    const late = await net.add()
    const data = Uint8Array.of(1, 2, 3)
    const other = cidOf(Uint8Array.of(9))
    await fakeProvider(late, (msg, stream) => {
      // Each request answered with its block whatever CANCEL follows (it was on the wire); a
      // request for `other` is answered with the wrong block.
      if (msg.type !== Message.Type.WANT) return
      const named = CID.decode(msg.cids[0]).equals(other) ? cidOf(data).bytes : msg.cids[0]
      stream.send(frame({ type: Message.Type.BLOCK, id: msg.id, cid: named, data }))
    })
    const requester = await net.add()
    const target = parseTarget(root).root
    const channel = new ProviderChannel(late.network.peerId, await requester.network.host.dialProtocol(late.network.peerId, EXCHANGE_PROTOCOL), target)
    const got: Array<{ cid: string, bytes: number[] }> = []
    channel.onLateBlock = (cid, bytes) => { got.push({ cid: cid.toString(), bytes: [...bytes] }) }
    const first = channel.request(target)
    channel.cancel(first.id)
    expect(await first.result).to.equal(undefined)
    await waitUntil(() => got.length === 1, 5000, 'the late block')
    expect(got).to.deep.equal([{ cid: target.toString(), bytes: [1, 2, 3] }])
    expect(channel.open).to.equal(true)
    const second = channel.request(other)
    channel.cancel(second.id)
    await waitUntil(() => !channel.open, 5000, 'the channel to fail')
    expect(channel.violation?.message).to.match(/names a block that was not asked for/)
    expect(got).to.have.length(1)
  })

  it('resets a channel closed with blocks still asked (the provider drops what it buffered), and closes one with none gracefully', async () => {
    const ends: Array<'closed' | 'reset'> = []
    const holder = await net.add()
    await holder.network.host.unhandle(EXCHANGE_PROTOCOL)
    await holder.network.host.handle(EXCHANGE_PROTOCOL, (stream) => {
      void (async () => {
        // Requests are held, never answered: they are still asked when the channel closes. A
        // reset ends the reading as a close does (libp2p's 'end' comes first); the stream's
        // status tells them apart: a reset one sends nothing more.
        try {
          for await (const msg of readMessages(stream)) void msg
        } catch {}
        ends.push(stream.status === 'reset' ? 'reset' : 'closed')
      })()
    })
    const requester = await net.add()
    const target = parseTarget(root).root
    const open = async (): Promise<ProviderChannel> => new ProviderChannel(holder.network.peerId, await requester.network.host.dialProtocol(holder.network.peerId, EXCHANGE_PROTOCOL), target)
    const asking = await open()
    const { result } = asking.request(target)
    await waitUntil(() => asking.outstanding === 1, 5000, 'the request to be made')
    asking.close()
    await result.then(() => { throw new Error('a request given up at close resolved') }, () => {})
    await waitUntil(() => ends.length === 1, 5000, 'the provider to see the first stream end')
    expect(ends).to.deep.equal(['reset'])
    const idle = await open()
    idle.start()
    idle.close()
    await waitUntil(() => ends.length === 2, 5000, 'the provider to see the second stream end')
    expect(ends).to.deep.equal(['reset', 'closed'])
  })

  it('takes a stream reset before any answer to requests sent after an idle spell for an idle timeout that crossed them, and one reset on a fresh stream for a provider gone', async () => {
    const resetter = await net.add()
    // Its idle timeout, as it would fire just as requests arrive: reset, nothing answered.
    await fakeProvider(resetter, (msg, stream) => { if (msg.type === Message.Type.WANT) stream.abort(new Error('idle')) })
    const requester = await net.add()
    const target = parseTarget(root).root
    let now = 0
    const open = async (): Promise<ProviderChannel> => new ProviderChannel(resetter.network.peerId, await requester.network.host.dialProtocol(resetter.network.peerId, EXCHANGE_PROTOCOL), target, { now: () => now })
    const fresh = await open()
    await fresh.request(target).result.catch(() => {})
    expect(fresh.endedIdle).to.equal(false)
    const idle = await open()
    now += CROSSING_IDLE_MS
    await idle.request(target).result.catch(() => {})
    expect(idle.open).to.equal(false)
    expect(idle.endedIdle).to.equal(true)
  })

  it('says why a provider that claims blocks but serves none served nothing', async () => {
    const liar = await net.add()
    const f = await randomFile(net.dir, 'claimed.bin', 4096)
    const claimed = (await liar.add(f.path)).cid
    await fakeProvider(liar, (msg, stream) => {
      if (msg.type !== Message.Type.WANT) return
      if (msg.haveOnly) stream.send(frame({ type: Message.Type.HAVE, id: msg.id, root: msg.root, bitfield: toBitfield(msg.cids.map(() => true)) }))
      else stream.send(frame({ type: Message.Type.DONT_HAVE, id: msg.id, cid: msg.cids[0] }))
    })
    const fetcher = await net.add()
    const err = await fetcher.fetch({ root: claimed, peer: liar.network.peerId, addrs: liar.network.addresses() }, { findTimeout: 1000 }).then(() => undefined, (e: Error) => e)
    expect(err?.name).to.equal('NoProvidersError')
    expect(err?.message).to.include(`1 provider found, none could serve the root (${liar.network.peerId.toString()}: said it held 1 block, then answered DONT_HAVE for each)`)
  })

  it('holds a peer to 16 exchange streams however many connections it opens', async () => {
    const many = await net.add()
    const [address] = provider.network.addresses()
    const target = address.toString().includes('/p2p/') ? address : address.encapsulate(`/p2p/${provider.network.peerId.toString()}`)
    const first = await many.network.host.dial(target)
    const second = await many.network.host.dial(target, { force: true })
    expect(second.id).to.not.equal(first.id)
    const held: Stream[] = []
    const before = provider.network.server.stats.streams
    try {
      for (let i = 0; i < 16; i++) held.push(await first.newStream(EXCHANGE_PROTOCOL))
      // Each stream asks for something, so the provider has surely taken all 16.
      for (const [i, s] of held.entries()) s.send(frame({ type: Message.Type.WANT, id: BigInt(i + 1), root: parseTarget(root).root.bytes, cids: [parseTarget(root).root.bytes], haveOnly: true }))
      await waitUntil(() => provider.network.server.stats.streams >= before + 16, 5000, 'the provider to take 16 streams')
      const extra = await second.newStream(EXCHANGE_PROTOCOL)
      // A refused stream is held unread for REFUSAL_HOLD, then reset.
      await waitUntil(() => extra.status !== 'open', REFUSAL_HOLD + 5000, 'the 17th stream to be refused')
      expect(extra.status).to.equal('reset')
      expect(held.every(s => s.status === 'open')).to.equal(true)
    } finally {
      for (const s of held) s.abort(new Error('done'))
    }
  })

  it('sees a stream the provider closed before the reading began as ended', async () => {
    const closer = await net.add()
    const f = await randomFile(net.dir, 'closer.bin', 4096)
    const closerRoot = (await closer.add(f.path)).cid
    await closer.network.host.unhandle(EXCHANGE_PROTOCOL)
    await closer.network.host.handle(EXCHANGE_PROTOCOL, (stream) => { void stream.close() })
    const reader = await net.add()
    const stream = await reader.network.host.dialProtocol(closer.network.peerId, EXCHANGE_PROTOCOL)
    await waitUntil(() => stream.readableEnded || stream.remoteWriteStatus === 'closed', 5000, 'the remote close to arrive')
    await new Promise(resolve => setTimeout(resolve, 100))
    const ended = await Promise.race([
      (async () => { for await (const msg of readMessages(stream)) { void msg } return 'ended' })(),
      new Promise<string>(resolve => setTimeout(() => { resolve('still reading after 3 s') }, 3000).unref())
    ])
    expect(ended).to.equal('ended')
    // A fetch from it fails at once, saying why, rather than after a timeout.
    const started = Date.now()
    const err = await reader.fetch({ root: closerRoot, peer: closer.network.peerId, addrs: closer.network.addresses() }, { findTimeout: 1000 }).then(() => undefined, (e: Error) => e)
    expect(err?.message).to.match(/closed the exchange stream/)
    expect(Date.now() - started).to.be.lessThan(10_000)
  })

  describe('with a 1 s idle timeout', () => {
    let quick: PeerLinkNode
    let server: ExchangeServer
    before(async () => {
      quick = await net.add()
      await quick.network.server.stop()
      server = new ExchangeServer({ libp2p: quick.network.host, blocks: quick.blockstore, penalties: quick.network.penalties, logger: quick.network.host.logger }, { idleTimeout: 1000 })
      await server.start()
    })
    after(async () => { await server?.stop() })

    it('ends a stream on which nothing is asked', async () => {
      const r = await attack(await net.add(), quick, [])
      expect(r.outcome).to.equal('reset')
      expect(r.ms).to.be.within(900, 5000)
    })

    it('ends a stream whose requester stops reading, and keeps serving others', async () => {
      const f = await randomFile(net.dir, 'unread.bin', 2 * 1024 * 1024)
      // One full stripe of two 1 MiB chunks (a smaller file would be cut finer).
      const cid = (await quick.add(f.path, { k: 2 })).cid
      const chunk = cidOf(f.bytes.subarray(0, 1024 * 1024)) // the file's first 1 MiB chunk
      const reader = await net.add()
      const stream: Stream = await reader.network.host.dialProtocol(quick.network.peerId, EXCHANGE_PROTOCOL)
      const started = Date.now()
      // 200 MiB asked at once (under the flood limit), then the stream paused: no window
      // updates go back, so the provider can send no more than one window.
      for (let i = 0; i < 200; i++) stream.send(frame({ type: Message.Type.WANT, id: BigInt(i + 1), root: cid.bytes, cids: [chunk.bytes] }))
      stream.pause()
      await waitUntil(() => stream.status !== 'open' || server.stats.blocksSent >= 200, 15_000, 'the stream to end')
      expect(stream.status).to.not.equal('open')
      // One stream window (at most 16 MiB) and about two blocks of buffer, not the 200 asked for.
      expect(server.stats.blocksSent).to.be.lessThan(24)
      expect(Date.now() - started).to.be.lessThan(10_000)
      const out = join(net.dir, 'after-stall.out')
      const honest = await net.add()
      await honest.fetch(parseTarget(quick.network.ticket(cid)), { output: out })
      expect((await readFile(out)).equals(f.bytes)).to.equal(true)
    })

    it('serves a reader that paused past the idle timeout on a new stream, the fetch going on', async () => {
      // Larger than the read-ahead, so the rest is asked for after the pause.
      const f = await randomFile(net.dir, 'paused.bin', 64 * 1024 * 1024)
      const cid = (await quick.add(f.path)).cid
      const reader = await net.add()
      const parts: Uint8Array[] = []
      let paused = false
      for await (const part of reader.cat(parseTarget(quick.network.ticket(cid)))) {
        parts.push(part)
        if (!paused) {
          paused = true
          // The provider ends the idle stream meanwhile.
          await new Promise(resolve => setTimeout(resolve, 2500))
        }
      }
      expect(Buffer.concat(parts).equals(f.bytes)).to.equal(true)
    })
  })

  it('gives up on a provider that takes the stream but never answers: the fetch fails in bounded time', async () => {
    const silent = await net.add()
    const f = await randomFile(net.dir, 'silent.bin', 4096)
    const silentRoot = (await silent.add(f.path)).cid
    await fakeProvider(silent, () => {}) // reads every request, answers none
    const fetcher = await net.add()
    const started = Date.now()
    const hung = new Promise<string>(resolve => setTimeout(() => { resolve('still waiting after 20 s') }, 20_000).unref())
    const outcome = await Promise.race([
      fetcher.fetch({ root: silentRoot, peer: silent.network.peerId, addrs: silent.network.addresses() }, { findTimeout: 1000, requestTimeout: 2000 }).then(() => 'fetched', (e: Error) => e),
      hung
    ])
    expect(outcome).to.be.instanceOf(Error)
    expect((outcome as Error).name).to.equal('NoProvidersError')
    expect((outcome as Error).message).to.match(/HAVE/)
    expect(Date.now() - started).to.be.lessThan(10_000)
    const standing = fetcher.network.penalties.list().find(p => p.peer === silent.network.peerId.toString())
    expect(standing?.offences).to.include('timeout')
  })
})
