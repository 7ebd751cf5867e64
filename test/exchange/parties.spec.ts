// Identities are free, addresses are not: every identity dialling from one address outside
// network.allow is one party to a provider (one work budget, one share of streams and
// buffer), and the address holds a few connections at most; an honest peer on an allowed
// address keeps its own share and fetches. With the address on the list, each identity is
// its own party again (the control: the same attack counted per identity).
import { readFile } from 'node:fs/promises'
import type { CID } from 'multiformats/cid'
import { join } from 'node:path'
import type { Connection, Libp2p, Stream } from '@libp2p/interface'
import { expect } from 'chai'
import { createLibp2p } from 'libp2p'
import { EXCHANGE_PROTOCOL, MAX_INBOUND_STREAMS } from '../../src/exchange/constants.js'
import { frame, Message } from '../../src/exchange/wire.js'
import { cidOf } from '../../src/hash/index.js'
import { REFUSAL_HOLD } from '../../src/exchange/server.js'
import { MAX_CONNECTIONS_PER_ADDRESS } from '../../src/node/gate.js'
import { transportSettings } from '../../src/node/host.js'
import { PeerLinkNode } from '../../src/node/peerlink.js'
import { parseTarget } from '../../src/node/ticket.js'
import { initRepo } from '../../src/repo/repo.js'
import { randomFile, startNode, waitUntil } from '../helpers/network.js'
import { tempDir } from '../helpers/repo.js'

const MiB = 1024 * 1024
const ATTACKER_ADDRESS = '127.0.0.2'
const IDENTITIES = 16

async function provider (repo: string, allow?: string[]): Promise<PeerLinkNode> {
  await initRepo(repo, (c) => {
    c.network.listen = ['/ip4/127.0.0.1/tcp/0']
    c.api.address = '127.0.0.1:0'
    if (allow !== undefined) c.network.allow = allow
  })
  return await PeerLinkNode.open(repo, { network: true, networkInit: { persistDht: false } })
}

function fromAttackers (node: PeerLinkNode): number {
  return node.network.host.getConnections().filter(c => c.remoteAddr.toString().startsWith(`/ip4/${ATTACKER_ADDRESS}/`)).length
}

/** Asks for 200 blocks on a new stream and reads nothing; the stream, or undefined if it was refused. */
async function hoard (connection: Connection, blocks: Uint8Array[], root: Uint8Array): Promise<Stream | undefined> {
  try {
    const stream = await connection.newStream(EXCHANGE_PROTOCOL)
    for (let id = 1; id <= 200; id++) stream.send(frame({ type: Message.Type.WANT, id: BigInt(id), root, cids: [blocks[id % blocks.length]] }))
    stream.pause()
    return stream
  } catch {
    return undefined
  }
}

/**
 * Fresh identities dialling from ATTACKER_ADDRESS, one after another (past libp2p's inbound
 * rate limit of 5 a second per address), each hoarding on one stream; the connections the
 * provider took.
 */
async function hoardFrom (node: PeerLinkNode, blocks: Uint8Array[], root: Uint8Array, hosts: Libp2p[]): Promise<Connection[]> {
  const [address] = node.network.addresses()
  const taken: Connection[] = []
  for (let i = 0; i < IDENTITIES; i++) {
    const host = await createLibp2p({ ...await transportSettings({ dialFrom: ATTACKER_ADDRESS }), addresses: { listen: [] } })
    hosts.push(host)
    const connection = await host.dial(address, { signal: AbortSignal.timeout(5000) }).catch(() => undefined)
    await new Promise(resolve => setTimeout(resolve, 250))
    if (connection?.status !== 'open' || !node.network.host.getConnections(host.peerId).some(c => c.status === 'open')) continue
    taken.push(connection)
    await hoard(connection, blocks, root)
  }
  return taken
}

