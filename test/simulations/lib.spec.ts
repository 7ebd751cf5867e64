// The simulations' shared pieces that need no network: statistics, the pool, the CLI's
// error line, the reading of `ss` output and of /proc.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { expect } from 'chai'
import { cliError } from '../../simulations/lib/cli.js'
import { machineCpu, runDelay } from '../../simulations/lib/daemons.js'
import { pool } from '../../simulations/lib/pool.js'
import { median, percentile, round } from '../../simulations/lib/stats.js'
import { addTcpAcross } from '../../simulations/scenarios/partition/probes.js'

describe('simulations lib', () => {
  it('median: the middle value, or the mean of the two middle values', () => {
    expect(median([3, 1, 2])).to.equal(2)
    expect(median([4, 1, 3, 2])).to.equal(2.5)
    expect(Number.isNaN(median([]))).to.equal(true)
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90)).to.equal(10)
    expect(round(1.26, 1)).to.equal(1.3)
  })

  it('pool runs every item, never more than the limit at once', async () => {
    let running = 0
    let most = 0
    const done: number[] = []
    await pool([1, 2, 3, 4, 5], 2, async (x) => {
      most = Math.max(most, ++running)
      await new Promise(resolve => setTimeout(resolve, 5))
      done.push(x)
      running--
    })
    expect(done.sort()).to.deep.equal([1, 2, 3, 4, 5])
    expect(most).to.equal(2)
  })

  it('reads the whole machine\'s busy and total CPU seconds, busy growing while a core works', () => {
    const a = machineCpu()
    const until = Date.now() + 300
    let spins = 0
    while (Date.now() < until) spins++
    const b = machineCpu()
    expect(spins).to.be.greaterThan(0)
    expect(a.total).to.be.greaterThan(0)
    expect(b.busy - a.busy).to.be.greaterThan(0.1)
    expect(b.total - a.total).to.be.at.least(b.busy - a.busy)
  })

  it('reads how long a process\'s main thread waited for a core: two busy loops on one core each wait', async function () {
    this.timeout(10_000)
    // Both children spin on core 0 alone, so each is ready to run about half the time it waits.
    const spin = (): ChildProcess => spawn('taskset', ['-c', '0', process.execPath, '-e', 'for (;;) {}'], { stdio: 'ignore' })
    const children = [spin(), spin()]
    try {
      await Promise.all(children.map(async c => await once(c, 'spawn')))
      const pids = children.map(c => c.pid as number)
      // taskset execs node in place: the pid is the spinning thread's.
      await new Promise(resolve => setTimeout(resolve, 200))
      const before = pids.map(runDelay)
      await new Promise(resolve => setTimeout(resolve, 800))
      const waited = pids.map((pid, i) => runDelay(pid) - before[i])
      expect(waited.reduce((a, b) => a + b, 0)).to.be.greaterThan(0.4)
      expect(runDelay(-1)).to.equal(0)
    } finally {
      for (const c of children) c.kill('SIGKILL')
      await Promise.all(children.map(async c => c.exitCode !== null || c.signalCode !== null ? undefined : await once(c, 'exit')))
    }
  })

  it('a failed CLI call is told by its peerlink: line, else its last line, else its exit or its time bound', () => {
    const r = { code: 1, stdout: '', ms: 1, timedOut: false }
    expect(cliError({ ...r, stderr: 'peerlink: no providers found\nremedy: wait\n' })).to.equal('no providers found')
    expect(cliError({ ...r, stderr: 'first\nlast\n' })).to.equal('last')
    expect(cliError({ ...r, stderr: '' })).to.equal('exit code 1')
    expect(cliError({ ...r, code: null, stderr: '', timedOut: true }, 500)).to.equal('timed out after 500 ms')
  })

  it('reads connections across a partition, and their backoff, from ss -tnio', () => {
    const out = { connections: 0, backingOff: 0, maxRtoMs: 0, maxBackoff: 0 }
    const sides = new Map<string, 'A' | 'B'>([['10.0.0.1', 'A'], ['10.0.0.2', 'B'], ['10.0.0.3', 'A']])
    addTcpAcross(out, [
      'Recv-Q Send-Q Local Address:Port Peer Address:Port',
      '0 0 10.0.0.1:4001 10.0.0.2:51000',
      '\t cubic rto:3328 backoff:3 rtt:0.1',
      '0 0 10.0.0.1:4001 10.0.0.3:52000',
      '\t cubic rto:204 rtt:0.1'
    ].join('\n'), 'A', sides)
    expect(out).to.deep.equal({ connections: 1, backingOff: 1, maxRtoMs: 3328, maxBackoff: 3 })
  })
})
