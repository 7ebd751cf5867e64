import { expect } from 'chai'
import { RecentSends } from '../../src/exchange/resends.js'
import { cidOf } from '../../src/hash/index.js'

describe('exchange: blocks sent lately', () => {
  const cids = Array.from({ length: 8 }, (_, i) => cidOf(Uint8Array.of(i)))

  it('counts per peer the blocks it was sent twice or more within the window', () => {
    let now = 0
    const sent = new RecentSends({ windowMs: 1000, now: () => now })
    sent.note('a', cids[0])
    sent.note('a', cids[1])
    // Sent once: asking again is a refetch or a retry, free.
    expect(sent.count('a', cids)).to.equal(0)
    sent.note('a', cids[0])
    sent.note('a', cids[1])
    expect(sent.count('a', cids)).to.equal(2)
    // Another peer, even on the same address, was sent nothing.
    expect(sent.count('b', cids)).to.equal(0)
    now = 1001
    expect(sent.count('a', cids)).to.equal(0)
    // Past the window, sends count from one again.
    sent.note('a', cids[0])
    expect(sent.count('a', cids)).to.equal(0)
  })

  it('remembers at most `max` blocks in all, forgetting the oldest', () => {
    const sent = new RecentSends({ max: 4 })
    for (const cid of cids) {
      sent.note('a', cid)
      sent.note('a', cid)
    }
    expect(sent.size).to.equal(4)
    expect(sent.count('a', cids.slice(0, 4))).to.equal(0)
    expect(sent.count('a', cids.slice(4))).to.equal(4)
    // A block sent again is the newest, not forgotten next.
    sent.note('a', cids[4])
    sent.note('a', cids[0])
    sent.note('a', cids[0])
    expect(sent.count('a', [cids[4], cids[0]])).to.equal(2)
    expect(sent.count('a', [cids[5]])).to.equal(0)
  })
})
