// Option values as users type them: sizes and durations with or without units.
import { expect } from 'chai'
import { parseDuration, parseSize } from '../../src/cli/arguments.js'
import { InvalidArgumentError } from '../../src/errors.js'

describe('cli option values', () => {
  it('reads durations: ms, s, m, h, decimals, and plain numbers as milliseconds', () => {
    expect(parseDuration('5s')).to.equal(5000)
    expect(parseDuration('500ms')).to.equal(500)
    expect(parseDuration('2m')).to.equal(120_000)
    expect(parseDuration('1h')).to.equal(3_600_000)
    expect(parseDuration('1.5s')).to.equal(1500)
    expect(parseDuration(' 10000 ')).to.equal(10_000)
    expect(parseDuration('3S')).to.equal(3000)
  })

  it('refuses what is not a duration, saying what one looks like', () => {
    for (const bad of ['', '5x', 's', '-1s', '1e3', '5 seconds']) {
      expect(() => parseDuration(bad), bad).to.throw(InvalidArgumentError, /is not a duration \(try 5s, 500ms, 2m/)
    }
  })

  it('reads sizes up to TiB, with or without the "i" and the "B"', () => {
    expect(parseSize('65536')).to.equal(65536)
    expect(parseSize('64KiB')).to.equal(65536)
    expect(parseSize('1MiB')).to.equal(2 ** 20)
    expect(parseSize('2M')).to.equal(2 * 2 ** 20)
    expect(parseSize('20GiB')).to.equal(20 * 2 ** 30)
    expect(parseSize('1tb')).to.equal(2 ** 40)
    expect(() => parseSize('1.5MiB')).to.throw(InvalidArgumentError, /is not a size/)
    expect(() => parseSize('1PiB')).to.throw(InvalidArgumentError, /is not a size/)
  })
})
