import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'chai'
import { RelayLimitError } from '../../src/errors.js'
import { PeerLinkNode } from '../../src/node/peerlink.js'
import type { Connection } from '@libp2p/interface'
import { reachability, relaySeconds } from '../../src/node/reachability.js'
import type { NetworkConfig } from '../../src/repo/repo.js'
import { initRepo } from '../../src/repo/repo.js'
import { randomFile, waitUntil } from '../helpers/network.js'
import { tempDir } from '../helpers/repo.js'

const KiB = 1024

/**
 * A relay and a provider that listens on no address of its own (as behind a NAT: it only dials
 * out, to the relay), so a fetcher reaches it only through the relay's circuit address.
 */
describe('fetching through a circuit relay', function () {
  this.timeout(60_000)
  let dir: { path: string, cleanup: () => Promise<void> }
  const nodes: PeerLinkNode[] = []

  async function start (name: string, network: Partial<NetworkConfig>): Promise<PeerLinkNode> {
    const repo = join(dir.path, name)
    await initRepo(repo, (c) => {
      c.network = { ...c.network, listen: ['/ip4/127.0.0.1/tcp/0'], ...network }
      c.api.address = '127.0.0.1:0'
    })
    const node = await PeerLinkNode.open(repo, { network: true, networkInit: { persistDht: false } })
    nodes.push(node)
    return node
  }

  /** A relay, a provider behind it holding a file of `size` bytes, and the provider's relayed address. */
  async function relayed (relayConfig: Partial<NetworkConfig>, size: number, relayedTransfers = true): Promise<{ provider: PeerLinkNode, root: Awaited<ReturnType<PeerLinkNode['add']>>['cid'], bytes: Buffer, circuit: string }> {
    const relay = await start(`relay${nodes.length}`, { relay: true, ...relayConfig })
    const relayAddr = relay.network.addresses()[0].toString()
    const provider = await start(`provider${nodes.length}`, { listen: [], bootstrap: [relayAddr], reserveRelay: true, relayedTransfers })
    await waitUntil(() => provider.network.addresses().some(a => a.toString().includes('/p2p-circuit')), 20_000, 'no reservation on the relay')
    const f = await randomFile(dir.path, `file${nodes.length}.bin`, size)
    const root = (await provider.add(f.path)).cid
    const circuit = provider.network.addresses().find(a => a.toString().includes('/p2p-circuit'))?.toString() as string
    return { provider, root, bytes: await readFile(f.path), circuit }
  }

  beforeEach(async () => { dir = await tempDir('peerlink-relay-') })
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map(async n => await n.stop().catch(() => {})))
    await dir.cleanup()
  })

  it('announces the relay address, and a small file comes through it when relayed transfers are on', async () => {
    const { provider, root, bytes, circuit } = await relayed({ relayDataLimit: 4 * 1024 * KiB, relaySeconds: 90 }, 64 * KiB)
    expect(reachability(provider.network.addresses())).to.equal('relayed')
    const fetcher = await start('fetcher', { relayedTransfers: true })
    await fetcher.network.connect(circuit)
    const connection = (await fetcher.network.peers()).find(p => p.peer === provider.network.peerId.toString())
    expect(connection?.via).to.equal('relayed')
    // The relay (js-libp2p's server) sends its 90 s in milliseconds; shown as the seconds left of 90.
    expect(connection?.limits?.seconds).to.be.within(1, 90)
    const out = join(dir.path, 'small.out')
    await fetcher.fetch({ root, peer: provider.network.peerId, addrs: [multiaddr(circuit)] }, { output: out, findTimeout: 2000 })
    expect((await readFile(out)).equals(bytes)).to.equal(true)
  })

  it('refuses with RelayLimitError, saying what would help, when relayed transfers are off', async () => {
    const { provider, root, circuit } = await relayed({}, 64 * KiB, false)
    const fetcher = await start('fetcher', {})
    const err = await fetcher.fetch({ root, peer: provider.network.peerId, addrs: [multiaddr(circuit)] }, { output: join(dir.path, 'off.out'), findTimeout: 2000 })
      .then(() => undefined, (e: Error) => e)
    expect(err).to.be.instanceOf(RelayLimitError)
    expect(err?.message).to.include('reachable only through a relay').and.include('network.relayedTransfers')
  })

  it('ends with RelayLimitError when the relay\'s data limit cuts the transfer off', async () => {
    const { provider, root, circuit } = await relayed({ relayDataLimit: 128 * KiB }, 2 * 1024 * KiB)
    const fetcher = await start('fetcher', { relayedTransfers: true })
    const err = await fetcher.fetch({ root, peer: provider.network.peerId, addrs: [multiaddr(circuit)] }, { output: join(dir.path, 'cut.out'), findTimeout: 2000, requestTimeout: 5000 })
      .then(() => undefined, (e: Error) => e)
    expect(err).to.be.instanceOf(RelayLimitError)
    expect(err?.message).to.include('closed by the relay\'s limits').and.include('a relay with higher limits')
    // What was left of the relay's 120 s (libp2p's default), not 1000× that.
    expect(Number(/(\d+) s left/.exec(err?.message ?? '')?.[1])).to.be.within(1, 120)
  })

  it('reads a relay\'s time limit in seconds only from a js-libp2p relay as milliseconds', () => {
    // 120 s sent as 120000 and counted down by the client for 30 s: 90 s are left.
    expect(relaySeconds(120_000 - 30, 'js-libp2p/3.0.0 node/20.20.2', 0, 30_000)).to.equal(90)
    expect(relaySeconds(90, 'go-libp2p/0.41.0', 0, 30_000)).to.equal(90)
    expect(relaySeconds(90, undefined, 0, 30_000)).to.equal(90)
    expect(relaySeconds(undefined, 'js-libp2p/3.0.0', 0, 30_000)).to.equal(undefined)
  })

  it('AutoNAT\'s dial-back to a connected peer opens a connection of its own, and closing it leaves the peer\'s one up', async () => {
    const server = await start('server', {})
    const asker = await start('asker', {})
    await asker.network.connect(server.network.addresses()[0].toString())
    await waitUntil(() => server.network.host.getConnections(asker.network.peerId).length > 0, 10_000, 'the server never saw the asker\'s connection')
    const [held] = server.network.host.getConnections(asker.network.peerId)
    // What AutoNAT's server dials an asker's address with, and then closes what it got.
    const autonat = (server.network.host.services as unknown as { autonat: { components: { connectionManager: { openConnection: (addr: unknown, o?: object) => Promise<Connection> } } } }).autonat
    const back = await autonat.components.connectionManager.openConnection(asker.network.addresses()[0], { signal: AbortSignal.timeout(10_000) })
    expect(back.id).to.not.equal(held.id)
    await back.close()
    expect(held.status).to.equal('open')
    expect(server.network.host.getConnections(asker.network.peerId).map(c => c.id)).to.include(held.id)
  })

  it('announces no private address with network.privateAddresses off, and network.announce as it is', async () => {
    const hidden = await start('hidden', { privateAddresses: false })
    expect(hidden.network.addresses().map(String)).to.deep.equal([])
    expect(reachability(hidden.network.addresses())).to.equal('private')
    const announced = await start('announced', { privateAddresses: false, announce: ['/ip4/198.20.0.7/tcp/4021'] })
    expect(announced.network.addresses().map(String)).to.deep.equal([`/ip4/198.20.0.7/tcp/4021/p2p/${announced.network.peerId.toString()}`])
    expect(reachability(announced.network.addresses())).to.equal('public')
    // On (the default), the loopback listen address is announced as before.
    const open = await start('open', {})
    expect(open.network.addresses().map(String).some(a => a.startsWith('/ip4/127.0.0.1/tcp/'))).to.equal(true)
  })
})
