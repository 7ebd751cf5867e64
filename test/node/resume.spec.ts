import { spawn } from 'node:child_process'
import { mkdir, readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'chai'
import type { CID } from 'multiformats/cid'
import { LevelBlockstore } from '../../src/blockstore/level.js'
import { CLI, runCli } from '../helpers/cli.js'
import { randomFile, startNetwork, type TestNetwork } from '../helpers/network.js'
import { stripesOf } from '../helpers/repo.js'
import { parseTarget } from '../../src/node/ticket.js'
import type { GcResult } from '../../src/blockstore/level.js'

/** Bytes on disk of the pack a fetch of `root` fills (sparse until whole); 0 before it exists. */
async function packBytes (repo: string, root: CID): Promise<number> {
  const st = await stat(join(repo, 'blocks', 'packs', root.toString())).catch(() => undefined)
  return st === undefined ? 0 : st.blocks * 512
}

describe('a fetch killed mid-way resumes', function () {
  this.timeout(120_000)
  let net: TestNetwork
  before(async () => { net = await startNetwork(1) })
  after(async () => { await net?.stop() })

  it('fetches after kill -9 only what was not stored, and writes identical bytes', async () => {
    const [provider] = net.nodes
    const f = await randomFile(net.dir, 'resume.bin', 48 * 1024 * 1024)
    const root: CID = (await provider.add(f.path, { chunkSize: 256 * 1024 })).cid
    const ticket = provider.network.ticket(root)
    // Everything a fetcher must bring over the network: the DAG nodes and the data chunks.
    const needed: CID[] = [root, ...(await stripesOf(provider.blockstore, root)).flatMap(s => [s.cid, ...s.node.data])]

    const repo = join(net.dir, 'fetcher')
    expect((await runCli(['--repo', repo, 'init', '--listen', '/ip4/127.0.0.1/tcp/0'])).code).to.equal(0)
    const out = join(net.dir, 'resume.out')
    const child = spawn(process.execPath, [CLI, '--repo', repo, 'fetch', ticket, '-o', out], { stdio: 'ignore' })
    // Kill it once a good part (40 of about 200 chunks) is stored, without letting it finish.
    const deadline = Date.now() + 60_000
    while (child.exitCode === null && await packBytes(repo, root) < 40 * 256 * 1024) {
      if (Date.now() > deadline) break
      await new Promise(resolve => setTimeout(resolve, 5))
    }
    expect(child.exitCode, 'the first fetch finished before it could be killed').to.equal(null)
    child.kill('SIGKILL')
    await new Promise(resolve => child.once('exit', resolve))

    const store = new LevelBlockstore(join(repo, 'blocks'))
    await store.open()
    const stored = (await store.hasMany(needed)).filter(Boolean).length
    await store.close()
    expect(stored).to.be.greaterThan(0)
    expect(stored).to.be.lessThan(needed.length)

    const again = await runCli(['--repo', repo, 'fetch', '--json', ticket, '-o', out], {}, 60_000)
    expect(again.code, again.stderr).to.equal(0)
    const r = JSON.parse(again.stdout) as { fetchedBlocks: number, provided: boolean }
    expect(r.fetchedBlocks).to.equal(needed.length - stored)
    // A node started for one command does not announce itself: it is gone a moment later.
    expect(r.provided).to.equal(false)
    expect((await readFile(out)).equals(f.bytes)).to.equal(true)
  })
  it('keeps what an interrupted fetch stored through a gc that runs while it resumes', async () => {
    const [provider] = net.nodes
    const f = await randomFile(net.dir, 'gc-resume.bin', 24 * 1024 * 1024)
    const root: CID = (await provider.add(f.path, { chunkSize: 256 * 1024 })).cid
    const ticket = parseTarget(provider.network.ticket(root))
    const fetcher = await net.add()
    const out = join(net.dir, 'gc-resume.out')
    // The first fetch stops once 30 blocks are stored, as a killed one would.
    const stop = new AbortController()
    let blocks = 0
    const first = await fetcher.fetch(ticket, {
      output: out,
      signal: stop.signal,
      onProgress: (e) => { if (e.type === 'exchange:session:block' && ++blocks === 30) stop.abort(new Error('stopped')) }
    }).then(() => 'finished', (e: Error) => e.message)
    expect(first).to.not.equal('finished')
    // The second runs a gc as soon as it has read the root: the first fetch's blocks are
    // pinned by nobody yet, and must not go.
    let gc: Promise<GcResult> | undefined
    const r = await fetcher.fetch(ticket, {
      output: out,
      onProgress: (e) => { if (e.type === 'fetch:start') gc = fetcher.gc() }
    })
    expect(gc).to.not.equal(undefined)
    await gc
    const needed = 1 + (await stripesOf(provider.blockstore, root)).reduce((n, s) => n + 1 + s.node.data.length, 0)
    expect(r.fetchedBlocks).to.be.lessThan(needed) // what the first fetch stored was used, not fetched again
    expect((await readFile(out)).equals(f.bytes)).to.equal(true)
    const report = await fetcher.verify(root, { repair: false })
    expect(report.ok, JSON.stringify(report.unrecoverable.concat(report.damaged))).to.equal(true)
  })
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    it(`stops an offline fetch on ${signal} with exit status ${code}, leaving no temporary file`, async () => {
      const [provider] = net.nodes
      const f = await randomFile(net.dir, `${signal}.bin`, 48 * 1024 * 1024)
      const root: CID = (await provider.add(f.path, { chunkSize: 256 * 1024 })).cid
      const repo = join(net.dir, `fetcher-${signal}`)
      expect((await runCli(['--repo', repo, 'init', '--listen', '/ip4/127.0.0.1/tcp/0'])).code).to.equal(0)
      const outDir = join(net.dir, `out-${signal}`)
      await mkdir(outDir)
      const child = spawn(process.execPath, [CLI, '--repo', repo, 'fetch', provider.network.ticket(root), '-o', join(outDir, 'x.bin')], { stdio: 'ignore' })
      const exited = new Promise<number | null>(resolve => child.once('exit', resolve))
      // Stopped once 4 MiB of the file are stored (in the pack the output will be made from).
      const deadline = Date.now() + 60_000
      while (child.exitCode === null && Date.now() < deadline && await packBytes(repo, root) < 4 * 1024 * 1024) {
        await new Promise(resolve => setTimeout(resolve, 5))
      }
      expect(child.exitCode, 'the fetch finished before it could be stopped').to.equal(null)
      child.kill(signal)
      expect(await exited).to.equal(code)
      expect(await readdir(outDir)).to.deep.equal([])
    })
  }
})
