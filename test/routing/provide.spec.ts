// Announcing roots when no DHT peer takes them: the provide says so (kad-dht alone reports
// success), and the node announces the root again by itself once a peer can take it.
import { join } from 'node:path'
import { expect } from 'chai'
import type { PeerLinkNode } from '../../src/node/peerlink.js'
import { DHT_PROTOCOL } from '../../src/node/host.js'
import { bootstrapFrom, randomFile, startNode, waitForRoutingTables, waitUntil } from '../helpers/network.js'
import { tempDir } from '../helpers/repo.js'

describe('provide when no DHT peer takes the record', function () {
  this.timeout(60_000)
  let dir: { path: string, cleanup: () => Promise<void> }
  const nodes: PeerLinkNode[] = []
  before(async () => { dir = await tempDir('peerlink-provide-') })
  after(async () => {
    await Promise.all(nodes.map(async n => await n.stop().catch(() => {})))
    await dir.cleanup()
  })

  it('fails the provide, then announces the root by itself once a peer takes it', async () => {
    const a = await startNode(join(dir.path, 'a'))
    nodes.push(a)
    const b = await startNode(join(dir.path, 'b'), bootstrapFrom([a]))
    nodes.push(b)
    await waitForRoutingTables([a, b], 1)
    // b stays connected and in a's routing table but stops answering the DHT protocol (a
    // peer that is overloaded, or half gone): nobody takes a's record.
    await b.network.host.unhandle(DHT_PROTOCOL)
    const f = await randomFile(dir.path, 'lonely.bin', 300_000)
    const added = await a.add(f.path)
    expect(added.provided).to.equal(false)
    const err = await a.network.provide(added.cid).then(() => undefined, (e: Error) => e)
    expect(err?.name).to.equal('NotAnnouncedError')
    expect(err?.message).to.include(`could not announce ${added.cid.toString()}`)
    expect(err?.message).to.include('no DHT peer took the record')
    // A new peer joins; nobody provides again by hand, yet it finds a as the provider.
    const c = await startNode(join(dir.path, 'c'), bootstrapFrom([a]))
    nodes.push(c)
    let found: string[] = []
    await waitUntil(async () => {
      found = (await c.network.findProviders(added.cid, { timeout: 2000, retries: 0 })).map(p => p.id.toString())
      return found.includes(a.network.peerId.toString())
    }, 20_000, 'c never found a as the provider', 500)
    expect(found).to.include(a.network.peerId.toString())
  })
})
