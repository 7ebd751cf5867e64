// A node that holds a pinned root and announces names itself when another node asks it for
// the root's providers (GET_PROVIDERS), from the record of its own kad-dht keeps; removing
// the root takes that record away, and a node that does not announce never names itself.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'chai'
import type { CID } from 'multiformats/cid'
import type { PeerLinkNode } from '../../src/node/peerlink.js'
import { parseTarget } from '../../src/node/ticket.js'
import { bootstrapFrom, randomFile, startNode, waitForRoutingTables } from '../helpers/network.js'
import { tempDir } from '../helpers/repo.js'
import { holdsRecord } from './holds-record.js'

/** Whether `asker`, looking `root` up in the DHT, is told that `provider` holds it. */
async function named (asker: PeerLinkNode, root: CID, provider: PeerLinkNode): Promise<boolean> {
  const found = await asker.network.findProviders(root, { timeout: 5000, retries: 0 })
  return found.some(p => p.id.equals(provider.network.peerId))
}

describe('a provider names itself', function () {
  this.timeout(90_000)
  let dir: { path: string, cleanup: () => Promise<void> }
  const nodes: PeerLinkNode[] = []
  before(async () => { dir = await tempDir('peerlink-self-record-') })
  after(async () => {
    await Promise.all(nodes.map(async n => await n.stop().catch(() => {})))
    await dir.cleanup()
  })

  it('to a fresh fetcher once the only other holder of its record has gone, until the root is removed', async () => {
    // Two DHT nodes: the provider's record lives only at the first fetcher.
    const p = await startNode(join(dir.path, 'p'))
    nodes.push(p)
    const f1 = await startNode(join(dir.path, 'f1'), bootstrapFrom([p]))
    nodes.push(f1)
    await waitForRoutingTables([p, f1], 1)
    const f = await randomFile(dir.path, 'shared.bin', 300_000)
    const added = await p.add(f.path)
    expect(added.provided).to.equal(true)
    expect(await holdsRecord(f1, added.cid, p)).to.equal(true)
    // The first fetcher fetches, announces (its record goes to p) and stops.
    const first = await f1.fetch(parseTarget(added.cid.toString()), { output: join(dir.path, 'f1.out') })
    expect(first.providers.map(x => x.peer)).to.deep.equal([p.network.peerId.toString()])
    expect(await holdsRecord(p, added.cid, f1)).to.equal(true)
    await f1.stop()
    nodes.splice(nodes.indexOf(f1), 1)

    // A fresh fetcher that knows only p asks p, by CID alone.
    const f2 = await startNode(join(dir.path, 'f2'), bootstrapFrom([p]))
    nodes.push(f2)
    await waitForRoutingTables([f2], 1)
    expect(await named(f2, added.cid, p), 'p named itself').to.equal(true)
    const out = join(dir.path, 'f2.out')
    const second = await f2.fetch(parseTarget(added.cid.toString()), { output: out })
    expect((await readFile(out)).equals(f.bytes)).to.equal(true)
    expect(second.providers.filter(x => x.blocks > 0).map(x => x.peer)).to.deep.equal([p.network.peerId.toString()])

    await p.rm(added.cid)
    expect(await holdsRecord(p, added.cid, p)).to.equal(false)
    expect(await named(f2, added.cid, p), 'p named itself after rm').to.equal(false)
  })
})
