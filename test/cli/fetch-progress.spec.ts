import { expect } from 'chai'
import type { ProgressLine } from '../../src/cli/backend.js'
import { FetchProgress } from '../../src/cli/fetch-progress.js'

const MiB = 1024 * 1024

/** A fetch's progress as it would come, shown nowhere (no terminal): what it would say kept. */
function keptAfter (lines: Array<[ProgressLine['event'], unknown]>): string {
  const p = new FetchProgress(false)
  for (const [event, detail] of lines) p.onProgress({ event, detail })
  return p.keptText()
}

describe('what an interrupted fetch says it kept', () => {
  it('before the root arrived: nothing to resume, only to retry', () => {
    expect(keptAfter([['fetch:providers:searching', {}], ['fetch:providers:found', { count: 2 }]])).to.equal('interrupted while finding providers; run the same command again to retry')
  })

  it('counts a tree\'s files one after another, each exported from 0 to its own size', () => {
    expect(keptAfter([
      ['fetch:start', { size: 5 * MiB }],
      ['files:export:progress', { bytes: 1 * MiB, total: 3 * MiB }],
      ['files:export:progress', { bytes: 3 * MiB, total: 3 * MiB }],
      ['files:export:progress', { bytes: 1 * MiB, total: 2 * MiB }]
    ])).to.equal('kept 4.0 MiB of 5.0 MiB in the repo; run the same command again to resume')
  })

  it('counts blocks stored ahead of the output, never more than the root\'s size', () => {
    const block: [ProgressLine['event'], unknown] = ['exchange:session:block', { peer: 'p', bytes: MiB }]
    expect(keptAfter([['fetch:start', { size: 10 * MiB }], ['files:export:progress', { bytes: MiB, total: 10 * MiB }], block, block, block, block])).to.match(/^kept 4\.0 MiB of 10\.0 MiB/)
    expect(keptAfter([['fetch:start', { size: 2 * MiB }], block, block, block])).to.match(/^kept 2\.0 MiB of 2\.0 MiB/)
  })
})
