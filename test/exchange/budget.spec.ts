import { expect } from 'chai'
import { CID_LOOKUP_COST, DEFAULT_BUDGET, WorkBudget } from '../../src/exchange/budget.js'

const MiB = 1024 * 1024

/** A budget on a clock the test moves by hand. */
function budget (active = 1, options = {}): { b: WorkBudget, clock: { t: number, now: () => number }, peers: { n: number } } {
  const clock = { t: 1_000_000, now () { return this.t } }
  const peers = { n: active }
  return { b: new WorkBudget(() => peers.n, clock, options), clock, peers }
}

describe('exchange: work budget', () => {
  it('lets an honest fetcher at 150 MB/s through without a wait, queries included', () => {
    const { b, clock } = budget()
    // A 1 GiB fetch: one HAVE query about its ~1,500 blocks, then 1 MiB blocks at 150 MB/s.
    expect(b.charge('honest', 1500 * CID_LOOKUP_COST).wait).to.equal(0)
    for (let i = 0; i < 1024; i++) {
      clock.t += 1e6 / 150e6 * MiB * 1000 / 1e6 * 1000 // ms per MiB at 150 MB/s
      expect(b.delay('honest')).to.equal(0)
      expect(b.charge('honest', MiB, false)).to.deep.equal({ wait: 0, flood: false })
    }
  })

  it('slows a peer over its rate by the time its debt takes to repay', () => {
    const { b, clock } = budget()
    const rate = DEFAULT_BUDGET.peerRate
    expect(b.charge('p', rate).wait).to.equal(0) // the burst: one second of rate
    expect(b.charge('p', rate / 2).wait).to.equal(500)
    clock.t += 250
    expect(b.delay('p')).to.equal(250)
    clock.t += 250
    expect(b.delay('p')).to.equal(0)
  })

  it('penalises a peer that keeps its debt above five seconds, then again no sooner than five seconds later', () => {
    const { b, clock } = budget()
    const want = 4096 * CID_LOOKUP_COST // 256 MiB: one second of the peer's rate
    const floods: number[] = []
    for (let ms = 0; ms < 20_000; ms += 10) {
      // 16 streams each asking 4,096 CIDs every 10 ms: far more than it can be served.
      if (b.charge('flooder', want).flood) floods.push(ms)
      clock.t += 10
    }
    expect(floods.length).to.be.within(3, 5)
    expect(floods[0]).to.be.lessThan(100)
    for (let i = 1; i < floods.length; i++) expect(floods[i] - floods[i - 1]).to.be.at.least(5000)
  })

  it('does not penalise block reads the node paced itself', () => {
    const { b } = budget()
    for (let i = 0; i < 100; i++) expect(b.charge('reader', 64 * MiB, false).flood).to.equal(false)
    expect(b.delay('reader')).to.be.greaterThan(5000)
  })

  it('splits the node rate among active peers, within the per-peer bounds', () => {
    const { b, peers } = budget()
    expect(b.rate()).to.equal(DEFAULT_BUDGET.peerRate)
    peers.n = 16
    expect(b.rate()).to.equal(DEFAULT_BUDGET.nodeRate / 16)
    peers.n = 100_000
    expect(b.rate()).to.equal(DEFAULT_BUDGET.minRate)
  })

  it('gives peers penalised for flooding one slice together, however many identities they are', () => {
    for (const flooders of [1, 16]) {
      const { b, clock } = budget(flooders + 1)
      const want = 4096 * CID_LOOKUP_COST
      for (let i = 0; i < flooders; i++) expect(b.charge(`flooder-${i}`, 16 * want).flood, `flooder-${i}`).to.equal(true)
      // The honest peer and the flooders (as one) split the node's rate.
      const slice = Math.min(DEFAULT_BUDGET.peerRate, DEFAULT_BUDGET.nodeRate / 2)
      expect(b.rate(), `honest, with ${flooders} flooding`).to.equal(slice)
      expect(b.rate(true) * flooders, `all ${flooders} flooders`).to.equal(slice)
      // A flooder's debt is repaid at its part of the one slice: N of them wait N times longer.
      const repay = 16 * want / (slice / flooders) * 1000
      expect(b.delay('flooder-0')).to.be.within(repay * 0.9, repay) // less the burst it started with
      clock.t += 1
    }
  })

  it('keeps a peer in debt when its streams close, and forgets one that owes nothing', () => {
    const { b, clock } = budget()
    b.charge('debtor', 3 * DEFAULT_BUDGET.peerRate)
    b.charge('idle', 1)
    b.release('debtor')
    clock.t += 100
    b.release('idle')
    expect(b.tracked).to.equal(1)
    expect(b.delay('debtor')).to.be.greaterThan(1000) // a new stream does not clear the debt
    clock.t += 3000
    b.release('debtor')
    expect(b.tracked).to.equal(0)
  })

  it('remembers a bounded number of peers', () => {
    const { b } = budget()
    for (let i = 0; i < 10_000; i++) b.charge(`peer-${i}`, 2 * DEFAULT_BUDGET.peerRate)
    expect(b.tracked).to.be.at.most(4096)
  })
})
