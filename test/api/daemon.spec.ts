import { existsSync } from 'node:fs'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'chai'
import { runCli, runCliInTerminal, terminalFrames, startDaemonProcess, stopDaemonProcess as stopDaemon, type DaemonProcess as Running } from '../helpers/cli.js'
import { randomFile } from '../helpers/network.js'
import { tempDir } from '../helpers/repo.js'

describe('the daemon and the CLI through it', function () {
  this.timeout(90_000)
  let dir: { path: string, cleanup: () => Promise<void> }
  const daemons: Running[] = []
  before(async () => { dir = await tempDir('peerlink-daemon-') })
  after(async () => {
    for (const d of daemons) await stopDaemon(d)
    await dir.cleanup()
  })

  it('adds on one daemon, fetches by ticket and by CID on another, and answers id/peers/find-providers', async () => {
    const a = await startDaemonProcess(join(dir.path, 'a'))
    daemons.push(a)
    const b = await startDaemonProcess(join(dir.path, 'b'), { bootstrap: a.dialable })
    daemons.push(b)
    const cli = async (d: Running, ...args: string[]): ReturnType<typeof runCli> => await runCli(['--repo', d.repo, ...args], {}, 60_000)

    expect(await stat(join(a.repo, 'api.token')).then(s => s.mode & 0o777)).to.equal(0o600)
    const f = await randomFile(dir.path, 'shared.bin', 6 * 1024 * 1024 + 7)
    const added = await cli(a, 'add', '--json', f.path)
    expect(added.code, added.stderr).to.equal(0)
    const [entry] = JSON.parse(added.stdout) as Array<{ cid: string, ticket: string, provided: boolean, stored: number }>
    expect(entry.ticket).to.match(/^peerlink:/)
    // Under one stripe: 10 chunks of a tenth of the file and 4 parity blocks, plus two nodes.
    expect(entry.stored).to.be.within(1.4 * f.bytes.length, 1.4 * f.bytes.length + 4096)
    expect(entry.provided).to.equal(true)

    const id = JSON.parse((await cli(a, 'id', '--json')).stdout) as { peerId: string }
    expect(id.peerId).to.equal(a.info.peerId)
    const peers = JSON.parse((await cli(b, 'peers', '--json')).stdout) as Array<{ peer: string, via: string }>
    expect(peers.map(p => p.peer)).to.include(a.info.peerId)
    // On loopback every connection is direct, and the node announces only private addresses.
    expect(peers.find(p => p.peer === a.info.peerId)?.via).to.equal('direct')
    expect((await cli(b, 'peers')).stdout).to.match(new RegExp(`${a.info.peerId} .* direct\n`))

    const out1 = join(dir.path, 'by-ticket.bin')
    const byTicket = await cli(b, 'fetch', entry.ticket, '-o', out1)
    expect(byTicket.code, byTicket.stderr).to.equal(0)
    expect(byTicket.stderr).to.not.include('fetching') // no progress bar into a pipe
    expect((await readFile(out1)).equals(f.bytes)).to.equal(true)
    const out2 = join(dir.path, 'by-cid.bin')
    expect((await cli(b, 'fetch', entry.cid, '-o', out2)).code).to.equal(0)
    expect((await readFile(out2)).equals(f.bytes)).to.equal(true)

    const providers = await cli(a, 'find-providers', '--json', entry.cid)
    expect((JSON.parse(providers.stdout) as Array<{ peer: string }>).map(p => p.peer)).to.include(b.info.peerId)
    const ls = JSON.parse((await cli(b, 'ls', '--json')).stdout) as Array<{ cid: string }>
    expect(ls.map(p => p.cid)).to.include(entry.cid)
  })

  it('on a terminal, says while it finds providers, then shows a bar that fits the width and ends at 100 %', async () => {
    const [a, b] = daemons
    const f = await randomFile(dir.path, 'bar.bin', 5 * 1024 * 1024)
    const [entry] = JSON.parse((await runCli(['--repo', a.repo, 'add', '--json', f.path], {}, 60_000)).stdout) as Array<{ ticket: string }>
    const out = join(dir.path, 'bar.out')
    const r = await runCliInTerminal(['--repo', b.repo, 'fetch', entry.ticket, '-o', out], { timeoutMs: 60_000, columns: 60 })
    expect(r.code, r.stdout + r.stderr).to.equal(0)
    // The ticket's sharer is found at once; the bar replaces that line.
    expect(terminalFrames(r.stdout, 'finding providers')).to.include('finding providers… 1 found')
    const frames = terminalFrames(r.stdout, 'fetching')
    expect(frames.length, r.stdout).to.be.greaterThan(0)
    for (const frame of frames) expect(frame.length, frame).to.be.at.most(59)
    // The last frame is complete, with the rate kept (the total and the time left for room).
    expect(frames.at(-1)).to.match(/^fetching \S+ 100% \| 5\.0 MiB \| [\d.]+ [KMG]?i?B\/s \| 1 peer$/)
    expect(r.stdout).to.include(`wrote ${out}`)
    expect((await readFile(out)).equals(f.bytes)).to.equal(true)
  })

  it('shows a progress bar when adding through the daemon on a terminal', async () => {
    const [a] = daemons
    // Large enough to take several of the bar's frames (10 a second) at the fastest add seen
    // here (48 MiB took 0.16 s in one run and showed no frame between 0 and 100 %).
    const f = await randomFile(dir.path, 'add-bar.bin', 128 * 1024 * 1024)
    const r = await runCliInTerminal(['--repo', a.repo, 'add', f.path], { timeoutMs: 60_000 })
    expect(r.code, r.stdout + r.stderr).to.equal(0)
    const frames = terminalFrames(r.stdout, 'adding')
    expect(frames.length, r.stdout).to.be.greaterThan(1)
    expect(frames.some(l => / [1-9]\d?% \| /.test(l)), frames.join('\n')).to.equal(true) // seen part-way, not only at the end
    expect(frames.at(-1)).to.match(/ 100% \| 128\.0 MiB of 128\.0 MiB \| [\d.]+ [KMG]?i?B\/s \| in (\d+s|\d+m\d\ds)$/)
    expect(r.stdout).to.match(/added \S+ add-bar\.bin \(128\.0 MiB\)/)
    expect(r.stdout).to.include('stored 180.0 MiB for 128.0 MiB: 1.41×') // the short last stripe keeps its 4 parity blocks
  })

  it('refuses API calls without the token or with a wrong one (401)', async () => {
    const a = daemons[0]
    const url = `http://${a.info.address}/api/v1/id`
    expect((await fetch(url)).status).to.equal(401)
    expect((await fetch(url, { headers: { authorization: 'Bearer wrong' } })).status).to.equal(401)
    const token = (await readFile(join(a.repo, 'api.token'), 'utf8')).trim()
    expect((await fetch(url, { headers: { authorization: `Bearer ${token}` } })).status).to.equal(200)
  })

  it('serves with a new token, not with none, when api.token was emptied', async () => {
    const repo = join(dir.path, 'emptied-token')
    expect((await runCli(['--repo', repo, 'init', '--listen', '/ip4/127.0.0.1/tcp/0', '--api', '127.0.0.1:0'])).code).to.equal(0)
    await writeFile(join(repo, 'api.token'), '')
    const c = await startDaemonProcess(repo)
    daemons.push(c)
    const url = `http://${c.info.address}/api/v1/id`
    expect((await fetch(url)).status).to.equal(401)
    expect((await fetch(url, { headers: { authorization: 'Bearer ' } })).status).to.equal(401)
    const token = (await readFile(join(repo, 'api.token'), 'utf8')).trim()
    expect(token.length).to.be.at.least(32)
    expect((await fetch(url, { headers: { authorization: `Bearer ${token}` } })).status).to.equal(200)
    expect((await runCli(['--repo', repo, 'id', '--json'])).code).to.equal(0)
    expect(await stopDaemon(c)).to.equal(0)
    daemons.pop()
  })

  it('reports the daemon\'s errors with their exit status', async () => {
    const bad = await runCli(['--repo', daemons[0].repo, 'stat', 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'])
    expect(bad.code).to.equal(7)
    expect(bad.stderr).to.include('bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy')
    const notCid = await runCli(['--repo', daemons[0].repo, 'fetch', 'not-a-cid'])
    expect(notCid.code).to.equal(2)
    expect(notCid.stderr).to.include('"not-a-cid" is not a valid CID')
    // A ticket is read by the daemon, which says what is wrong with it.
    const cutTicket = await runCli(['--repo', daemons[0].repo, 'fetch', 'peerlink:bqqqq'])
    expect(cutTicket.code, cutTicket.stderr).to.equal(2)
    expect(cutTicket.stderr).to.match(/"peerlink:bqqqq" is not a PeerLink CID or share ticket: its body does not decode/)
  })

  it('stops cleanly on SIGTERM: exit 0, api.json removed, the repo usable offline', async () => {
    const b = daemons[1]
    expect(await stopDaemon(b)).to.equal(0)
    expect(existsSync(join(b.repo, 'api.json'))).to.equal(false)
    const ls = await runCli(['--repo', b.repo, 'ls', '--json'])
    expect(ls.code, ls.stderr).to.equal(0)
    expect((JSON.parse(ls.stdout) as unknown[]).length).to.equal(2) // the two files fetched above
  })

  it('works offline past an api.json whose pid now belongs to another process', async () => {
    const b = daemons[1]
    // As after kill -9, with the pid taken since by a live process (this one).
    await writeFile(join(b.repo, 'api.json'), JSON.stringify({ address: '127.0.0.1:1', pid: process.pid, peerId: b.info.peerId, addresses: [] }))
    const ls = await runCli(['--repo', b.repo, 'ls', '--json'])
    expect(ls.code, ls.stderr).to.equal(0)
    expect((JSON.parse(ls.stdout) as unknown[]).length).to.equal(2)
  })
})
