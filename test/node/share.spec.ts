// Dial hints for a ticket made from the repo's config, with no node listening.
import { expect } from 'chai'
import { dialHints } from '../../src/node/share.js'

describe('share: dial hints from listen addresses', () => {
  const interfaces = {
    lo: [{ address: '127.0.0.1', family: 'IPv4', internal: true }, { address: '::1', family: 'IPv6', internal: true }],
    eth0: [
      { address: '192.0.2.7', family: 'IPv4', internal: false },
      { address: '2001:db8::7', family: 'IPv6', internal: false },
      { address: 'fe80::1', family: 'IPv6', internal: false }
    ]
  } as unknown as Parameters<typeof dialHints>[1]

  it('expands unspecified addresses to loopback then the interfaces, and keeps the rest', () => {
    const hints = dialHints(['/ip4/0.0.0.0/tcp/4021', '/ip6/::/tcp/4021', '/ip4/198.51.100.1/tcp/9'], interfaces)
    expect(hints.map(String)).to.deep.equal([
      '/ip4/127.0.0.1/tcp/4021', '/ip4/192.0.2.7/tcp/4021',
      '/ip6/::1/tcp/4021', '/ip6/2001:db8::7/tcp/4021',
      '/ip4/198.51.100.1/tcp/9'
    ])
  })

  it('drops port 0 (known only once a node listens), a /p2p/ suffix, and duplicates', () => {
    expect(dialHints(['/ip4/127.0.0.1/tcp/0', '/ip4/0.0.0.0/tcp/0'], interfaces)).to.deep.equal([])
    expect(dialHints(['/ip4/127.0.0.1/tcp/5/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN', '/ip4/127.0.0.1/tcp/5'], interfaces).map(String))
      .to.deep.equal(['/ip4/127.0.0.1/tcp/5'])
  })
})
