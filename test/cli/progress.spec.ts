import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'chai'
import { CID } from 'multiformats/cid'
import { frameLine, formatDuration, type Frame } from '../../src/cli/progress.js'
import { storedBytes } from '../../src/files/stored.js'
import { PeerLinkNode } from '../../src/node/peerlink.js'
import { encodeTicket } from '../../src/node/ticket.js'
import { runCli, startCliInTerminal, startDaemonProcess, stopDaemonProcess, terminalFrames, type CliResult, type DaemonProcess } from '../helpers/cli.js'
import { randomFile, waitUntil } from '../helpers/network.js'
import { tempDir } from '../helpers/repo.js'
import { slowLink } from '../helpers/slow-link.js'

const MiB = 1024 * 1024

describe('the progress bar', () => {
  const running: Frame = { label: 'fetching', done: 42 * MiB, total: 100 * MiB, rate: 12.5 * MiB, eta: 65, peers: 3 }

  it('shows percentage, bytes of the total, rate, time left and peers when the width allows', () => {
    const line = frameLine(running, 120)
    expect(line).to.match(/^fetching [█░]+ 42% \| 42\.0 MiB of 100\.0 MiB \| 12\.5 MiB\/s \| ETA 1m05s \| 3 peers$/)
    expect(line.length).to.equal(119) // the bar takes the rest of the line, short of the last column
    expect(frameLine({ ...running, peers: 1 }, 120)).to.match(/ \| 1 peer$/)
    expect(frameLine({ ...running, peers: undefined }, 120)).to.match(/ \| ETA 1m05s$/)
  })

  it('fits every width, leaving out the total, then the time, then the peers, before the rate', () => {
    for (let width = 10; width <= 200; width++) expect(frameLine(running, width).length, `width ${width}`).to.be.at.most(width - 1)
    expect(frameLine(running, 70)).to.match(/^fetching [█░]{10,} 42% \| 42\.0 MiB \| 12\.5 MiB\/s \| ETA 1m05s \| 3 peers$/)
    expect(frameLine(running, 60)).to.match(/^fetching [█░]{10,} 42% \| 42\.0 MiB \| 12\.5 MiB\/s \| 3 peers$/)
    expect(frameLine(running, 50)).to.match(/^fetching [█░]{10,} 42% \| 42\.0 MiB \| 12\.5 MiB\/s$/)
  })

  it('ends at 100 % with the time taken instead of the time left; an unknown rate has no ETA', () => {
    expect(frameLine({ ...running, done: 100 * MiB, elapsed: 8.2, eta: 0 }, 120)).to.match(/^fetching █+ 100% \| 100\.0 MiB of 100\.0 MiB \| 12\.5 MiB\/s \| in 8s \| 3 peers$/)
    expect(frameLine({ ...running, eta: undefined }, 120)).to.include('| ETA -- |')
    expect(frameLine({ ...running, total: 0, done: 0 }, 120)).to.include(' 100% ')
    expect(['4s', '1m05s', '2h03m']).to.deep.equal([formatDuration(4.2), formatDuration(65), formatDuration(2 * 3600 + 3 * 60 + 20)])
  })
})

