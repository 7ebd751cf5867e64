import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { expect } from 'chai'
import { CID } from 'multiformats/cid'
import { decodeFrames, encodeFrames } from '../../src/api/frames.js'
import type { ErrorBody } from '../../src/api/shapes.js'
import { LevelBlockstore } from '../../src/blockstore/index.js'
import { ApiError, DataLossError } from '../../src/errors.js'
import { daemonScratch, runCli, startDaemonProcess } from '../helpers/cli.js'
import { randomFile } from '../helpers/network.js'
import { collect, damageBlock, stripesOf } from '../helpers/repo.js'

const body = (err: Error): ErrorBody => ({ error: err.name, code: 'ERR_X', message: err.message, exitCode: 6 })
const toError = (b: ErrorBody): Error => new ApiError(b.message, b.error, b.exitCode)

async function * pieces (list: Uint8Array[], failure?: Error): AsyncGenerator<Uint8Array> {
  yield * list
  if (failure !== undefined) throw failure
}

/** The bytes re-cut into chunks of `size`, as a network delivers them. */
async function * recut (source: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Uint8Array> {
  const all = await collect(source)
  for (let i = 0; i < all.byteLength; i += size) yield all.subarray(i, i + size)
}

describe('framed bodies', () => {
  it('carry the data through any cut into chunks, and end cleanly', async () => {
    const data = [new Uint8Array([1, 2, 3]), new Uint8Array(0), new Uint8Array(70_000).fill(7)]
    for (const size of [3, 4, 5, 4096, 1 << 20]) {
      const out = await collect(decodeFrames(recut(encodeFrames(pieces(data), body), size), toError))
      expect(out.equals(Buffer.concat(data))).to.equal(true)
    }
  })

  it('deliver a failure after the data began as the error it was', async () => {
    const got: Uint8Array[] = []
    const frames = recut(encodeFrames(pieces([new Uint8Array([9, 9])], new DataLossError('stripe 1 cannot be rebuilt', [])), body), 3)
    const err = await (async () => { for await (const p of decodeFrames(frames, toError)) got.push(p) })().catch(e => e as ApiError)
    expect(Buffer.concat(got)).to.deep.equal(Buffer.from([9, 9]))
    expect(err).to.be.instanceOf(ApiError)
    expect(err?.message).to.equal('stripe 1 cannot be rebuilt')
    expect(err?.exitCode).to.equal(6)
  })

  it('say that a body cut off before its end frame broke off', async () => {
    const all = await collect(encodeFrames(pieces([new Uint8Array(10)]), body))
    const err = await collect(decodeFrames(pieces([all.subarray(0, all.byteLength - 1)]), toError)).catch(e => e as Error)
    expect(err).to.be.instanceOf(ApiError)
    expect((err as Error).message).to.include('broke off')
  })
})

describe('cat through the daemon of a stripe beyond repair', function () {
  this.timeout(90_000)
  const scratch = daemonScratch('peerlink-cat-failure-')

  it('exits 6 naming the lost blocks, the daemon logs it, and a plain HTTP client sees the transfer cut', async () => {
    const repo = join(scratch.path, 'repo')
    expect((await runCli(['--repo', repo, 'init', '--listen', '/ip4/127.0.0.1/tcp/0', '--api', '127.0.0.1:0'])).code).to.equal(0)
    const f = await randomFile(scratch.path, 'damaged.bin', 4 * 1024 * 1024)
    const added = await runCli(['--repo', repo, 'add', '--json', '--chunk-size', '256KiB', '-k', '4', '-m', '2', f.path], {}, 60_000)
    expect(added.code, added.stderr).to.equal(0)
    const cid = (JSON.parse(added.stdout) as Array<{ cid: string }>)[0].cid
    // More than m (2) blocks of the second stripe go: the first still streams out whole.
    const store = new LevelBlockstore(join(repo, 'blocks'))
    await store.open()
    const stripe = (await stripesOf(store, CID.parse(cid)))[1].node
    for (const c of [stripe.data[0], stripe.data[1], stripe.parity[0]]) await damageBlock(store, c, 'remove')
    await store.close()
    const lost = [stripe.data[0], stripe.data[1], stripe.parity[0]].map(c => c.toString())
    scratch.daemon = await startDaemonProcess(repo)

    const r = await runCli(['--repo', repo, 'cat', cid], {}, 60_000)
    expect(r.code, r.stderr).to.equal(6)
    expect(r.stderr).to.include('stripe 1 of damaged.bin cannot be rebuilt')
    for (const c of lost) expect(r.stderr).to.include(c)
    expect(r.stderr).to.not.include('broke off')
    expect(r.stdout.length).to.be.greaterThan(0)

    const deadline = Date.now() + 5000
    while (!scratch.daemon.log().includes('cannot be rebuilt') && Date.now() < deadline) await sleep(50)
    expect(scratch.daemon.log()).to.include('cannot be rebuilt')

    // Any other client gets the bare bytes, and the failure as a transfer cut short.
    const token = (await readFile(join(repo, 'api.token'), 'utf8')).trim()
    const res = await fetch(`http://${scratch.daemon.info.address}/api/v1/cat/${cid}`, { headers: { authorization: `Bearer ${token}` } })
    expect(res.status).to.equal(200)
    expect(res.headers.get('content-type')).to.equal('application/octet-stream')
    const cut = await res.arrayBuffer().then(() => undefined, (e: Error) => e)
    expect(cut, 'the body ended cleanly over truncated data').to.be.instanceOf(Error)
  })
})
