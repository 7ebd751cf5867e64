// The human text of the commands, from the shapes the API and the node give.
import { expect } from 'chai'
import { addedText, formatBytes, peersText, pinsText, sharesText, statText, verifyText } from '../../src/cli/format.js'
import type { Damage, VerifyReport } from '../../src/files/verify.js'

describe('cli format', () => {
  it('writes sizes in binary units, whole bytes without decimals', () => {
    expect(formatBytes(0)).to.equal('0 B')
    expect(formatBytes(1023)).to.equal('1023 B')
    expect(formatBytes(1536)).to.equal('1.5 KiB')
    expect(formatBytes(5 * 1024 * 1024)).to.equal('5.0 MiB')
    expect(formatBytes(3 * 1024 ** 5)).to.equal('3072.0 TiB')
  })

  it('says what was added and what it stores, with the share ticket unless quiet', () => {
    const file = { cid: 'bafyfile', name: 'a.txt', type: 'file' as const, size: 2048, stored: 3412, files: 1, skipped: [], ticket: 'peerlink:abc' }
    expect(addedText(file, false)).to.deep.equal(['added bafyfile a.txt (2.0 KiB)', 'stored 3.3 KiB for 2.0 KiB: 1.67×', 'share peerlink:abc'])
    expect(addedText(file, true)).to.deep.equal(['bafyfile'])
    const dir = { ...file, name: 'album', type: 'directory' as const, files: 3, size: 99614720, stored: 141557760, ticket: undefined }
    expect(addedText(dir, false)).to.deep.equal(['added bafyfile album (3 files, 95.0 MiB)', 'stored 135.0 MiB for 95.0 MiB: 1.42×'])
    // An empty file has no ratio: its manifest alone is stored.
    expect(addedText({ ...file, size: 0, stored: 242, ticket: undefined }, false)).to.deep.equal(['added bafyfile a.txt (0 B)', 'stored 242 B for 0 B'])
  })

  it('describes a file with its layout and a directory with its entries', () => {
    const base = { cid: 'bafyroot', name: 'x', size: 10, pinned: true }
    expect(statText({ ...base, type: 'file', mediaType: 'text/plain', chunkSize: 1048576, k: 10, m: 4, stripes: 1, hash: 'ab' })).to.deep.equal([
      'cid        bafyroot',
      'type       file (pinned)',
      'name       x',
      'size       10 bytes (10 B)',
      'media type text/plain',
      'chunks     1.0 MiB each, stripes of k=10 data + m=4 parity, 1 stripes',
      'blake3     ab'
    ])
    expect(statText({ ...base, pinned: false, type: 'directory', entries: 2 }).slice(1)).to.deep.equal([
      'type       directory',
      'name       x',
      'size       10 bytes (10 B)',
      'entries    2'
    ])
  })

  it('lines up pins by size', () => {
    expect(pinsText([{ cid: 'bafya', name: 'a', size: 3000000, type: 'file', added: 0 }, { cid: 'bafyb', name: 'b', size: 6, type: 'directory', added: 0 }])).to.deep.equal([
      'bafya  file     2.9 MiB  a',
      'bafyb  dir          6 B  b'
    ])
  })

  it('says of each damaged block whether it was repaired', () => {
    const damage = (cid: string): Damage => ({ cid, what: 'chunk 0', reason: 'corrupt' })
    const report: VerifyReport = { blocks: 8, damaged: [damage('c1'), damage('c2')], repaired: [damage('c1')], unrecoverable: [], ok: true }
    expect(verifyText(report, true)).to.deep.equal([
      'checked 8 intact blocks; 2 damaged, 1 repaired, 0 unrecoverable',
      '  chunk 0: corrupt (c1): repaired from parity',
      '  chunk 0: corrupt (c2): NOT repairable'
    ])
    expect(verifyText({ ...report, repaired: [] }, false).at(-1)).to.equal('  chunk 0: corrupt (c2): not repaired (--no-repair)')
  })

  it('lists each share with its receivers: completed with what they got, or fetching', () => {
    const share = { cid: 'bafyroot', name: 'a.bin', size: 2048, type: 'file', added: 0 }
    expect(sharesText([])).to.deep.equal(['no shares: add a file to share one'])
    expect(sharesText([{ ...share, receivers: [] }])).to.deep.equal(['bafyroot     2.0 KiB  a.bin', '  no receivers yet'])
    expect(sharesText([{
      ...share,
      receivers: [
        { peer: 'peerB', state: 'completed', sentBytes: 2048, sentBlocks: 2, firstSent: 0, lastSent: 0, completedAt: 0, receipt: { bytes: 2048, blocks: 2, started: 0, completed: 0 } },
        { peer: 'peerC', state: 'fetching', sentBytes: 1024, sentBlocks: 1, firstSent: 0, lastSent: 1000 }
      ]
    }]).slice(1)).to.deep.equal([
      '  peerB  completed 1970-01-01T00:00:00.000Z, got 2.0 KiB in 2 blocks from here',
      '  peerC  fetching, 1.0 KiB sent so far (last 1970-01-01T00:00:01.000Z)'
    ])
  })

  it('says of each connection whether it is direct, hole punched or relayed', () => {
    expect(peersText([
      { peer: 'peerA', addrs: ['/ip4/203.0.113.5/tcp/4001'], via: 'direct' },
      { peer: 'peerB', addrs: ['/ip4/198.51.100.7/tcp/4001'], via: 'direct', punched: true },
      { peer: 'peerC', addrs: ['/ip4/203.0.113.9/tcp/4001/p2p/relay/p2p-circuit'], via: 'relayed' }
    ])).to.deep.equal([
      'peerA  /ip4/203.0.113.5/tcp/4001  direct',
      'peerB  /ip4/198.51.100.7/tcp/4001  direct (hole punched)',
      'peerC  /ip4/203.0.113.9/tcp/4001/p2p/relay/p2p-circuit  relayed'
    ])
  })
})
