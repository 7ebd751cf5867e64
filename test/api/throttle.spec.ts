import { expect } from 'chai'
import { throttle } from '../../src/api/throttle.js'

describe('the progress throttle', () => {
  it('lets one event through per interval, and those it is told to always', async () => {
    const sent: string[] = []
    const send = throttle(50, (e: string) => { sent.push(e) }, e => e.startsWith('!'))
    send('a')
    send('b') // within the interval: dropped
    send('!start') // always goes out, and starts the interval again
    send('c')
    await new Promise(resolve => setTimeout(resolve, 60))
    send('d')
    expect(sent).to.deep.equal(['a', '!start', 'd'])
  })
})
