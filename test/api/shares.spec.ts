// Completion receipts end to end: real daemons on loopback, the real CLI, the API's JSON and
// event stream as a browser would read them.
import { join } from 'node:path'
import { expect } from 'chai'
import type { ShareStatusOut } from '../../src/api/routes/shares.js'
import type { FetchResult } from '../../src/node/fetch.js'
import { runCli, startDaemonProcess, stopDaemonProcess, type DaemonProcess } from '../helpers/cli.js'
import { randomFile } from '../helpers/network.js'
import { tempDir } from '../helpers/repo.js'

async function cliJson<T> (d: DaemonProcess, ...args: string[]): Promise<T> {
  const r = await runCli(['--repo', d.repo, ...args, '--json'], {}, 60_000)
  expect(r.code, r.stderr).to.equal(0)
  return JSON.parse(r.stdout) as T
}

/** A's record of `peer` for `cid`, polled every 100 ms for at most `ms`. */
async function receiverOf (d: DaemonProcess, cid: string, peer: string, ms: number): Promise<ShareStatusOut['receivers'][number] | undefined> {
  const until = Date.now() + ms
  while (true) {
    const shares = await cliJson<ShareStatusOut[]>(d, 'shares')
    const r = shares.find(s => s.cid === cid)?.receivers.find(r => r.peer === peer)
    if (r?.state === 'completed' || Date.now() > until) return r
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

/** Server-sent events from `d`'s route, as `event` and parsed `data`, until `stop` says so or `ms` pass. */
async function readEvents (d: DaemonProcess, stop: (name: string, data: any) => boolean, ms: number): Promise<Array<{ name: string, data: any }>> {
  const token = (await import('node:fs/promises')).readFile(join(d.repo, 'api.token'), 'utf8')
  const res = await fetch(`http://${d.info.address}/api/v1/shares/events`, { headers: { authorization: `Bearer ${(await token).trim()}` }, signal: AbortSignal.timeout(ms) })
  expect(res.status).to.equal(200)
  expect(res.headers.get('content-type')).to.match(/^text\/event-stream/)
  const reader = (res.body as ReadableStream<Uint8Array>).getReader()
  const decoder = new TextDecoder()
  const events: Array<{ name: string, data: any }> = []
  let text = ''
  try {
    while (events.length < 1000) {
      const { value, done } = await reader.read()
      if (done) break
      text += decoder.decode(value, { stream: true })
      let end: number
      while ((end = text.indexOf('\n\n')) >= 0) {
        const block = text.slice(0, end)
        text = text.slice(end + 2)
        const name = /^event: (.*)$/m.exec(block)?.[1]
        const data = /^data: (.*)$/m.exec(block)?.[1]
        if (name === undefined || data === undefined) continue
        events.push({ name, data: JSON.parse(data) })
        if (stop(name, events.at(-1)?.data)) return events
      }
    }
  } finally {
    await reader.cancel().catch(() => {})
  }
  return events
}

describe('shares: completion receipts between daemons', function () {
  this.timeout(120_000)
  let dir: { path: string, cleanup: () => Promise<void> }
  const daemons: DaemonProcess[] = []
  before(async () => { dir = await tempDir('peerlink-shares-') })
  after(async () => {
    for (const d of daemons) await stopDaemonProcess(d)
    await dir.cleanup()
  })

  it('A sees B as completed with the bytes it served, within 2 s of B\'s fetch, and as an event', async () => {
    const a = await startDaemonProcess(join(dir.path, 'a'))
    daemons.push(a)
    const b = await startDaemonProcess(join(dir.path, 'b'), { bootstrap: a.dialable })
    daemons.push(b)
    const f = await randomFile(dir.path, 'shared.bin', 6 * 1024 * 1024 + 7)
    const [entry] = await cliJson<Array<{ cid: string, ticket: string }>>(a, 'add', f.path)
    const before = await cliJson<ShareStatusOut[]>(a, 'shares')
    expect(before.find(s => s.cid === entry.cid)).to.include({ name: 'shared.bin', size: f.bytes.length })
    expect(before.find(s => s.cid === entry.cid)?.receivers).to.deep.equal([])

    const events = readEvents(a, (name, data) => name === 'receiver' && data.receiver.state === 'completed', 30_000)
    const fetched = await cliJson<FetchResult>(b, 'fetch', '--pin-only', entry.ticket)
    const returned = Date.now()
    const fromA = fetched.providers.find(p => p.peer === a.info.peerId)
    expect(fromA?.bytes).to.be.greaterThan(0)
    const r = await receiverOf(a, entry.cid, b.info.peerId, 2000)
    expect(Date.now() - returned).to.be.below(2000 + 1000) // the last poll may start just before 2 s
    expect(r?.state, JSON.stringify(r)).to.equal('completed')
    expect(r?.receipt).to.include({ bytes: fromA?.bytes, blocks: fromA?.blocks })
    expect(r?.sentBytes).to.be.at.least(fromA?.bytes as number)
    expect(r?.receipt?.completed).to.be.at.least(r?.receipt?.started as number)

    const seen = await events
    expect(seen[0].name).to.equal('shares')
    expect((seen[0].data as ShareStatusOut[]).map(s => s.cid)).to.include(entry.cid)
    const done = seen.at(-1)
    expect(done?.name).to.equal('receiver')
    expect(done?.data).to.deep.include({ root: entry.cid })
    expect(done?.data.receiver).to.include({ peer: b.info.peerId, state: 'completed' })

    const text = await runCli(['--repo', a.repo, 'shares'], {}, 60_000)
    expect(text.stdout).to.include(`${b.info.peerId}  completed`)
  })

  it('a fetch from two providers gives each its own receipt with its own byte count', async () => {
    const [a, b] = daemons
    const c = await startDaemonProcess(join(dir.path, 'c'), { bootstrap: a.dialable })
    daemons.push(c)
    const f = await randomFile(dir.path, 'both.bin', 40 * 1024 * 1024)
    const [entry] = await cliJson<Array<{ cid: string, ticket: string }>>(a, 'add', f.path)
    await cliJson<FetchResult>(b, 'fetch', '--pin-only', entry.ticket)
    // B holds it now and is a second provider: C asks the DHT and gets both.
    const fetched = await cliJson<FetchResult>(c, 'fetch', '--pin-only', entry.cid)
    const served = fetched.providers.filter(p => p.blocks > 0)
    expect(served.map(p => p.peer).sort(), JSON.stringify(fetched.providers)).to.deep.equal([a.info.peerId, b.info.peerId].sort())
    for (const p of served) {
      const provider = p.peer === a.info.peerId ? a : b
      const r = await receiverOf(provider, entry.cid, c.info.peerId, 2000)
      expect(r?.state).to.equal('completed')
      expect(r?.receipt).to.include({ bytes: p.bytes, blocks: p.blocks })
    }
    expect(served[0].bytes + served[1].bytes).to.be.at.least(f.bytes.length)
  })

  it('keeps its receivers across a daemon restart (shares.json in the repo)', async () => {
    const a = daemons[0]
    const kept = (await cliJson<ShareStatusOut[]>(a, 'shares')).filter(s => s.receivers.length > 0)
    expect(kept.length, 'the tests above made receivers').to.be.at.least(2)
    await stopDaemonProcess(a)
    const again = await startDaemonProcess(a.repo)
    daemons[0] = again
    const after = (await cliJson<ShareStatusOut[]>(again, 'shares')).filter(s => s.receivers.length > 0)
    expect(after).to.deep.equal(kept)
  })

  it('says shares needs the daemon without one (exit 19)', async () => {
    const r = await runCli(['--repo', join(dir.path, 'none'), 'shares'], {}, 30_000)
    expect(r.code).to.equal(19)
    expect(r.stderr).to.include('needs a running daemon')
  })
})
