// Hole punching's pieces between real libp2p hosts on loopback: which dials leave from the
// listening port, what happens when that port cannot be used, and which observed addresses are offered.
import { closeSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import type { Libp2p } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'chai'
import { createLibp2p } from 'libp2p'
import { transportSettings } from '../../src/node/host.js'
import type { SharedPortPolicy } from '../../src/node/shared-port.js'
import { PunchCandidates } from '../../src/node/reachability.js'
import { loadAddon } from '../../src/native.js'
import { waitUntil } from '../helpers/network.js'

const port = (addr: string): number => Number(multiaddr(addr).getComponents()[1].value)

describe('hole punching: dials from the listening port, and the addresses offered', function () {
  this.timeout(30_000)
  const hosts: Libp2p[] = []
  afterEach(async () => { await Promise.all(hosts.splice(0).map(async h => await h.stop())) })

  async function host (sharedPort: SharedPortPolicy): Promise<Libp2p> {
    const h = await createLibp2p({ ...await transportSettings({ sharedPort }), addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] } })
    hosts.push(h)
    return h
  }

  /** The ports `from`'s `n` connections to `to` come from, as `to` sees them (once it has them all). */
  async function seenPorts (to: Libp2p, from: Libp2p, n = 1): Promise<number[]> {
    await waitUntil(() => to.getConnections(from.peerId).length >= n, 5000, `${n} connections`)
    return to.getConnections(from.peerId).map(c => port(c.remoteAddr.toString()))
  }

  it('dials from the listening port when the policy takes in the address, and from an ephemeral one otherwise', async function () {
    if (typeof (loadAddon() as unknown as { bindShared?: unknown }).bindShared !== 'function') this.skip()
    const [a, b, c] = [await host('all'), await host('all'), await host('public')]
    const listening = (h: Libp2p): number => port(h.getMultiaddrs()[0].toString())
    await a.dial(b.getMultiaddrs()[0])
    expect(await seenPorts(b, a)).to.deep.equal([listening(a)])
    // 'public' leaves loopback and private addresses to ephemeral ports, as every dial was before.
    await c.dial(b.getMultiaddrs()[0])
    expect(await seenPorts(b, c)).to.have.length(1)
    expect((await seenPorts(b, c))[0]).to.not.equal(listening(c))
    // A second connection to the same address cannot come from the same port (the same four
    // addresses): it comes from another, and both work.
    await a.dial(b.getMultiaddrs()[0], { force: true })
    const ports = await seenPorts(b, a, 2)
    expect(ports).to.have.length(2)
    expect(ports).to.include(listening(a))
    expect(new Set(ports).size).to.equal(2)
    for (const conn of b.getConnections(a.peerId)) expect(conn.status).to.equal('open')
    // The shared listening socket still takes connections in.
    await b.dial(a.getMultiaddrs()[0], { force: true })
    await waitUntil(() => a.getConnections(b.peerId).some(conn => conn.direction === 'inbound'), 5000, 'an inbound connection')
  })

  it('dials from the same port again after a restart, over the old connection\'s TIME_WAIT', async function () {
    if (typeof (loadAddon() as unknown as { bindShared?: unknown }).bindShared !== 'function') this.skip()
    const b = await host('all')
    const first = await host('all')
    const listening = port(first.getMultiaddrs()[0].toString())
    await first.dial(b.getMultiaddrs()[0])
    expect(await seenPorts(b, first)).to.deep.equal([listening])
    await first.stop()
    // Linux lets a connect take over a TIME_WAIT four-tuple only when the old connection has
    // closed on both sides and its last timestamp is from an earlier second (tcp_twsk_unique);
    // sooner, the connect fails with EADDRNOTAVAIL and the dial leaves from an ephemeral port.
    await waitUntil(() => b.getConnections(first.peerId).length === 0, 5000, 'the old connection closed at b')
    await new Promise(resolve => setTimeout(resolve, 1100))
    const again = await createLibp2p({ ...await transportSettings({ sharedPort: 'all' }), addresses: { listen: [`/ip4/127.0.0.1/tcp/${listening}`] } })
    hosts.push(again)
    await again.dial(b.getMultiaddrs()[0])
    expect(await seenPorts(b, again)).to.deep.equal([listening])
  })

  it('binds beside a socket only when that one shares its port, and says what is wrong with bad arguments', async function () {
    const addon = loadAddon() as unknown as { bindShared?: (ip: string, port: number) => number, shareBound: (fd: number) => void }
    if (typeof addon.bindShared !== 'function') this.skip()
    const server = createServer()
    await new Promise<void>(resolve => server.listen({ host: '127.0.0.1', port: 0 }, resolve))
    try {
      const { port: taken } = server.address() as AddressInfo
      expect(() => addon.bindShared?.('127.0.0.1', taken)).to.throw(/bind: Address already in use/)
      addon.shareBound((server as unknown as { _handle: { fd: number } })._handle.fd)
      const fd = addon.bindShared('127.0.0.1', taken)
      expect(fd).to.be.a('number').above(2)
      closeSync(fd)
      expect(() => addon.bindShared?.('not-an-ip', 4001)).to.throw(TypeError, 'not an IP address: not-an-ip')
      expect(() => addon.bindShared?.('127.0.0.1', 0)).to.throw(RangeError, 'port must be 1-65535')
      expect(() => addon.shareBound(-1)).to.throw(/getsockopt/)
    } finally {
      server.close()
    }
  })

  it('offers the observed addresses more peers saw first, then the freshest, a few at most, none stale', () => {
    const c = new PunchCandidates()
    const at = (n: number): string => `/ip4/198.51.100.${n}/tcp/4001`
    c.observed(at(1), 'relay', 0)
    c.observed(at(1), 'peer-b', 10)
    // One peer names five addresses: they rank below the one two peers saw, and only three stay.
    for (let n = 2; n <= 6; n++) c.observed(at(n), 'liar', n * 100)
    expect(c.list(1000)).to.deep.equal([at(1), at(6), at(5), at(4)])
    // Ten minutes after its peers last saw it, an address is offered no more.
    expect(c.list(10 * 60_000 + 10)).to.deep.equal([at(6), at(5), at(4)])
    expect(c.list(10 * 60_000 + 601)).to.deep.equal([])
  })
})