describe('Ctrl-C during a fetch on a terminal', function () {
  this.timeout(180_000)
  const size = 40 * MiB
  let dir: { path: string, cleanup: () => Promise<void> }
  let provider: DaemonProcess
  let link: { port: number, close: () => void }
  let file: { path: string, bytes: Buffer }
  let root: string
  let ticket: string
  const daemons: DaemonProcess[] = []

  before(async () => {
    dir = await tempDir('peerlink-progress-')
    provider = await startDaemonProcess(join(dir.path, 'provider'))
    daemons.push(provider)
    file = await randomFile(dir.path, 'big.bin', size)
    const added = await runCli(['--repo', provider.repo, 'add', '--json', file.path], {}, 60_000)
    expect(added.code, added.stderr).to.equal(0)
    root = (JSON.parse(added.stdout) as Array<{ cid: string }>)[0].cid
    // The provider is reached through a link paced at 5 MB/s: about 8 s for the whole file.
    const port = Number(/\/tcp\/(\d+)/.exec(provider.dialable[0])?.[1])
    link = await slowLink(port, 5_000_000)
    ticket = encodeTicket({ root: CID.parse(root), peer: peerIdFromString(provider.info.peerId), addrs: [multiaddr(`/ip4/127.0.0.1/tcp/${link.port}`)] })
  })
  after(async () => {
    link?.close()
    for (const d of daemons) await stopDaemonProcess(d)
    await dir?.cleanup()
  })

  /** Fetches on a terminal and types Ctrl-C once the bar has passed 40 %. */
  async function interruptedFetch (repo: string, out: string): Promise<{ run: CliResult, kept: number }> {
    const t = startCliInTerminal(['--repo', repo, 'fetch', ticket, '-o', out], { timeoutMs: 60_000, columns: 100 })
    let settled = false
    void t.done.finally(() => { settled = true })
    const past40 = (): boolean => terminalFrames(t.output(), 'fetching').some(f => Number(/ (\d+)% /.exec(f)?.[1]) >= 40)
    await waitUntil(() => settled || past40(), 30_000, 'the bar past 40 %', 50)
    t.type('\x03')
    const run = await t.done
    const kept = /kept ([\d.]+) MiB of 40\.0 MiB in the repo; run the same command again to resume/.exec(run.stdout)
    expect(kept, run.stdout).to.not.equal(null)
    return { run, kept: Number(kept?.[1]) * MiB }
  }

  /** Fetches again to the end: what came over the network, and that it all arrived. */
  async function resumedFetch (repo: string, out: string): Promise<number> {
    const r = await runCli(['--repo', repo, 'fetch', '--json', ticket, '-o', out], {}, 60_000)
    expect(r.code, r.stderr).to.equal(0)
    expect((await readFile(out)).equals(file.bytes)).to.equal(true)
    return (JSON.parse(r.stdout) as { fetchedBytes: number }).fetchedBytes
  }

  it('without a daemon: stops the bar, says what the repo kept (and it did), exits 130; a rerun resumes', async () => {
    const repo = join(dir.path, 'local')
    expect((await runCli(['--repo', repo, 'init', '--listen', '/ip4/127.0.0.1/tcp/0', '--api', '127.0.0.1:0'])).code).to.equal(0)
    const out = join(dir.path, 'local.out')
    const { run, kept } = await interruptedFetch(repo, out)
    expect(run.code, run.stdout).to.equal(130)
    expect(run.stdout).to.include('finding providers… 1 found')
    expect(kept).to.be.greaterThan(0).and.lessThan(size)
    expect(existsSync(out)).to.equal(false) // the half-written output went with the interrupt
    const node = await PeerLinkNode.open(repo)
    try {
      // The figure is no more than what the repo holds of the root (shown to 0.1 MiB).
      expect(await storedBytes(node.blockstore, CID.parse(root))).to.be.at.least(kept - 0.05 * MiB)
    } finally {
      await node.stop()
    }
    expect(await resumedFetch(repo, out)).to.be.at.most(size - kept + MiB)
  })

  it('through a daemon: the request is aborted and the daemon stops fetching, its blocks kept; a rerun resumes', async () => {
    const fetcher = await startDaemonProcess(join(dir.path, 'daemon'))
    daemons.push(fetcher)
    const out = join(dir.path, 'daemon.out')
    const { run, kept } = await interruptedFetch(fetcher.repo, out)
    expect(run.code, run.stdout).to.equal(130)
    expect(kept).to.be.greaterThan(0).and.lessThan(size)
    // At 5 MB/s a fetch still running would store megabytes a second (writes under way may end first).
    await new Promise(resolve => setTimeout(resolve, 500))
    const first = await usedBytes(fetcher)
    await new Promise(resolve => setTimeout(resolve, 2000))
    const second = await usedBytes(fetcher)
    expect(second).to.equal(first)
    expect(first).to.be.at.least(kept)
    expect(await resumedFetch(fetcher.repo, out)).to.be.at.most(size - kept + MiB)
  })
})

/** The bytes a daemon's repo holds, from its API. */
async function usedBytes (d: DaemonProcess): Promise<number> {
  const token = (await readFile(join(d.repo, 'api.token'), 'utf8')).trim()
  const res = await fetch(`http://${d.info.address}/api/v1/ls`, { headers: { authorization: `Bearer ${token}` } })
  return ((await res.json()) as { usage: { bytes: number } }).usage.bytes
}
