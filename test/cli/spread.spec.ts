// `peerlink init --offer`, `add --spread`, `status` and `fetch`, run as a user runs them: the
// real CLI against 12 real daemons on loopback (the done-when), the owner and m holders
// of each stripe crashed and the owner back to repair; a private tree spread leaves holders no
// plaintext.
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'chai'
import type { SpreadResult, SpreadStatus } from '../../src/storage/service.js'
import { killDaemonProcess } from '../../simulations/lib/daemons.js'
import { runCli, startDaemonProcess, stopDaemonProcess, type DaemonProcess } from '../helpers/cli.js'
import { randomFile, waitUntil } from '../helpers/network.js'
import { MARKER, markedFile, markerIn } from '../helpers/plaintext.js'
import { tempDir } from '../helpers/repo.js'
import { killable, M } from '../helpers/spread.js'

/** Bound on a command that spreads, fetches or asks every holder: 12 daemons on a loaded 2-core machine pass the default 15 s. */
const SLOW = 60_000

describe('cli spread and status', function () {
  this.timeout(300_000)
  let dir: { path: string, cleanup: () => Promise<void> }
  const daemons: DaemonProcess[] = []
  beforeEach(async () => { dir = await tempDir('peerlink-cli-spread-') })
  afterEach(async () => {
    for (const d of daemons.splice(0)) await stopDaemonProcess(d)
    await dir.cleanup()
  })

  /** Starts `n` holders offering 64 MiB each, bootstrapped from `boot`, four at a time (more at once are slow to start on a loaded machine). */
  async function startHolders (n: number, boot: string): Promise<DaemonProcess[]> {
    const holders: DaemonProcess[] = []
    for (let i = 0; i < n; i += 4) {
      holders.push(...await Promise.all(Array.from({ length: Math.min(4, n - i) }, async (_, j) => {
        const repo = join(dir.path, `holder${i + j}`)
        const init = await runCli(['--repo', repo, 'init', '--listen', '/ip4/127.0.0.1/tcp/0', '--api', '127.0.0.1:0', '--offer', '64MiB', '--bootstrap', boot])
        expect(init.code, init.stderr).to.equal(0)
        expect((await runCli(['--repo', repo, 'config', 'set', 'gateway.address', 'off'])).code).to.equal(0)
        const holder = await startDaemonProcess(repo, { timeoutMs: 60_000 })
        daemons.push(holder)
        return holder
      })))
    }
    return holders
  }

  async function stop (d: DaemonProcess, crash = false): Promise<void> {
    daemons.splice(daemons.indexOf(d), 1)
    if (crash) await killDaemonProcess(d)
    else await stopDaemonProcess(d)
  }

  it('12 daemons: add --spread puts every stripe on k+m distinct holders; the owner and m holders of each stripe killed, a fresh node fetches by CID alone; the owner back repairs it to health, as status --json shows', async () => {
    const owner = await startDaemonProcess(join(dir.path, 'owner'), { timeoutMs: 60_000 })
    daemons.push(owner)
    expect((await runCli(['--repo', owner.repo, 'config', 'set', 'storage.repairInterval', '500'])).code).to.equal(0)
    const holders = await startHolders(11, owner.dialable[0])
    await waitUntil(async () => JSON.parse((await runCli(['--repo', owner.repo, 'peers', '--json'])).stdout).length >= 11, 30_000, 'the holders connected', 250)

    // 17 chunks: four full stripes of 4 + 2 blocks, and a short one.
    const file = await randomFile(dir.path, 'file.bin', 17 * 64 * 1024 - 100)
    const added = await runCli(['--repo', owner.repo, 'add', '--spread', '--json', '--chunk-size', '64KiB', '-k', '4', '-m', '2', file.path], {}, SLOW)
    expect(added.code, added.stderr).to.equal(0)
    const [{ cid, spread }] = JSON.parse(added.stdout) as Array<{ cid: string, spread: SpreadResult }>
    expect(spread).to.include({ shards: 6, distinct: 6 })
    expect(spread.stripes.map(s => new Set(s.holders).size)).to.deep.equal([6, 6, 6, 6, 3])
    const status = await runCli(['--repo', owner.repo, 'status', cid], {}, SLOW)
    expect(status.stdout.split('\n')[0]).to.equal(`${cid}: healthy (5 stripes; DAG nodes: ${spread.nodes.length}, 0 with copies missing, 0 with none)`)
    const ls = await runCli(['--repo', owner.repo, 'ls'])
    expect(ls.stdout).to.match(new RegExp(`^${cid}  file .* file\\.bin  \\((spread|healthy)\\)$`, 'm'))
    const unknown = await runCli(['--repo', owner.repo, 'status', 'bafkr4ihkr4ld3m4gqkjf4reryxsy2s5tkbxprqkow6fws2rtlh3q3ei6s4'])
    expect(unknown.code).to.equal(7)
    expect(unknown.stderr).to.match(/was not spread from this node: `peerlink spread bafkr4/)

    // A private tree spread as one root: the holders store its ciphertext, and none of its plaintext.
    const tree = join(dir.path, `tree-${MARKER}`)
    await mkdir(tree)
    await markedFile(tree, 12)
    const priv = await runCli(['--repo', owner.repo, 'add', '-r', '--private', '--spread', '--json', '--chunk-size', '64KiB', '-k', '4', '-m', '2', tree], {}, SLOW)
    expect(priv.code, priv.stderr).to.equal(0)
    expect((JSON.parse(priv.stdout) as Array<{ spread: SpreadResult }>)[0].spread.distinct).to.equal(6)

    // The owner and, of each stripe, at most m holders (every DAG node keeping a copy), crashed.
    const { killed, lost } = killable(spread, holders.map(h => h.info.peerId))
    expect([...lost.values()].filter(n => n === M).length, 'stripes that lost m holders').to.be.greaterThan(0)
    await stop(owner, true)
    for (const h of holders) if (killed.includes(h.info.peerId)) await stop(h, true)
    const survivors = holders.filter(h => !killed.includes(h.info.peerId))

    const fresh = join(dir.path, 'fresh')
    expect((await runCli(['--repo', fresh, 'init', '--listen', '/ip4/127.0.0.1/tcp/0', '--api', '127.0.0.1:0', '--bootstrap', survivors[0].dialable[0]])).code).to.equal(0)
    const got = await runCli(['--repo', fresh, 'fetch', '--json', '-o', join(dir.path, 'fetched.bin'), cid], {}, SLOW)
    expect(got.code, got.stderr).to.equal(0)
    expect((await readFile(join(dir.path, 'fetched.bin'))).equals(file.bytes)).to.equal(true)

    // The owner back, bootstrapped from a survivor, with repair on: healthy within a bound.
    expect((await runCli(['--repo', owner.repo, 'config', 'set', 'network.bootstrap', survivors[0].dialable[0]])).code).to.equal(0)
    const back = await startDaemonProcess(owner.repo, { timeoutMs: 60_000 })
    daemons.push(back)
    let healthy: SpreadStatus | undefined
    await waitUntil(async () => {
      healthy = JSON.parse((await runCli(['--repo', owner.repo, 'status', '--json', cid], {}, SLOW)).stdout) as SpreadStatus
      // A repair right after the restart may share a holder in a stripe (the owner knew few), and spreads it out later.
      return healthy.health === 'healthy' && healthy.stripes.every(s => s.distinct === s.shards)
    }, 90_000, 'the file healthy again, every stripe on distinct holders', 500)
    if (healthy === undefined) throw new Error('no status')
    for (const s of healthy.stripes) {
      expect(s.live).to.equal(s.shards)
      expect(s.distinct).to.equal(s.shards)
      for (const h of s.holders) expect(killed).to.not.include(h.peer)
    }
    // The round records its repair once every new holder has answered, a moment after the blocks are there.
    await waitUntil(async () => (JSON.parse((await runCli(['--repo', owner.repo, 'status', '--json', cid], {}, SLOW)).stdout) as SpreadStatus).repairs.some(x => x.blocks > 0), 30_000, 'the repair recorded', 500)

    for (const h of survivors) await stop(h)
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
