import { expect } from 'chai'
import { ServingShares, type ShareHolder } from '../../src/exchange/shares.js'

const MiB = 1024 * 1024

class Holder implements ShareHolder {
  buffered = 0
  constructor (readonly peer: string) {}
}

describe('exchange: serving shares', () => {
  it('holds the total of streams, shedding the largest holder for a newcomer below its share', () => {
    const shares = new ServingShares<Holder>({ maxBufferedBytes: 256 * MiB, maxStreams: 8, minSlice: 4 * MiB, reserve: 8 * MiB })
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
    const shares = new ServingShares<Holder>({ maxBufferedBytes: 256 * MiB, maxStreams: 256, minSlice: 4 * MiB, reserve: 8 * MiB })
    for (let i = 0; i < 16; i++) expect(shares.admit(new Holder('p')).admitted).to.equal(true)
    const a = shares.admit(new Holder('p'))
    expect(a.admitted).to.equal(false)
    if (!a.admitted) expect(a.why).to.match(/16 exchange streams from this peer/)
  })

  it('keeps the bytes within the bound, each peer within its share, and the reserve for the peer holding least', () => {
    const max = 64 * MiB
    const shares = new ServingShares<Holder>({ maxBufferedBytes: max, maxStreams: 256, minSlice: 4 * MiB, reserve: 8 * MiB })
    const [a, b] = ['a', 'b'].map(p => new Holder(p))
    shares.admit(a)
    for (let i = 0; i < 100; i++) if (shares.mayBuffer(a, 2 * MiB)) a.buffered += 2 * MiB
    expect(a.buffered).to.equal(56 * MiB) // alone it may take all but the reserve
    shares.admit(b)
    expect(shares.mayBuffer(a, 2 * MiB)).to.equal(false) // over its half now
    for (let i = 0; i < 100; i++) if (shares.mayBuffer(b, 2 * MiB)) b.buffered += 2 * MiB
    expect(b.buffered).to.equal(8 * MiB) // the reserve, while it holds least
    expect(shares.bufferedBytes()).to.equal(max)
    // Many peers: none holds more than its minimum slice, and each got room.
    shares.remove(a)
    shares.remove(b)
    const many = Array.from({ length: 40 }, (_, i) => new Holder(`p${i}`))
    for (const h of many) shares.admit(h)
    for (let round = 0; round < 10; round++) for (const h of many) if (shares.mayBuffer(h, 1 * MiB)) h.buffered += 1 * MiB
    expect(shares.bufferedBytes()).to.be.at.most(max)
    expect(Math.max(...many.map(h => h.buffered))).to.be.at.most(4 * MiB)
    expect(Math.min(...many.map(h => h.buffered))).to.be.at.least(1 * MiB)
    // Room that frees goes to the waiting peer holding least before any larger holder.
    const newcomer = new Holder('new')
    shares.admit(newcomer)
    expect(shares.mayBuffer(newcomer, 1 * MiB)).to.equal(false) // full: it waits its turn
    const largest = many.reduce((a, b) => b.buffered > a.buffered ? b : a)
    largest.buffered -= 1 * MiB
    expect(shares.mayBuffer(largest, 1 * MiB)).to.equal(false)
    expect(shares.mayBuffer(newcomer, 1 * MiB)).to.equal(true)
  })

  it('frees a stream\'s slot and bytes when it is removed', () => {
    const shares = new ServingShares<Holder>({ maxBufferedBytes: 16 * MiB, maxStreams: 1, minSlice: 4 * MiB, reserve: 4 * MiB })
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
