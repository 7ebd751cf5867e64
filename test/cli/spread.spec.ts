// `peerlink init --offer`, `add --spread`, `spread` and `status`, run as a user runs them:
// the real CLI against real daemons on loopback; a private file spread leaves holders no plaintext.
import { join } from 'node:path'
import { expect } from 'chai'
import { runCli, startDaemonProcess, stopDaemonProcess, type DaemonProcess } from '../helpers/cli.js'
import { randomFile, waitUntil } from '../helpers/network.js'
import { markedFile, markerIn } from '../helpers/plaintext.js'
import { tempDir } from '../helpers/repo.js'

describe('cli spread and status', function () {
  this.timeout(300_000)
  let dir: { path: string, cleanup: () => Promise<void> }
  const daemons: DaemonProcess[] = []
  beforeEach(async () => { dir = await tempDir('peerlink-cli-spread-') })
  afterEach(async () => {
    for (const d of daemons.splice(0)) await stopDaemonProcess(d)
    await dir.cleanup()
  })

  it('adds and spreads a file over daemons that offer space, says how distinct, and reports its health per stripe', async () => {
    // One daemon after another, each given a minute: seven starting at once on a loaded machine took longer than the default 15 s.
    const owner = await startDaemonProcess(join(dir.path, 'owner'), { timeoutMs: 60_000 })
    daemons.push(owner)
    const holders: DaemonProcess[] = []
    for (let i = 0; i < 6; i++) {
      const repo = join(dir.path, `holder${i}`)
      const init = await runCli(['--repo', repo, 'init', '--listen', '/ip4/127.0.0.1/tcp/0', '--api', '127.0.0.1:0', '--offer', '64MiB', '--bootstrap', owner.dialable[0]])
      expect(init.code, init.stderr).to.equal(0)
      expect((await runCli(['--repo', repo, 'config', 'set', 'gateway.address', 'off'])).code).to.equal(0)
      const holder = await startDaemonProcess(repo, { timeoutMs: 60_000 })
      holders.push(holder)
      daemons.push(holder)
    }
    await waitUntil(async () => JSON.parse((await runCli(['--repo', owner.repo, 'peers', '--json'])).stdout).length >= 6, 30_000, 'the holders connected', 250)

    const file = await randomFile(dir.path, 'file.bin', 9 * 64 * 1024)
    const added = await runCli(['--repo', owner.repo, 'add', '--spread', '--chunk-size', '64KiB', '-k', '4', '-m', '2', file.path])
    expect(added.code, added.stderr).to.equal(0)
    expect(added.stdout).to.match(/over 6 holders: every stripe's 6 blocks on 6 distinct holders/)
    const cid = added.stdout.split(/\s+/).find(w => w.startsWith('bafy')) as string

    const again = await runCli(['--repo', owner.repo, 'spread', '--json', cid])
    expect(again.code, again.stderr).to.equal(0)
    const r = JSON.parse(again.stdout)
    expect(r).to.include({ cid, shards: 6, distinct: 6, holders: 6 })
    expect(r.stripes).to.have.length(3)
    expect(r.stripes[0].holders).to.have.length(6)

    const status = await runCli(['--repo', owner.repo, 'status', '--json', cid])
    expect(status.code, status.stderr).to.equal(0)
    const s = JSON.parse(status.stdout)
    expect(s.health).to.equal('healthy')
    expect(s.stripes.map((x: { live: number }) => x.live)).to.deep.equal([6, 6, 3])
    const text = await runCli(['--repo', owner.repo, 'status', cid])
    expect(text.stdout.split('\n')[0]).to.equal(`${cid}: healthy (3 stripes; DAG nodes: 4, 0 with copies missing, 0 with none)`)

    const ls = await runCli(['--repo', owner.repo, 'ls'])
    expect(ls.stdout).to.match(new RegExp(`^${cid}  file .* file\\.bin  \\(spread\\)$`, 'm'))
    const unknown = await runCli(['--repo', owner.repo, 'status', 'bafkr4ihkr4ld3m4gqkjf4reryxsy2s5tkbxprqkow6fws2rtlh3q3ei6s4'])
    expect(unknown.code).to.equal(7)
    expect(unknown.stderr).to.match(/was not spread from this node: `peerlink spread bafkr4/)

    // A private file spread: the holders store its ciphertext, and none of its plaintext.
    const secret = await markedFile(dir.path, 12)
    const priv = await runCli(['--repo', owner.repo, 'add', '--private', '--spread', '--json', '--chunk-size', '64KiB', '-k', '4', '-m', '2', secret.path])
    expect(priv.code, priv.stderr).to.equal(0)
    const [spreadPrivate] = JSON.parse(priv.stdout) as Array<{ spread: { distinct: number } }>
    expect(spreadPrivate.spread.distinct).to.equal(6)

    // A holder gone: the stripes it held are degraded, the file still whole.
    const gone = holders[0]
    await stopDaemonProcess(gone)
    daemons.splice(daemons.indexOf(gone), 1)
    const degraded = JSON.parse((await runCli(['--repo', owner.repo, 'status', '--json', cid])).stdout)
    expect(degraded.health).to.equal('degraded')

    for (const h of holders.slice(1)) {
      await stopDaemonProcess(h)
      daemons.splice(daemons.indexOf(h), 1)
    }
    for (const h of holders) expect(await markerIn(h.repo), h.repo).to.deep.equal([])
  })

  it('refuses spread and add --spread without a daemon (exit 19), before adding anything', async () => {
    const repo = join(dir.path, 'lone')
    expect((await runCli(['--repo', repo, 'init'])).code).to.equal(0)
    const cid = 'bafkr4ihkr4ld3m4gqkjf4reryxsy2s5tkbxprqkow6fws2rtlh3q3ei6s4'
    const spread = await runCli(['--repo', repo, 'spread', cid])
    expect(spread.code).to.equal(19)
    expect(spread.stderr).to.match(/spread \(holders pull the blocks from this node, and it renews their leases\) needs a running daemon/)
    const file = await randomFile(dir.path, 'f.bin', 1000)
    const addSpread = await runCli(['--repo', repo, 'add', '--spread', file.path])
    expect(addSpread.code).to.equal(19)
    expect(JSON.parse((await runCli(['--repo', repo, 'ls', '--json'])).stdout)).to.deep.equal([])
  })
})
