import { expect } from 'chai'
import { ServingShares, type ShareHolder } from '../../src/exchange/shares.js'

const MiB = 1024 * 1024

class Holder implements ShareHolder {
  buffered = 0
  constructor (readonly peer: string) {}
}

describe('exchange: serving shares', () => {
  it('holds the total of streams, shedding the largest holder for a newcomer below its share', () => {
    const shares = new ServingShares<Holder>({ maxBufferedBytes: 256 * MiB, maxStreams: 8, minSlice: 8 * MiB })
    const first = Array.from({ length: 8 }, () => new Holder('a'))
    for (const h of first) expect(shares.admit(h)).to.deep.equal({ admitted: true })
    const shed: Holder[] = []
    for (const peer of ['b', 'c', 'd']) {
      for (let i = 0; i < 8; i++) {
        const a = shares.admit(new Holder(peer))
        if (a.admitted && a.shed !== undefined) shed.push(a.shed)
      }
    }
    expect(shares.streams).to.equal(8)
    // Four peers, eight slots: two each, however many each asked for. b took four of a's, then
    // c and d one each of a's and of b's.
    expect(shed.map(h => h.peer).join('')).to.equal('aaaaabab')
    expect(shed.every(h => h.peer !== 'd')).to.equal(true)
    const refused = shares.admit(new Holder('d'))
    expect(refused.admitted).to.equal(false)
    if (!refused.admitted) expect(refused.why).to.match(/8 exchange streams, its limit/)
  })

  it('refuses a 17th stream from one peer', () => {
    const shares = new ServingShares<Holder>({ maxBufferedBytes: 256 * MiB, maxStreams: 256, minSlice: 8 * MiB })
    for (let i = 0; i < 16; i++) expect(shares.admit(new Holder('p')).admitted).to.equal(true)
    const a = shares.admit(new Holder('p'))
    expect(a.admitted).to.equal(false)
    if (!a.admitted) expect(a.why).to.match(/16 exchange streams from this peer/)
  })

  it('keeps the bytes within the bound, each peer within its share, and room for a newcomer', () => {
    const max = 64 * MiB
    const shares = new ServingShares<Holder>({ maxBufferedBytes: max, maxStreams: 256, minSlice: 8 * MiB })
    const holders = ['a', 'b'].map(p => new Holder(p))
    for (const h of holders) shares.admit(h)
    // Each takes 2 MiB whenever allowed, in turns, until neither may.
    for (let round = 0; round < 100; round++) {
      for (const h of holders) if (shares.mayBuffer(h, 2 * MiB)) h.buffered += 2 * MiB
    }
    expect(shares.bufferedBytes()).to.equal(max - 8 * MiB) // the newcomer's slice is left
    expect(holders[0].buffered).to.equal(28 * MiB)
    const newcomer = new Holder('c')
    shares.admit(newcomer)
    for (let i = 0; i < 10; i++) if (shares.mayBuffer(newcomer, 2 * MiB)) newcomer.buffered += 2 * MiB
    expect(newcomer.buffered).to.equal(8 * MiB)
    expect(shares.bufferedBytes()).to.equal(max)
    // The two large holders are now over their share (a third each) and wait first.
    expect(shares.mayBuffer(holders[0], 1)).to.equal(false)
    holders[0].buffered = 0
    expect(shares.mayBuffer(holders[0], 2 * MiB)).to.equal(true)
  })

  it('frees a stream\'s slot and bytes when it is removed', () => {
    const shares = new ServingShares<Holder>({ maxBufferedBytes: 16 * MiB, maxStreams: 1, minSlice: 4 * MiB })
    const h = new Holder('a')
    shares.admit(h)
    h.buffered = 16 * MiB
    expect(shares.admit(new Holder('a')).admitted).to.equal(false)
    shares.remove(h)
    expect(shares.bufferedBytes()).to.equal(0)
    expect(shares.streams).to.equal(0)
    expect(shares.peers).to.equal(0)
    expect(shares.admit(new Holder('b')).admitted).to.equal(true)
  })
})
