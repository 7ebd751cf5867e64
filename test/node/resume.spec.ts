import { spawn } from 'node:child_process'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'chai'
import type { CID } from 'multiformats/cid'
import { LevelBlockstore } from '../../src/blockstore/level.js'
import { CLI, runCli } from '../helpers/cli.js'
import { randomFile, startNetwork, type TestNetwork } from '../helpers/network.js'
import { stripesOf } from '../helpers/repo.js'

async function countFiles (dir: string): Promise<number> {
  const shards = await readdir(dir).catch(() => [] as string[])
  let n = 0
  for (const s of shards) n += (await readdir(join(dir, s)).catch(() => [] as string[])).length
  return n
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
    const dataDir = join(repo, 'blocks', 'data')
    // Kill it once a good part (40 of about 200 chunks) is stored, without letting it finish.
    const deadline = Date.now() + 60_000
    while (child.exitCode === null && await countFiles(dataDir) < 40) {
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
    const r = JSON.parse(again.stdout) as { fetchedBlocks: number }
    expect(r.fetchedBlocks).to.equal(needed.length - stored)
    expect((await readFile(out)).equals(f.bytes)).to.equal(true)
  })
})
