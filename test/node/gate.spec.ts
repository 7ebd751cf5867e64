// The inbound gate: a banned identity that redials costs the node a Noise handshake each
// time, so the address it dials from is struck and its further connections are refused
// before the handshake, beyond a slow rate, on allow-listed loopback too.
import { join } from 'node:path'
import type { Libp2p } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'chai'
import { createLibp2p } from 'libp2p'
import { InboundGate, STRIKE_MEMORY, STRUCK_DIAL_BURST, STRUCK_DIAL_RATE } from '../../src/node/gate.js'
import { transportSettings } from '../../src/node/host.js'
import { PeerLinkNode } from '../../src/node/peerlink.js'
import { initRepo } from '../../src/repo/repo.js'
import { tempDir } from '../helpers/repo.js'

const FROM = multiaddr('/ip4/127.0.0.1/tcp/40000')

describe('node: inbound gate', function () {
  this.timeout(60_000)

  describe('the gate alone', () => {
    it('refuses nothing from an address that never presented a banned identity', () => {
      const gate = new InboundGate(() => 0)
      for (let i = 0; i < 100; i++) expect(gate.refuses(FROM)).to.equal(false)
      expect(gate.stats.refused).to.equal(0)
    })

    it('lets a struck address open a burst, then STRUCK_DIAL_RATE a second, and forgets it after STRIKE_MEMORY', () => {
      let now = 1000
      const gate = new InboundGate(() => now)
      gate.strike(FROM)
      const passed = Array.from({ length: 20 }, () => gate.refuses(multiaddr('/ip4/127.0.0.1/tcp/40001'))).filter(r => !r).length
      expect(passed).to.equal(STRUCK_DIAL_BURST)
      expect(gate.refuses(multiaddr('/ip4/127.0.0.2/tcp/1')), 'another address').to.equal(false)
      now += 1000
      const next = Array.from({ length: 20 }, () => gate.refuses(FROM)).filter(r => !r).length
      expect(next).to.equal(STRUCK_DIAL_RATE)
      now += STRIKE_MEMORY
      for (let i = 0; i < 20; i++) expect(gate.refuses(FROM)).to.equal(false)
    })

    it('counts a peer outside the allow-list as its address (IPv6: its /64), on the list as itself', () => {
      const gate = new InboundGate(() => 0, ['/ip4/127.0.0.1/ipcidr/32', '/ip6/::1'])
      expect(gate.partyOf(FROM, 'peer-a')).to.equal('peer-a')
      expect(gate.partyOf(multiaddr('/ip6/::1/tcp/1'), 'peer-a')).to.equal('peer-a')
      expect(gate.partyOf(multiaddr('/ip4/127.0.0.2/tcp/1'), 'peer-a')).to.equal('127.0.0.2')
      expect(gate.partyOf(multiaddr('/ip4/127.0.0.2/tcp/2'), 'peer-b')).to.equal('127.0.0.2')
      const a = gate.partyOf(multiaddr('/ip6/2001:db8:0:7::1/tcp/1'), 'peer-a')
      expect(a).to.equal('2001:db8:0:7::/64')
      expect(gate.partyOf(multiaddr('/ip6/2001:db8:0:7:ffff:1:2:3/tcp/1'), 'peer-b')).to.equal(a)
      expect(gate.partyOf(multiaddr('/ip6/2001:db8::7:0:0:1/tcp/1'), 'peer-c')).to.equal('2001:db8:0:0::/64')
    })
  })

  describe('on a node', () => {
    let dir: { path: string, cleanup: () => Promise<void> }
    let node: PeerLinkNode
    let attacker: Libp2p
    before(async () => {
      dir = await tempDir()
      const repo = join(dir.path, 'provider')
      await initRepo(repo, (c) => {
        c.network.listen = ['/ip4/127.0.0.1/tcp/0']
        c.api.address = '127.0.0.1:0'
      })
      node = await PeerLinkNode.open(repo, { network: true, networkInit: { persistDht: false } })
      attacker = await createLibp2p({ ...await transportSettings(), addresses: { listen: [] } })
    })
    after(async () => {
      await attacker?.stop()
      await node?.stop()
      await dir.cleanup()
    })

    it('refuses a banned identity\'s redials from allow-listed loopback before their handshake', async () => {
      expect(node.config.network.allow).to.deep.equal(['/ip4/127.0.0.0/ipcidr/8'])
      node.network.penalties.record(attacker.peerId, 'corrupt-block')
      const [address] = node.network.addresses()
      const dials = 16
      for (let i = 0; i < dials; i++) {
        // The dialer may see its side upgraded before the node closes it: either way it redials.
        const conn = await attacker.dial(address, { signal: AbortSignal.timeout(5000) }).catch(() => undefined)
        await conn?.close().catch(() => {})
      }
      const { strikes, refused } = node.network.gate.stats
      // The dials take well under a second or two, so few tokens come back meanwhile.
      expect(strikes, 'handshakes completed by the banned identity').to.be.at.most(STRUCK_DIAL_BURST + 2 * STRUCK_DIAL_RATE)
      expect(strikes + refused).to.equal(dials)
    })
  })
})
