// `peerlink connect` and the daemon's word on having no peers, run as a user runs them: real
// daemons on loopback.
import { join } from 'node:path'
import { expect } from 'chai'
import { runCli, startDaemonProcess, stopDaemonProcess, type DaemonProcess } from '../helpers/cli.js'
import { waitUntil } from '../helpers/network.js'
import { tempDir } from '../helpers/repo.js'

describe('cli connect', function () {
  this.timeout(60_000)
  let dir: { path: string, cleanup: () => Promise<void> }
  const daemons: DaemonProcess[] = []
  beforeEach(async () => { dir = await tempDir('peerlink-connect-') })
  afterEach(async () => {
    for (const d of daemons.splice(0)) await stopDaemonProcess(d)
    await dir.cleanup()
  })

  it('dials a peer, says when the connection was already open, and a dead address is exit 17 with the dial\'s reason', async () => {
    const a = await startDaemonProcess(join(dir.path, 'a'))
    const b = await startDaemonProcess(join(dir.path, 'b'))
    daemons.push(a, b)

    // Nothing listens on port 1: refused at once, the peer unreachable (not an unexpected failure).
    const dead = `/ip4/127.0.0.1/tcp/1/p2p/${a.info.peerId}`
    const refused = await runCli(['--repo', b.repo, 'connect', dead])
    expect(refused.code, refused.stderr).to.equal(17)
    expect(refused.stderr).to.include(`peerlink: cannot connect to ${dead}: `)
    expect(refused.stderr).to.match(/ECONNREFUSED/)
    const json = await runCli(['--repo', b.repo, 'connect', '--json', dead])
    expect(JSON.parse(json.stdout).error).to.include({ name: 'PeerUnavailableError', exitCode: 17 })

    const first = await runCli(['--repo', b.repo, 'connect', a.dialable[0]])
    expect(first.code, first.stderr).to.equal(0)
    expect(first.stdout.trim()).to.match(new RegExp(`^connected to ${a.info.peerId} via /ip4/127\\.0\\.0\\.1/tcp/\\d+`))

    // libp2p keeps one connection per peer: the dead address is not dialled while it is open.
    const again = await runCli(['--repo', b.repo, 'connect', '--json', dead])
    expect(again.code, again.stderr).to.equal(0)
    const r = JSON.parse(again.stdout)
    expect(r).to.include({ peer: a.info.peerId, reused: true })
    expect(r.addr).to.not.include('/tcp/1/')
    const text = await runCli(['--repo', b.repo, 'connect', a.dialable[0]])
    expect(text.stdout.trim()).to.equal(`already connected to ${a.info.peerId} via ${r.addr as string} (the address given was not dialled)`)
  })
})

describe('cli daemon with no peers', function () {
  this.timeout(60_000)
  let dir: { path: string, cleanup: () => Promise<void> }
  const daemons: DaemonProcess[] = []
  beforeEach(async () => { dir = await tempDir('peerlink-lone-') })
  afterEach(async () => {
    for (const d of daemons.splice(0)) await stopDaemonProcess(d)
    await dir.cleanup()
  })

  it('says so when nothing is connected and no bootstrap peer is configured, with its own addresses to give', async () => {
    const a = await startDaemonProcess(join(dir.path, 'a'))
    daemons.push(a)
    await waitUntil(() => a.log().includes('no peers yet'), 10_000, 'the hint on stderr')
    const hint = a.log().slice(a.log().indexOf('no peers yet'))
    expect(hint).to.include('no peers yet (network.bootstrap is empty)')
    expect(hint).to.include('peerlink connect <its multiaddr>')
    expect(hint).to.include('peerlink config set network.bootstrap <its multiaddr>')
    expect(hint).to.include(`    ${a.dialable[0]}`)

    // A node given a bootstrap peer has one to join: no hint.
    const b = await startDaemonProcess(join(dir.path, 'b'), { bootstrap: a.dialable })
    daemons.push(b)
    await waitUntil(async () => (await runCli(['--repo', b.repo, 'peers'])).stdout.includes(a.info.peerId), 10_000, 'b connected to a', 250)
    expect(b.log()).to.not.include('no peers yet')
  })
})
