// A provider under attack from peers that ask more than they should: a work budget per peer,
// and bounds on streams and buffered bytes that hold however many identities attack.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Connection, Libp2p, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { expect } from 'chai'
import { createLibp2p } from 'libp2p'
import type { CID } from 'multiformats/cid'
import { EXCHANGE_PROTOCOL } from '../../src/exchange/constants.js'
import { REFUSAL_HOLD } from '../../src/exchange/server.js'
import { frame, Message, readMessages } from '../../src/exchange/wire.js'
import { cidOf } from '../../src/hash/index.js'
import { transportSettings } from '../../src/node/host.js'
import type { NetworkInit } from '../../src/node/network.js'
import type { PeerLinkNode } from '../../src/node/peerlink.js'
import { parseTarget } from '../../src/node/ticket.js'
import { randomFile, startNetwork, startNode, waitUntil, type TestNetwork } from '../helpers/network.js'

const MiB = 1024 * 1024

/** A bare libp2p host with a fresh identity: what an attacker gets for free. */
async function identity (): Promise<Libp2p> {
  return await createLibp2p({ ...await transportSettings(), addresses: { listen: [] } })
}

function dialAddress (node: PeerLinkNode): Multiaddr {
  const [address] = node.network.addresses()
  return address.toString().includes('/p2p/') ? address : address.encapsulate(`/p2p/${node.network.peerId.toString()}`)
}

/**
 * Dials the provider and waits for it to hold the connection too: yamux resets the whole
 * connection when more than 10 streams arrive before its side has finished the upgrade.
 */
async function connect (from: Libp2p, to: PeerLinkNode): Promise<Connection> {
  const connection = await from.dial(dialAddress(to))
  await waitUntil(() => to.network.host.getConnections(from.peerId).some(c => c.status === 'open'), 5000, 'the provider to take the connection')
  return connection
}

async function fetchAndCompare (fetcher: PeerLinkNode, provider: PeerLinkNode, cid: CID, original: Buffer, out: string): Promise<void> {
  await fetcher.fetch(parseTarget(provider.network.ticket(cid)), { output: out, findTimeout: 1000 })
  expect((await readFile(out)).equals(original)).to.equal(true)
}

