// Connection limits hold for every address outside network.allow: with the allow-list
// narrowed to 127.0.0.2, peers dialling from 127.0.0.1 count against maxConnections, and
// fresh identities beyond it are refused; with the default list (all of 127.0.0.0/8) the
// same peers are all let in.
import { join } from 'node:path'
import type { Libp2p } from '@libp2p/interface'
import { expect } from 'chai'
import { createLibp2p } from 'libp2p'
import { transportSettings } from '../../src/node/host.js'
import { PeerLinkNode } from '../../src/node/peerlink.js'
import { initRepo } from '../../src/repo/repo.js'
import { tempDir } from '../helpers/repo.js'

async function provider (repo: string, allow?: string[]): Promise<PeerLinkNode> {
  await initRepo(repo, (c) => {
    c.network.listen = ['/ip4/127.0.0.1/tcp/0']
    c.api.address = '127.0.0.1:0'
    c.network.maxConnections = 3
    if (allow !== undefined) c.network.allow = allow
  })
  return await PeerLinkNode.open(repo, { network: true, networkInit: { persistDht: false } })
}

/** Dials from `count` fresh identities, one after another; how many connections stayed open. */
async function dialFromFreshIdentities (node: PeerLinkNode, count: number, all: Libp2p[]): Promise<number> {
  const [address] = node.network.addresses()
  const hosts: Libp2p[] = []
  for (let i = 0; i < count; i++) {
    const host = await createLibp2p({ ...await transportSettings(), addresses: { listen: [] } })
    hosts.push(host)
    all.push(host)
    await host.dial(address, { signal: AbortSignal.timeout(5000) }).catch(() => {})
    await new Promise(resolve => setTimeout(resolve, 250)) // past libp2p's inbound rate limit of 5 a second per address
  }
  await new Promise(resolve => setTimeout(resolve, 500))
  return hosts.filter(h => h.getConnections(node.network.peerId).some(c => c.status === 'open')).length
}

describe('node: connection limits outside the allow-list', function () {
  this.timeout(60_000)
  let dir: { path: string, cleanup: () => Promise<void> }
  const nodes: PeerLinkNode[] = []
  const hosts: Libp2p[] = []
  before(async () => { dir = await tempDir() })
  after(async () => {
    await Promise.all(hosts.map(async h => { await h.stop() }))
    await Promise.all(nodes.map(async n => { await n.stop() }))
    await dir.cleanup()
  })

  it('refuses fresh identities beyond maxConnections from an address not on the list', async () => {
    const node = await provider(join(dir.path, 'narrow'), ['/ip4/127.0.0.2/ipcidr/32'])
    nodes.push(node)
    const open = await dialFromFreshIdentities(node, 8, hosts)
    expect(open).to.be.at.most(3)
    expect(node.network.host.getConnections().length).to.be.at.most(3)
  })

  it('lets the same peers in when their address is on the list (the default: 127.0.0.0/8)', async () => {
    const node = await provider(join(dir.path, 'default'))
    nodes.push(node)
    expect(node.config.network.allow).to.deep.equal(['/ip4/127.0.0.0/ipcidr/8'])
    expect(await dialFromFreshIdentities(node, 8, hosts)).to.be.greaterThan(3)
  })
})
