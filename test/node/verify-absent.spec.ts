// `verify` of a root the repo does not hold says it is not here (exit 7), offline and through
// a daemon; a pinned root whose root block is gone is still data loss (exit 6).
import { join } from 'node:path'
import { expect } from 'chai'
import { CID } from 'multiformats/cid'
import { cidOf } from '../../src/hash/index.js'
import { LevelBlockstore } from '../../src/blockstore/index.js'
import { runCli, startDaemonProcess, stopDaemonProcess } from '../helpers/cli.js'
import { randomFile } from '../helpers/network.js'
import { tempDir } from '../helpers/repo.js'

describe('verify of a root the repo does not hold', function () {
  this.timeout(60_000)
  let dir: { path: string, cleanup: () => Promise<void> }
  let absent: string
  before(async () => {
    dir = await tempDir()
    const f = await randomFile(dir.path, 'elsewhere.bin', 100_000)
    // A valid file root nobody here ever added: the manifest CID another repo would print.
    const other = join(dir.path, 'other')
    expect((await runCli(['--repo', other, 'init'])).code).to.equal(0)
    absent = (await runCli(['--repo', other, 'add', '-q', f.path])).stdout.trim()
  })
  after(async () => { await dir.cleanup() })

  it('exits 7 offline, saying the root is not here', async () => {
    const repo = join(dir.path, 'offline')
    await runCli(['--repo', repo, 'init'])
    const r = await runCli(['--repo', repo, 'verify', absent])
    expect(r.code, r.stderr).to.equal(7)
    expect(r.stderr).to.include(absent).and.to.match(/not pinned in this repo/)
    // A raw CID no repo holds is not here either.
    const rawCid = cidOf(new TextEncoder().encode('never added')).toString()
    expect((await runCli(['--repo', repo, 'verify', rawCid])).code).to.equal(7)
  })

  it('exits 7 through a daemon', async () => {
    const d = await startDaemonProcess(join(dir.path, 'daemon'))
    try {
      const r = await runCli(['--repo', d.repo, 'verify', absent])
      expect(r.code, r.stderr).to.equal(7)
      expect(r.stderr).to.match(/not pinned in this repo/)
    } finally {
      await stopDaemonProcess(d)
    }
  })

  it('still reports data loss (6) for a pinned root whose root block is gone', async () => {
    const repo = join(dir.path, 'damaged')
    await runCli(['--repo', repo, 'init'])
    const f = await randomFile(dir.path, 'kept.bin', 100_000)
    const cid = (await runCli(['--repo', repo, 'add', '-q', f.path])).stdout.trim()
    const store = new LevelBlockstore(join(repo, 'blocks'))
    await store.open()
    try {
      await store.delete(CID.parse(cid))
    } finally {
      await store.close()
    }
    const r = await runCli(['--repo', repo, 'verify', cid])
    expect(r.code, r.stderr + r.stdout).to.equal(6)
  })
})