describe('exchange: abuse', function () {
  this.timeout(120_000)
  let net: TestNetwork
  let provider: PeerLinkNode
  let attackers: Libp2p[] = []

  async function startProvider (exchange: NetworkInit['exchange']): Promise<PeerLinkNode> {
    provider = await startNode(join(net.dir, `provider-${Date.now()}`), [], { exchange })
    return provider
  }

  before(async () => { net = await startNetwork(1) })
  afterEach(async () => {
    await Promise.all(attackers.map(async a => { await a.stop() }))
    attackers = []
    await provider?.stop().catch(() => {})
  })
  after(async () => { await net?.stop() })

  it('slows, penalises, then bans a peer flooding have_only WANTs of 4,096 CIDs, while an honest fetch completes', async () => {
    await startProvider({ budget: { floodDebtSeconds: 1 } })
    const f = await randomFile(net.dir, 'queried.bin', 8 * MiB)
    const root = (await provider.add(f.path)).cid
    const attacker = await identity()
    attackers.push(attacker)
    const cids = Array.from({ length: 4096 }, (_, i) => cidOf(Uint8Array.of(i & 0xff, i >> 8)).bytes)
    let answered = 0
    const connection = await connect(attacker, provider)
    const flood = Array.from({ length: 16 }, async (): Promise<void> => {
      const stream = await connection.newStream(EXCHANGE_PROTOCOL)
      const answers = readMessages(stream)
      for (let id = 1n; id <= 1000n; id++) {
        stream.send(frame({ type: Message.Type.WANT, id, root: root.bytes, cids, haveOnly: true }))
        if ((await answers.next()).done === true) return
        answered++
      }
    }).map(async p => { await p.catch(() => {}) })
    const honest = fetchAndCompare(await net.add(), provider, root, f.bytes, join(net.dir, 'queried.out'))
    const attackerId = attacker.peerId.toString()
    await waitUntil(() => provider.network.penalties.list().some(p => p.peer === attackerId && p.banned), 30_000, 'the flooder to be banned')
    await Promise.all(flood)
    await honest
    const standing = provider.network.penalties.list().find(p => p.peer === attackerId)
    expect(standing?.offences).to.deep.equal(['flood', 'flood'])
    expect(provider.network.server.stats.slowed).to.be.greaterThan(0)
    // Served at its rate until the ban: one second of budget, 4,096 lookups, per query.
    expect(answered).to.be.lessThan(16)
    // Banned, it cannot connect again: the handshake shows who it is, and it is refused.
    const again = await attacker.dial(dialAddress(provider), { signal: AbortSignal.timeout(5000) }).then(async c => {
      await waitUntil(() => c.status !== 'open', 5000, 'the connection of a banned peer to be closed')
      return 'closed'
    }, () => 'refused')
    expect(['refused', 'closed']).to.include(again)
    expect(provider.network.host.getConnections(attacker.peerId)).to.deep.equal([])
  })

  it('slows, penalises, then bans a peer that keeps asking for blocks it was just sent, while an honest fetch completes', async () => {
    await startProvider({ budget: { floodDebtSeconds: 1 } })
    const f = await randomFile(net.dir, 'looped.bin', 16 * MiB)
    const root = (await provider.add(f.path, { k: 16 })).cid
    const chunks = Array.from({ length: 16 }, (_, i) => cidOf(f.bytes.subarray(i * MiB, (i + 1) * MiB)).bytes)
    const attacker = await identity()
    attackers.push(attacker)
    const connection = await connect(attacker, provider)
    let received = 0
    // Like bench:abuse's block flood: 16 streams each asking for 4 blocks at a time, reading
    // every answer, looping over the file's blocks; every block it asks exists, and it
    // breaks no other rule.
    const flood = Array.from({ length: 16 }, async (): Promise<void> => {
      const stream = await connection.newStream(EXCHANGE_PROTOCOL)
      const answers = readMessages(stream)
      for (let id = 1; id <= 500; id++) {
        stream.send(frame({ type: Message.Type.WANT, id: BigInt(id), root: root.bytes, cids: [0, 1, 2, 3].map(i => chunks[(id + i) % 16]) }))
        for (let i = 0; i < 4; i++) {
          if ((await answers.next()).done === true) return
          received++
        }
      }
    }).map(async p => { await p.catch(() => {}) })
    const honest = fetchAndCompare(await net.add(), provider, root, f.bytes, join(net.dir, 'looped.out'))
    const attackerId = attacker.peerId.toString()
    await waitUntil(() => provider.network.penalties.list().some(p => p.peer === attackerId && p.banned), 60_000, 'the looping peer to be banned')
    await Promise.all(flood)
    await honest
    const standing = provider.network.penalties.list().find(p => p.peer === attackerId)
    expect(standing?.offences).to.deep.equal(['flood', 'flood'])
    // Unchecked, the 16 streams take all 8,000 answers they loop for.
    expect(received).to.be.lessThan(2000)
    expect(provider.network.host.getConnections(attacker.peerId)).to.deep.equal([])
  })

  it('charges nothing extra for a file fetched, removed and fetched again from the same provider', async () => {
    await startProvider({})
    const f = await randomFile(net.dir, 'refetched.bin', 32 * MiB)
    const root = (await provider.add(f.path, { k: 32 })).cid
    const fetcher = await net.add()
    for (const round of [1, 2]) {
      await fetchAndCompare(fetcher, provider, root, f.bytes, join(net.dir, `refetched-${round}.out`))
      await fetcher.rm(root)
      await fetcher.gc()
    }
    expect(provider.network.penalties.list()).to.deep.equal([])
    // 32 blocks charged 16 MiB more each would have put the peer 256 MiB over its burst.
    expect(provider.network.server.stats.slowed).to.equal(0)
  })

  /**
   * 16 identities, 8 streams each, ask for 200 blocks a stream and never read: blocks the node
   * holds (`missing` false), or blocks it lacks, whose reads must give their room back at once.
   */
  async function hoard (missing: boolean): Promise<void> {
    const bound = 32 * MiB
    const maxStreams = 64
    // These attackers ask for the same 8 blocks again and again, which the re-ask rule would
    // slow before they fill the buffer; it is off (nothing remembered), so the buffer's bounds
    // hold alone, as against peers that each ask for blocks once.
    await startProvider({ maxBufferedBytes: bound, maxStreams, idleTimeout: 1500, resends: { max: 0 } })
    const f = await randomFile(net.dir, `hoarded-${String(missing)}.bin`, 8 * MiB)
    // k = 8: the file fills one stripe, so it is cut in 1 MiB chunks (a smaller file gets chunks of its own size).
    const root = (await provider.add(f.path, { k: 8 })).cid
    const chunks = Array.from({ length: 8 }, (_, i) => cidOf(missing ? Buffer.from(`not here ${i}`) : f.bytes.subarray(i * MiB, (i + 1) * MiB)).bytes)
    const stats = provider.network.server.stats
    let peakBytes = 0
    let peakStreams = 0
    const sampler = setInterval(() => {
      peakBytes = Math.max(peakBytes, stats.bufferedBytes)
      peakStreams = Math.max(peakStreams, stats.openStreams)
    }, 5)
    const streams: Stream[] = []
    try {
      for (let i = 0; i < 16; i++) {
        const attacker = await identity()
        attackers.push(attacker)
        const connection = await connect(attacker, provider)
        for (let s = 0; s < 8; s++) {
          const stream = await connection.newStream(EXCHANGE_PROTOCOL)
          streams.push(stream)
          // 200 MiB asked (under the per-stream flood limit), then nothing read; a stream the
          // provider refused is closed by the time it is written to.
          try {
            for (let id = 1; id <= 200; id++) stream.send(frame({ type: Message.Type.WANT, id: BigInt(id), root: root.bytes, cids: [chunks[id % 8]] }))
            stream.pause()
          } catch {}
        }
      }
      if (!missing) await waitUntil(() => stats.bufferedBytes > bound / 2, 10_000, 'the attackers to fill the buffer')
      // The newcomer gets its slice while the rest is held.
      await fetchAndCompare(await net.add(), provider, root, f.bytes, join(net.dir, `hoarded-${String(missing)}.out`))
      expect(peakBytes).to.be.at.most(bound)
      expect(peakStreams).to.be.at.most(maxStreams)
      // 128 streams asked for, 64 served at most: the rest were refused (reset once held for
      // REFUSAL_HOLD) or shed.
      await waitUntil(() => streams.filter(s => s.status !== 'open').length >= 128 - maxStreams, 2 * REFUSAL_HOLD, 'the streams beyond the node\'s most to be refused')
      await waitUntil(() => stats.bufferedBytes === 0 && stats.openStreams === 0, 20_000, 'every held byte to be released')
        .catch((err: Error) => { throw new Error(`${err.message} (still ${stats.bufferedBytes} bytes held, ${stats.openStreams} streams open, ${streams.filter(s => s.status === 'open').length} of the attackers' streams open on their side)`) })
    } finally {
      clearInterval(sampler)
    }
  }

  it('holds 16 identities that ask for blocks and never read to the node\'s bounds, and frees all they held', async () => { await hoard(false) })

  it('gives back at once the room of reads for blocks the node lacks: 16 identities asking for such blocks and never reading do not starve an honest fetch', async () => { await hoard(true) })
})
