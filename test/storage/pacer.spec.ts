// Pacing of repair traffic: each transfer waits until the bytes before it are paid for at the
// rate (a lower bound on the time taken, which a loaded machine only lengthens).
import { expect } from 'chai'
import { InvalidArgumentError } from '../../src/errors.js'
import { Pacer } from '../../src/storage/pacer.js'

describe('storage: repair pacing', () => {
  it('spaces transfers by their bytes at the rate, callers at once included', async () => {
    const pacer = new Pacer(1024 * 1024)
    const started = Date.now()
    await Promise.all([pacer.take(128 * 1024), pacer.take(128 * 1024), pacer.take(128 * 1024)])
    // The third starts once the first two (256 KiB) are paid for: 250 ms at 1 MiB/s.
    expect(Date.now() - started).to.be.at.least(245)
  })

  it('0 paces nothing, an aborted wait ends at once, and a bad rate is refused', async () => {
    const free = new Pacer(0)
    for (let i = 0; i < 100; i++) await free.take(1024 ** 3)
    const pacer = new Pacer(1024)
    await pacer.take(1024 * 1024)
    // The next would wait 1024 s.
    const stop = new AbortController()
    const waiting = pacer.take(1, { signal: stop.signal })
    stop.abort()
    for (const p of [waiting, pacer.take(1, { signal: stop.signal })]) {
      await p.then(() => expect.fail('waited'), (err: Error) => { expect(err.name).to.equal('AbortError') })
    }
    expect(() => new Pacer(-1)).to.throw(InvalidArgumentError, 'a repair rate is a whole number of bytes a second (0: unpaced), not -1')
  })
})
