// `peerlink connect`, run as a user runs it: real daemons on loopback.
import { join } from 'node:path'
import { expect } from 'chai'
import { runCli, startDaemonProcess, stopDaemonProcess, type DaemonProcess } from '../helpers/cli.js'
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
