import { spawn } from 'node:child_process'
import { open, readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'chai'
import { CID } from 'multiformats/cid'
import { BlockNotFoundError, DataLossError, HashMismatchError, NoProvidersError, PeerUnavailableError } from '../../src/errors.js'
import type { ProviderStats } from '../../src/exchange/session.js'
import { fetchFailure, type Discovery } from '../../src/node/fetch-failure.js'
import { CLI, runCli, startDaemonProcess, stopDaemonProcess, type DaemonProcess } from '../helpers/cli.js'
import { randomFile } from '../helpers/network.js'
import { tempDir } from '../helpers/repo.js'

/** The chunk size the files here are added with (add's --chunk-size 256KiB). */
const CHUNK = 256 * 1024

/**
 * Chunks (data and parity) stored under a repo's blockstore, as places on disk: each loose
 * block file, and each CHUNK of a pack as far as it is written (packs fill sparsely).
 */
async function storedChunks (repo: string): Promise<Array<{ path: string, offset: number }>> {
  const out: Array<{ path: string, offset: number }> = []
  const data = join(repo, 'blocks', 'data')
  for (const shard of await readdir(data).catch(() => [] as string[])) {
    for (const name of await readdir(join(data, shard)).catch(() => [] as string[])) {
      if (name.startsWith('bafkr')) out.push({ path: join(data, shard, name), offset: 0 })
    }
  }
  const packs = join(repo, 'blocks', 'packs')
  for (const name of await readdir(packs).catch(() => [] as string[])) {
    const st = await stat(join(packs, name))
    for (let offset = 0; offset < Math.min(st.size, st.blocks * 512); offset += CHUNK) out.push({ path: join(packs, name), offset })
  }
  return out
}

async function addThroughDaemon (d: DaemonProcess, path: string): Promise<{ cid: string, ticket: string }> {
  const r = await runCli(['--repo', d.repo, 'add', '--json', '--chunk-size', '256KiB', path], {}, 60_000)
  expect(r.code, r.stderr).to.equal(0)
  return (JSON.parse(r.stdout) as Array<{ cid: string, ticket: string }>)[0]
}

describe('the error a fetch that ended short reports', () => {
  const root = CID.parse('bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy')
  const block = 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'
  const ticket = { root, addrs: [] }
  const found = (n: number): Discovery => ({ done: Promise.resolve(), seen: new Set(Array.from({ length: n }, (_, i) => `peer${i}`)) })
  const stayed: ProviderStats = { peer: 'peer0', blocks: 3, bytes: 9, duplicateBytes: 0, rate: 0, dropped: false }
  const lost = new DataLossError('stripe 0 cannot be rebuilt', [block])

  it('is data loss only when every provider reached stayed', () => {
    expect(fetchFailure(lost, ticket, found(1), [stayed])).to.equal(lost)
  })

  it('names a provider that went away, says nothing here is lost and that a rerun resumes', () => {
    const err = fetchFailure(lost, ticket, found(1), [{ ...stayed, dropped: true, failure: 'went-away', reason: 'stream reset' }]) as Error
    expect(err).to.be.instanceOf(PeerUnavailableError)
    expect(err.message).to.include('peer0 (stream reset)').and.include('nothing stored here is lost').and.include('run the command again to resume')
  })

  it('names a provider that lied, ahead of one that went away', () => {
    const providers: ProviderStats[] = [
      { ...stayed, peer: 'gone', dropped: true, failure: 'went-away' },
      { ...stayed, peer: 'liar', dropped: true, failure: 'lied', lie: { cid: block, actual: 'bafkother' } }
    ]
    const err = fetchFailure(lost, ticket, found(2), providers) as HashMismatchError
    expect(err).to.be.instanceOf(HashMismatchError)
    expect(err.peer).to.equal('liar')
    expect(err.message).to.include(`provider liar sent a block that does not match its CID ${block} (its bytes hash to bafkother)`)
  })

  it('is NoProvidersError for a block no provider holds, and for the root as before', () => {
    const err = fetchFailure(new BlockNotFoundError(block), ticket, found(2), [stayed]) as Error
    expect(err).to.be.instanceOf(NoProvidersError)
    expect(err.message).to.include(block).and.include('none of the 2 providers')
    expect(fetchFailure(new BlockNotFoundError(root.toString()), ticket, found(0), [])).to.be.instanceOf(NoProvidersError)
    // Without the root nothing was served: a provider that left is one of the reasons listed.
    const silent = fetchFailure(new BlockNotFoundError(root.toString()), ticket, found(1), [{ ...stayed, blocks: 0, dropped: true, failure: 'went-away', reason: 'answered nothing for 5 s' }]) as Error
    expect(silent).to.be.instanceOf(NoProvidersError)
    expect(silent.message).to.include('peer0: answered nothing for 5 s')
  })

  it('leaves any other failure as it was', () => {
    const other = new Error('disk on fire')
    expect(fetchFailure(other, ticket, found(1), [{ ...stayed, dropped: true, failure: 'went-away' }])).to.equal(other)
  })
})

describe('a fetch whose only provider fails says so, not data loss', function () {
  this.timeout(120_000)
  let dir: { path: string, cleanup: () => Promise<void> }
  const daemons: DaemonProcess[] = []
  before(async () => { dir = await tempDir('peerlink-fetch-failure-') })
  after(async () => {
    for (const d of daemons) await stopDaemonProcess(d)
    await dir.cleanup()
  })

  it('exits 17 naming the provider killed mid-fetch, and keeps what came', async () => {
    const provider = await startDaemonProcess(join(dir.path, 'gone'))
    daemons.push(provider)
    const f = await randomFile(dir.path, 'gone.bin', 48 * 1024 * 1024)
    const { ticket } = await addThroughDaemon(provider, f.path)
    const repo = join(dir.path, 'fetcher')
    expect((await runCli(['--repo', repo, 'init', '--listen', '/ip4/127.0.0.1/tcp/0'])).code).to.equal(0)
    const child = spawn(process.execPath, [CLI, '--repo', repo, 'fetch', ticket], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    const exited = new Promise<number | null>(resolve => child.once('exit', resolve))
    const deadline = Date.now() + 60_000
    while (child.exitCode === null && (await storedChunks(repo)).length < 20 && Date.now() < deadline) {
      await new Promise(resolve => setTimeout(resolve, 5))
    }
    expect(child.exitCode, 'the fetch finished before its provider could be killed').to.equal(null)
    provider.child.kill('SIGKILL')
    daemons.pop()
    const code = await exited
    expect(code, stderr).to.equal(17)
    expect(stderr).to.include(provider.info.peerId)
    expect(stderr).to.include('went away')
    expect(stderr).to.include('nothing stored here is lost')
    expect(stderr).to.include('run the command again to resume')
    expect(stderr).to.not.include('blocks are intact')
    expect((await storedChunks(repo)).length).to.be.greaterThan(0)
  })

  it('exits 4 naming the provider that served corrupt blocks', async () => {
    const liar = await startDaemonProcess(join(dir.path, 'liar'))
    daemons.push(liar)
    const f = await randomFile(dir.path, 'lie.bin', 4 * 1024 * 1024)
    const { ticket } = await addThroughDaemon(liar, f.path)
    // Every chunk on the liar's disk (data and parity) gets a flipped byte.
    for (const { path, offset } of await storedChunks(liar.repo)) {
      const fh = await open(path, 'r+')
      const byte = Buffer.alloc(1)
      await fh.read(byte, 0, 1, offset)
      byte[0] ^= 0xff
      await fh.write(byte, 0, 1, offset)
      await fh.close()
    }
    const repo = join(dir.path, 'lied-to')
    expect((await runCli(['--repo', repo, 'init', '--listen', '/ip4/127.0.0.1/tcp/0'])).code).to.equal(0)
    const r = await runCli(['--repo', repo, 'fetch', ticket], {}, 60_000)
    expect(r.code, r.stderr).to.equal(4)
    expect(r.stderr).to.include(`provider ${liar.info.peerId} sent a block that does not match its CID`)
    expect(r.stderr).to.include('run the command again to resume')
  })
})
