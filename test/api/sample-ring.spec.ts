import { expect } from 'chai'
import { SampleRing } from '../../src/api/sample-ring.js'

describe('sample ring', () => {
  it('keeps the growth per sample, the latest `size` of them, oldest first', () => {
    let counter = 100
    const ring = new SampleRing(() => counter, 3)
    ring.sample()
    expect(ring.list()).to.deep.equal([])
    for (const grow of [10, 0, 25, 7, 1000]) {
      counter += grow
      ring.sample()
    }
    expect(ring.list()).to.deep.equal([25, 7, 1000])
    for (let i = 0; i < 10_000; i++) ring.sample()
    expect(ring.list()).to.deep.equal([0, 0, 0])
  })

  it('counts a counter that went back from zero, never a negative growth', () => {
    let counter = 500
    const ring = new SampleRing(() => counter)
    ring.sample()
    counter = 40
    ring.sample()
    expect(ring.list()).to.deep.equal([40])
  })
})
