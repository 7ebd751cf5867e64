import { statfsSync, writeFileSync } from 'node:fs'
import { multiaddr } from '@multiformats/multiaddr'
import { mkdir, readdir, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'chai'
import type { CID } from 'multiformats/cid'
import { parseTarget } from '../../src/node/ticket.js'
import type { StripeNode } from '../../src/files/format.js'
import { PeerLinkNode } from '../../src/node/peerlink.js'
import { ENOUGH_PROVIDERS } from '../../src/exchange/session.js'
import { bootstrapFrom, randomFile, startNetwork, startNode, waitUntil, type TestNetwork } from '../helpers/network.js'
import { damageBlock, smallDisk, stripesOf } from '../helpers/repo.js'
import { slowLink } from '../helpers/slow-link.js'

const MiB = 1024 * 1024

async function stripes (node: PeerLinkNode, root: CID): Promise<StripeNode[]> {
  return (await stripesOf(node.blockstore, root)).map(s => s.node)
}

describe('fetch across a loopback network', function () {
  this.timeout(90_000)
  let net: TestNetwork
  before(async () => { net = await startNetwork(6) })
  after(async () => { await net?.stop() })

  it('finds the provider through the DHT, fetches identical bytes, computes parity, pins and provides', async () => {
    const [a, , , d] = net.nodes
    const f = await randomFile(net.dir, 'one.bin', 5 * MiB + 123)
    const added = await a.add(f.path, { chunkSize: 256 * 1024, k: 4, m: 2 })
    expect(added.provided).to.equal(true)
    const out = join(net.dir, 'one.out')
    const events: string[] = []
    const r = await d.fetch(parseTarget(added.cid.toString()), {
      output: out,
      onProgress: (e) => { if (e.type.startsWith('fetch:')) events.push(e.type === 'fetch:providers:found' ? `found ${e.detail.count}` : e.type) }
    })
    // The lookup is told from its start; when it ends, against the root's arrival, depends on the DHT.
    expect(events.filter(e => e !== 'fetch:providers:done')).to.deep.equal(['fetch:providers:searching', 'found 1', 'fetch:start'])
    expect(events.filter(e => e === 'fetch:providers:done')).to.have.length(1)
    expect((await readFile(out)).equals(f.bytes)).to.equal(true)
    expect(r.providers.map(p => p.peer)).to.deep.equal([a.network.peerId.toString()])
    const parity = (await stripes(a, added.cid)).reduce((n, s) => n + s.parity.length, 0)
    expect(r.parityComputed).to.equal(parity)
    expect((await d.verify(added.cid)).ok).to.equal(true)
    expect(await d.blockstore.isPinned(added.cid)).to.equal(true)
    // The fetcher is now a provider too, announced once the fetch had returned.
    expect(r.provided).to.equal(true)
    await waitUntil(async () => (await net.nodes[5].network.findProviders(added.cid, { timeout: 5000, limit: 2 })).some(p => p.id.equals(d.network.peerId)), 20_000, 'the fetcher found as a provider', 250)
  })

  it('fetches 64 MiB from 3 providers at once, each serving a share', async () => {
    const [a, b, c] = net.nodes
    const e = net.nodes[4]
    const f = await randomFile(net.dir, 'big.bin', 64 * MiB)
    let root: CID | undefined
    for (const p of [a, b, c]) root = (await p.add(f.path)).cid
    const out = join(net.dir, 'big.out')
    const r = await e.fetch(parseTarget((root as CID).toString()), { output: out })
    expect((await readFile(out)).equals(f.bytes)).to.equal(true)
    const serving = r.providers.filter(p => p.blocks > 0)
    expect(serving.length).to.equal(3)
    for (const p of serving) expect(p.bytes).to.be.greaterThan(4 * MiB)
    expect(r.parityComputed).to.be.greaterThan(0)
  })

  it('completes from the others when a provider leaves mid-fetch', async () => {
    const { nodes } = net
    const extra = [await net.add(), await net.add(), await net.add()]
    const [p1, p2, fetcher] = [extra[0], extra[1], extra[2]]
    const f = await randomFile(net.dir, 'leave.bin', 24 * MiB)
    const root = (await p1.add(f.path)).cid
    await p2.add(f.path)
    const leaving = p1.network.peerId.toString()
    const out = join(net.dir, 'leave.out')
    let stopped: Promise<void> | undefined
    let blocks = 0
    const r = await fetcher.fetch({ root, peer: p1.network.peerId, addrs: p1.network.addresses() }, {
      output: out,
      requestTimeout: 5000,
      onProgress: (e) => {
        if (e.type === 'exchange:session:block' && ++blocks === 4) stopped = p1.stop()
      }
    })
    await stopped
    nodes.splice(nodes.indexOf(p1), 1)
    expect((await readFile(out)).equals(f.bytes)).to.equal(true)
    expect(r.providers.find(p => p.peer === leaving)?.dropped).to.equal(true)
    expect(r.providers.find(p => p.peer === p2.network.peerId.toString())?.blocks).to.be.greaterThan(0)
  })

  it('drops and bans a provider whose blocks fail verification; the output is still correct', async () => {
    const [honest, liar, fetcher] = [await net.add(), await net.add(), await net.add()]
    const f = await randomFile(net.dir, 'lie.bin', 8 * MiB)
    const root = (await honest.add(f.path, { chunkSize: 256 * 1024 })).cid
    await liar.add(f.path, { chunkSize: 256 * 1024 })
    // Damage the liar's copy on disk: every data chunk gets a flipped byte.
    for (const s of await stripes(liar, root)) {
      for (const cid of s.data) await damageBlock(liar.blockstore, cid)
    }
    const out = join(net.dir, 'lie.out')
    const r = await fetcher.fetch({ root, addrs: [] }, { output: out })
    expect((await readFile(out)).equals(f.bytes)).to.equal(true)
    const liarStats = r.providers.find(p => p.peer === liar.network.peerId.toString())
    expect(liarStats?.dropped).to.equal(true)
    expect(fetcher.network.penalties.isBanned(liar.network.peerId)).to.equal(true)
    expect((await fetcher.verify(root)).ok).to.equal(true)
  })

  it('fetches from a provider on a slow link without giving up on it or penalising it', async () => {
    // Outside the network, so the fetcher reaches it only through the slow link.
    const provider = await startNode(join(net.dir, 'slow-provider'))
    const fetcher = await net.add()
    const f = await randomFile(net.dir, 'slow.bin', 6 * MiB)
    const root = (await provider.add(f.path, { chunkSize: 256 * 1024 })).cid
    // 1 MB/s from the provider: a full window of 16 blocks (4 MiB) takes about 4 s to arrive,
    // twice the 2 s request timeout, while each block takes about 0.26 s.
    const link = await slowLink(Number(provider.network.addresses()[0].getComponents().find(c => c.name === 'tcp')?.value), 1_000_000)
    try {
      const out = join(net.dir, 'slow.out')
      const started = Date.now()
      const r = await fetcher.fetch({ root, peer: provider.network.peerId, addrs: [multiaddr(`/ip4/127.0.0.1/tcp/${link.port}`)] }, { output: out, requestTimeout: 2000, findTimeout: 1000 })
      expect(Date.now() - started).to.be.greaterThan(5000) // it did come through the slow link
      expect((await readFile(out)).equals(f.bytes)).to.equal(true)
      expect(r.providers.find(p => p.peer === provider.network.peerId.toString())?.dropped).to.equal(false)
      expect(fetcher.network.penalties.list().find(p => p.peer === provider.network.peerId.toString())).to.equal(undefined)
    } finally {
      link.close()
      await provider.stop()
    }
  })

  it('looks the providers up again while the fetch goes on, and fetches from one that announced after the first lookup', async () => {
    // The ticket's sharer, outside the DHT and behind a slow link: the fetch lasts about 12 s.
    const sharer = await startNode(join(net.dir, 'late-sharer'))
    const fetcher = await net.add()
    const late = await net.add()
    const f = await randomFile(net.dir, 'late.bin', 12 * MiB)
    const root = (await sharer.add(f.path, { chunkSize: 256 * 1024 })).cid
    const link = await slowLink(Number(sharer.network.addresses()[0].getComponents().find(c => c.name === 'tcp')?.value), 1_000_000)
    try {
      const out = join(net.dir, 'late.out')
      let added: Promise<unknown> | undefined
      const found: string[] = []
      const r = await fetcher.fetch({ root, peer: sharer.network.peerId, addrs: [multiaddr(`/ip4/127.0.0.1/tcp/${link.port}`)] }, {
        output: out,
        findTimeout: 1000,
        onProgress: (e) => {
          if (e.type === 'fetch:providers:found') found.push(e.detail.peer)
          // The first lookup has found nobody in the DHT; only now does a second provider announce.
          if (e.type === 'fetch:providers:done') added ??= late.add(f.path, { chunkSize: 256 * 1024 })
        }
      })
      await added
      expect((await readFile(out)).equals(f.bytes)).to.equal(true)
      expect(found).to.deep.equal([sharer.network.peerId.toString(), late.network.peerId.toString()])
      const second = r.providers.find(p => p.peer === late.network.peerId.toString())
      expect(second?.blocks).to.be.greaterThan(0)
    } finally {
      link.close()
      await sharer.stop()
    }
  })

  it('reaches a provider that restarted on a new port, though its ticket and records name the old one', async () => {
    const [holder, fetcher] = [await net.add(), await net.add()]
    const f = await randomFile(net.dir, 'moved.bin', 2 * MiB)
    const root = (await holder.add(f.path)).cid
    const ticket = { root, peer: holder.network.peerId, addrs: holder.network.addresses() }
    const peer = ticket.peer.toString()
    await holder.stop()
    net.nodes.splice(net.nodes.indexOf(holder), 1)
    // Nobody serves it now: the error says who was tried and why they served nothing. Looked
    // up anew, it is not dialled again at the address that failed (on the internet a second
    // dial timeout).
    const host = fetcher.network.host
    const dialProtocol = host.dialProtocol.bind(host)
    let dials = 0
    host.dialProtocol = async (to, protocols, options) => { if (to.toString() === peer) dials++; return await dialProtocol(to, protocols, options) }
    const down = await fetcher.fetch(ticket, { findTimeout: 3000 }).then(() => undefined, (e: Error) => e)
    host.dialProtocol = dialProtocol
    expect(down?.name).to.equal('NoProvidersError')
    expect(down?.message).to.match(new RegExp(`${peer}: cannot open an exchange stream: .*; looked up anew: `))
    expect(dials).to.equal(1)
    // The same repo again, listening on a port of its own choosing (the config says tcp/0).
    const moved = await PeerLinkNode.open(holder.repoPath, { network: true, networkInit: { persistDht: false } })
    net.nodes.push(moved)
    expect(moved.network.addresses().map(String)).to.not.have.members(ticket.addrs.map(String))
    await waitUntil(() => net.nodes[0].network.host.getConnections(moved.network.peerId).length > 0, 10_000, 'the restarted node did not rejoin')
    const out = join(net.dir, 'moved.out')
    const r = await fetcher.fetch(ticket, { output: out })
    expect((await readFile(out)).equals(f.bytes)).to.equal(true)
    expect(r.providers.map(({ peer, blocks, bytes, duplicateBytes, dropped }) => ({ peer, blocks, bytes, duplicateBytes, dropped }))).to.deep.include({ peer, blocks: r.fetchedBlocks, bytes: r.fetchedBytes, duplicateBytes: 0, dropped: false })
    expect(r.providers.find(p => p.peer === peer)?.rate).to.be.above(0)
  })

  it(`leaves a provider whose record outlived it unreached while ${ENOUGH_PROVIDERS} others hold the file, with no DHT lookup for it`, async () => {
    const f = await randomFile(net.dir, 'stale.bin', 4 * MiB)
    const gone = await net.add()
    const goneId = gone.network.peerId.toString()
    const root = (await gone.add(f.path)).cid
    await gone.stop()
    net.nodes.splice(net.nodes.indexOf(gone), 1)
    for (const p of net.nodes.slice(0, ENOUGH_PROVIDERS)) await p.add(f.path)
    const fetcher = await net.add()
    const lookups: string[] = []
    const routing = fetcher.network.routing
    const findPeer = routing.findPeer.bind(routing)
    routing.findPeer = async (peer, options) => { lookups.push(peer.toString()); return await findPeer(peer, options) }
    const out = join(net.dir, 'stale.out')
    const r = await fetcher.fetch(parseTarget(root.toString()), { output: out })
    expect((await readFile(out)).equals(f.bytes)).to.equal(true)
    const stale = r.providers.find(p => p.peer === goneId)
    expect(stale, 'the record of the node that left was found').to.not.equal(undefined)
    expect(stale).to.deep.include({ blocks: 0, dropped: true, failure: 'unreachable' })
    expect(stale?.reason).to.match(/^cannot open an exchange stream: .* \(not looked up anew: the other providers held what was wanted\)$/)
    expect(lookups).to.deep.equal([])
    expect(r.providers.filter(p => p.blocks > 0).length).to.be.at.least(2)
  })

  it('rebuilds from parity the m data chunks of a stripe that no provider holds', async () => {
    const [holder, fetcher] = [await net.add(), await net.add()]
    const f = await randomFile(net.dir, 'hole.bin', 3 * MiB + 5)
    const m = 2
    const root = (await holder.add(f.path, { chunkSize: 128 * 1024, k: 6, m, allowSmallChunks: true })).cid
    const [first] = await stripes(holder, root)
    for (const cid of first.data.slice(1, 1 + m)) await holder.blockstore.delete(cid)
    const out = join(net.dir, 'hole.out')
    const r = await fetcher.fetch({ root, peer: holder.network.peerId, addrs: holder.network.addresses() }, { output: out })
    expect((await readFile(out)).equals(f.bytes)).to.equal(true)
    expect(r.rebuiltChunks).to.equal(m)
    expect((await fetcher.verify(root)).ok).to.equal(true)
  })

  it('fails with a clear error, in bounded time, for a CID nobody provides', async () => {
    const [lonely] = [await net.add()]
    const f = await randomFile(net.dir, 'nobody.bin', 1000)
    const other = await net.add()
    const root = (await other.add(f.path)).cid
    await other.blockstore.unpin(root)
    await other.blockstore.gc()
    const started = Date.now()
    const err = await lonely.fetch({ root, addrs: [] }, { findTimeout: 3000 }).then(() => undefined, (e: Error) => e)
    expect(err?.name).to.equal('NoProvidersError')
    expect(Date.now() - started).to.be.lessThan(15_000)
  })
  it('refuses a fetch past the storage quota before fetching any content, and fetches once it is raised', async () => {
    const [a] = net.nodes
    const fetcher = await net.add()
    const f = await randomFile(net.dir, 'quota.bin', 4 * MiB)
    const added = await a.add(f.path, { chunkSize: 256 * 1024, k: 4, m: 2 })
    const out = join(net.dir, 'quota.out')
    const before = (await fetcher.usage()).bytes
    fetcher.config.storage.quota = before + 5 * MiB // the file and its parity need 6 MiB
    const err = await fetcher.fetch(parseTarget(added.cid.toString()), { output: out }).then(() => undefined, (e: Error) => e)
    expect(err?.name).to.equal('QuotaExceededError')
    expect(err?.message).to.match(/quota is \d+ bytes/)
    expect((await fetcher.usage()).bytes - before).to.be.lessThan(64 * 1024) // the root alone
    expect(await readFile(out).then(() => true, () => false)).to.equal(false)
    fetcher.config.storage.quota = before + 7 * MiB
    const r = await fetcher.fetch(parseTarget(added.cid.toString()), { output: out })
    expect((await readFile(out)).equals(f.bytes)).to.equal(true)
    expect(r.fetchedBytes).to.be.within(4 * MiB, 4 * MiB + 64 * 1024) // data and stripe nodes; parity computed
  })

  it('counts the output with the repo on one disk, and fails cleanly when the disk fills mid-fetch (tmpfs)', async function () {
    const disk = await smallDisk(this, join(net.dir, 'small-disk'), 32)
    const mnt = disk.path
    let fetcher: PeerLinkNode | undefined
    try {
      fetcher = await startNode(join(mnt, 'repo'), bootstrapFrom(net.nodes))
      const f = await randomFile(net.dir, 'disk.bin', 8 * MiB)
      const added = await net.nodes[1].add(f.path)
      const target = parseTarget(net.nodes[1].network.ticket(added.cid))
      const empty = (await fetcher.usage()).bytes

      // The repo needs 8 MiB, its parity and 16 MiB of head-room: that fits in 32 MiB, but
      // not with the output on the same disk as well.
      const inside = join(mnt, 'disk.out')
      const refused = await fetcher.fetch(target, { output: inside }).then(() => undefined, (e: Error) => e)
      expect(refused?.name).to.equal('DiskFullError')
      expect(refused?.message).to.match(/needs about 36 MiB free to store 8 MiB and write 8 MiB to .*disk\.out, has 3\d MiB/)
      expect((await fetcher.usage()).bytes - empty).to.be.lessThan(64 * 1024) // the root alone
      expect((await readdir(mnt)).sort()).to.deep.equal(['repo'])

      // Another writer fills the disk once the fetch has started: the fetch stops with the
      // disk-full error, pins nothing and leaves no partial output.
      const outDir = join(net.dir, 'disk-out')
      await mkdir(outDir)
      const filler = join(mnt, 'filler')
      const full = await fetcher.fetch(target, {
        output: join(outDir, 'disk.out'),
        onProgress: (e) => {
          if (e.type !== 'fetch:start') return
          const fs = statfsSync(mnt)
          writeFileSync(filler, Buffer.alloc(fs.bavail * fs.bsize - 2 * MiB))
        }
      }).then(() => undefined, (e: Error) => e)
      expect(full?.name, full?.stack).to.equal('DiskFullError')
      expect(await readdir(outDir)).to.deep.equal([])
      expect(await fetcher.blockstore.isPinned(added.cid)).to.equal(false)

      // With the space back the same node fetches the file whole.
      await rm(filler)
      const r = await fetcher.fetch(target, { output: join(outDir, 'disk.out') })
      expect((await readFile(join(outDir, 'disk.out'))).equals(f.bytes)).to.equal(true)
      expect(r.parityComputed).to.equal(4)
      expect(await fetcher.blockstore.isPinned(added.cid)).to.equal(true)
    } finally {
      await fetcher?.stop()
      disk.unmount()
    }
  })
})
