// A node that holds a pinned root and announces names itself when another node asks it for
// the root's providers (GET_PROVIDERS), from the record of its own kad-dht keeps; removing
// the root takes that record away, and a node that does not announce never names itself.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'chai'
import type { CID } from 'multiformats/cid'
import { PeerLinkNode } from '../../src/node/peerlink.js'
import { parseTarget } from '../../src/node/ticket.js'
import { routingKey, selfRecords, type SelfRecord } from '../../src/routing/kad-compat.js'
import { bootstrapFrom, randomFile, startNode, waitForRoutingTables, waitUntil } from '../helpers/network.js'
import { tempDir } from '../helpers/repo.js'
import { holdsRecord, providersNamed } from './holds-record.js'

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
    // The add returns once the record is sent; the first fetcher stores it as it arrives.
    await waitUntil(async () => await holdsRecord(f1, added.cid, p), 10_000, 'the first fetcher holds the provider\'s record', 100)
    // The first fetcher fetches, announces (its record goes to p) and stops.
    const first = await f1.fetch(parseTarget(added.cid.toString()), { output: join(dir.path, 'f1.out') })
    expect(first.providers.map(x => x.peer)).to.deep.equal([p.network.peerId.toString()])
    // The announce returns once the record is sent; the provider stores it as it arrives.
    await waitUntil(async () => await holdsRecord(p, added.cid, f1), 10_000, 'the provider holds the first fetcher\'s record', 100)
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

    expect(await providersNamed(f2, p, added.cid)).to.include(p.network.peerId.toString())
    await p.rm(added.cid)
    expect(await providersNamed(f2, p, added.cid)).to.not.include(p.network.peerId.toString())
    expect(await named(f2, added.cid, p), 'p named itself after rm').to.equal(false)
  })

  it('from its first round on, for every pinned root and for no root removed while it was offline; never when it does not announce', async () => {
    const boot = await startNode(join(dir.path, 'boot'))
    nodes.push(boot)
    const repo = join(dir.path, 'restarted')
    const start = async (announce = true): Promise<PeerLinkNode> => {
      const n = await startNode(repo, bootstrapFrom([boot]), { persistDht: true, announce })
      nodes.push(n)
      await waitForRoutingTables([n], 1)
      return n
    }
    const stop = async (n: PeerLinkNode): Promise<void> => {
      nodes.splice(nodes.indexOf(n), 1)
      await n.stop()
    }
    let p = await start()
    const kept = await p.add((await randomFile(dir.path, 'kept.bin', 100_000)).path)
    const removed = await p.add((await randomFile(dir.path, 'removed.bin', 100_000)).path)
    await stop(p)
    // Removed with no network (the CLI's rm when no daemon runs): nothing withdraws it then.
    const offline = await PeerLinkNode.open(repo)
    await offline.rm(removed.cid)
    await offline.stop()

    const restarted = Date.now()
    p = await start()
    await waitUntil(() => p.network.reprovider.lastRound !== undefined, 20_000, 'the first reprovide round')
    const own = await recordsOf(p)
    expect(own.map(r => r.key.toString())).to.deep.equal([routingKey(kept.cid).toString()])
    expect(own[0].written).to.be.at.least(restarted)
    const self = p.network.peerId.toString()
    expect(await providersNamed(boot, p, kept.cid)).to.include(self)
    expect(await providersNamed(boot, p, removed.cid)).to.not.include(self)
    // Every round renews it: kad-dht's reprovider only announces a record once it is older
    // than the validity.
    await new Promise(resolve => setTimeout(resolve, 5))
    await p.network.reprovider.provideAll()
    expect((await recordsOf(p))[0].written).to.be.greaterThan(own[0].written)
    await stop(p)

    // The same repo opened for one command: its records of its own are gone.
    p = await start(false)
    expect(await recordsOf(p)).to.deep.equal([])
    expect(await providersNamed(boot, p, kept.cid)).to.not.include(self)
    expect(await holdsRecord(p, kept.cid, p)).to.equal(false)
  })
})

async function recordsOf (node: PeerLinkNode): Promise<SelfRecord[]> {
  const out: SelfRecord[] = []
  for await (const r of selfRecords(node.network.host.services.dht, node.network.peerId)) out.push(r)
  return out
}