describe('exchange: identities on one address', function () {
  this.timeout(120_000)
  let dir: { path: string, cleanup: () => Promise<void> }
  const nodes: PeerLinkNode[] = []
  const hosts: Libp2p[] = []
  before(async () => { dir = await tempDir() })
  afterEach(async () => {
    await Promise.all(hosts.splice(0).map(async h => { await h.stop() }))
    await Promise.all(nodes.splice(0).map(async n => { await n.stop() }))
  })
  after(async () => { await dir?.cleanup() })

  async function setUp (name: string, allow?: string[]): Promise<{ node: PeerLinkNode, blocks: Uint8Array[], root: CID, bytes: Buffer }> {
    const node = await provider(join(dir.path, name), allow)
    nodes.push(node)
    const f = await randomFile(dir.path, `${name}.bin`, 8 * MiB)
    // k = 8: the file fills one stripe, so it is cut in 1 MiB chunks.
    const root = (await node.add(f.path, { k: 8 })).cid
    const blocks = Array.from({ length: 8 }, (_, i) => cidOf(f.bytes.subarray(i * MiB, (i + 1) * MiB)).bytes)
    return { node, blocks, root, bytes: f.bytes }
  }

  it('counts 16 identities from one address outside the allow-list as one party, and an allowed peer keeps fetching', async () => {
    const { node, blocks, root, bytes } = await setUp('narrow', ['/ip4/127.0.0.1/ipcidr/32'])
    const stats = node.network.server.stats
    let parties = 0
    const sampler = setInterval(() => { parties = Math.max(parties, stats.parties) }, 5)
    try {
      const taken = await hoardFrom(node, blocks, root.bytes, hosts)
      // A crowd of identities gets a few connections, refused before their handshake beyond.
      expect(taken.length).to.be.at.most(MAX_CONNECTIONS_PER_ADDRESS)
      expect(fromAttackers(node)).to.be.at.most(MAX_CONNECTIONS_PER_ADDRESS)
      expect(node.network.gate.stats.crowded).to.be.greaterThan(0)
      // Their streams are one party's: one identity's share at most. A stream beyond it is
      // held, then reset; the identity's connection and the streams it is served on stay
      // (closing it made room for another identity's stream, which closed its connection
      // in turn, and so on: churn that cost the honest fetch most of its speed).
      expect(taken.length).to.be.at.least(2)
      for (let i = taken.length; i < MAX_INBOUND_STREAMS; i++) expect(await hoard(taken[0], blocks, root.bytes)).to.not.equal(undefined)
      await waitUntil(() => stats.openStreams === MAX_INBOUND_STREAMS, 5000, 'the address\'s streams to be served')
      const refused = await hoard(taken[0], blocks, root.bytes)
      expect(refused).to.not.equal(undefined)
      await waitUntil(() => refused?.status !== 'open', 2 * REFUSAL_HOLD, 'the stream beyond the address\'s share to be reset')
      expect(taken[0].status).to.equal('open')
      expect(stats.openStreams).to.equal(MAX_INBOUND_STREAMS)
      expect(parties).to.equal(1)
      // An honest peer on an allowed address is a party of its own and fetches the file.
      const fetcher = await startNode(join(dir.path, 'fetcher'))
      nodes.push(fetcher)
      const out = join(dir.path, 'narrow.out')
      await fetcher.fetch(parseTarget(node.network.ticket(root)), { output: out, findTimeout: 1000 })
      expect((await readFile(out)).equals(bytes)).to.equal(true)
      expect(parties).to.equal(2)
    } finally {
      clearInterval(sampler)
    }
  })

  it('counts each identity as its own party when their address is on the allow-list (the default: 127.0.0.0/8)', async () => {
    const { node, blocks, root } = await setUp('default')
    await hoardFrom(node, blocks, root.bytes, hosts)
    expect(fromAttackers(node)).to.equal(IDENTITIES)
    expect(node.network.server.stats.parties).to.equal(IDENTITIES)
    expect(node.network.gate.stats.crowded).to.equal(0)
  })
})
