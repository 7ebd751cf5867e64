// Paths inside directories and reads of remote roots, run as a user runs them: `cat`, `stat`,
// `fetch` and `ls` of `<cid>/path` through real daemons on loopback, a short-lived node with
// a ticket, and the API routes.
import { execFile } from 'node:child_process'
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'chai'
import { CLI, runCli, startDaemonProcess, stopDaemonProcess, type CliResult, type DaemonProcess } from '../helpers/cli.js'
import { randomFile } from '../helpers/network.js'
import { tempDir } from '../helpers/repo.js'

const KiB = 1024

/** Runs the CLI in `cwd` with stdout as bytes. */
async function cliBytes (args: string[], cwd?: string): Promise<{ code: number | null, stdout: Buffer, stderr: string }> {
  return await new Promise(resolve => {
    execFile(process.execPath, [CLI, ...args], { cwd, timeout: 60_000, encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr: stderr.toString() })
    })
  })
}

/** GET on a daemon's API with its token. */
async function api (d: DaemonProcess, path: string): Promise<Response> {
  const token = (await readFile(join(d.repo, 'api.token'), 'utf8')).trim()
  return await fetch(`http://${d.info.address}/api/v1${path}`, { headers: { authorization: `Bearer ${token}` } })
}

async function blocksIn (d: DaemonProcess): Promise<number> {
  return ((await (await api(d, '/ls')).json()) as { usage: { blocks: number } }).usage.blocks
}

describe('cli paths inside directories, ls and remote reads', function () {
  this.timeout(120_000)
  let dir: { path: string, cleanup: () => Promise<void> }
  let a: DaemonProcess
  let b: DaemonProcess
  let root: string
  let ticket: string
  let big: Buffer
  const cli = async (d: DaemonProcess | string, ...args: string[]): Promise<CliResult> => await runCli(['--repo', typeof d === 'string' ? d : d.repo, ...args], {}, 60_000)
  before(async () => {
    dir = await tempDir('peerlink-paths-')
    a = await startDaemonProcess(join(dir.path, 'a'))
    b = await startDaemonProcess(join(dir.path, 'b'), { bootstrap: a.dialable })
    // album/ { my notes.txt, raw/ { big.bin: 32 chunks of 64 KiB, 8 stripes of k = 4 } }
    const album = join(dir.path, 'album')
    await mkdir(join(album, 'raw'), { recursive: true })
    await writeFile(join(album, 'my notes.txt'), 'first notes')
    big = (await randomFile(join(album, 'raw'), 'big.bin', 2 * 1024 * KiB)).bytes
    const added = await cli(a, 'add', '-r', '--json', '--chunk-size', '64KiB', '-k', '4', '-m', '2', album)
    expect(added.code, added.stderr).to.equal(0);
    [{ cid: root, ticket }] = JSON.parse(added.stdout) as Array<{ cid: string, ticket: string }>
  })
  after(async () => {
    for (const d of [a, b]) if (d !== undefined) await stopDaemonProcess(d)
    await dir?.cleanup()
  })

  it('cats, stats, lists and fetches paths inside a directory; a missing name or a path through a file is exit 7', async () => {
    const cat = await cliBytes(['--repo', a.repo, 'cat', `${root}/raw/big.bin`])
    expect(cat.code, cat.stderr).to.equal(0)
    expect(cat.stdout.equals(big)).to.equal(true)
    expect((await cli(a, 'cat', `${root}/my notes.txt`)).stdout).to.equal('first notes')
    const st = JSON.parse((await cli(a, 'stat', `${root}/raw/big.bin`, '--json')).stdout)
    expect(st).to.include({ type: 'file', name: 'big.bin', size: big.length, k: 4, m: 2, stripes: 8, pinned: false })

    const missing = await cli(a, 'cat', `${root}/raw/nope.bin`)
    expect(missing.code).to.equal(7)
    expect(missing.stderr).to.include(`${root}/raw/nope.bin: no "nope.bin" in the directory "raw" (bafy`)
    const through = await cli(a, 'stat', `${root}/my notes.txt/deeper`)
    expect(through.code).to.equal(7)
    expect(through.stderr).to.match(/: "my notes\.txt" \(bafy\w+\) is a file, not a directory/)
    const dotdot = await cli(a, 'stat', `${root}/raw/../raw`)
    expect(dotdot.code).to.equal(2)
    expect(dotdot.stderr).to.include('".." is not allowed')

    const ls = (await cli(a, 'ls', root)).stdout.trim().split('\n')
    expect(ls).to.have.length(2)
    expect(ls[0]).to.match(/^bafy\w+ {2}file {8}11 B {2}my notes\.txt$/)
    expect(ls[1]).to.match(/^bafy\w+ {2}dir {6}2\.0 MiB {2}raw$/)
    const raw = JSON.parse((await cli(a, 'ls', `${root}/raw`, '--json')).stdout)
    expect(raw).to.deep.equal([{ name: 'big.bin', cid: st.cid, size: big.length, type: 'file' }])
    expect((await cli(a, 'ls', st.cid, '--json')).stdout).to.equal((await cli(a, 'ls', `${root}/raw/`, '--json')).stdout)
    // With no argument, ls still lists the pins.
    expect(JSON.parse((await cli(a, 'ls', '--json')).stdout).map((p: { cid: string }) => p.cid)).to.deep.equal([root])

    // fetch of a path writes ./<last name>, as fetch of a root writes ./<its name>.
    const inbox = join(dir.path, 'inbox')
    await mkdir(inbox)
    const got = await cliBytes(['--repo', a.repo, 'fetch', `${root}/raw`], inbox)
    expect(got.code, got.stderr).to.equal(0)
    expect(await readdir(inbox)).to.deep.equal(['raw'])
    expect((await readFile(join(inbox, 'raw', 'big.bin'))).equals(big)).to.equal(true)
    const file = await cliBytes(['--repo', a.repo, 'fetch', `${root}/my notes.txt`], inbox)
    expect(file.code, file.stderr).to.equal(0)
    expect(await readFile(join(inbox, 'my notes.txt'), 'utf8')).to.equal('first notes')
  })

  it('cats a range of a remote file through the daemon, fetching only the stripe it touches, unpinned', async () => {
    const before = await blocksIn(b)
    // Chunks 13 and 14: both in stripe 3 (chunks 12-15).
    const offset = 13 * 64 * KiB + 5
    const r = await cliBytes(['--repo', b.repo, 'cat', `${root}/raw/big.bin`, '--offset', String(offset), '--length', '64KiB'])
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stdout.equals(big.subarray(offset, offset + 64 * KiB))).to.equal(true)
    // album and raw (directories), big.bin's manifest, stripe node 3, chunks 13 and 14.
    expect(await blocksIn(b) - before).to.equal(6)
    const st = JSON.parse((await cli(b, 'stat', `${root}/raw/big.bin`, '--json')).stdout)
    expect(st).to.include({ name: 'big.bin', size: big.length, pinned: false })
    expect(await blocksIn(b) - before).to.equal(6)
    // The whole file, streamed from the provider; still nothing pinned.
    const whole = await cliBytes(['--repo', b.repo, 'cat', `${root}/raw/big.bin`])
    expect(whole.code, whole.stderr).to.equal(0)
    expect(whole.stdout.equals(big)).to.equal(true)
    expect(JSON.parse((await cli(b, 'ls', '--json')).stdout)).to.deep.equal([])
    const remoteLs = JSON.parse((await cli(b, 'ls', `${root}/raw`, '--json')).stdout)
    expect(remoteLs.map((e: { name: string }) => e.name)).to.deep.equal(['big.bin'])
    // fetch of a path the daemon lacks: ./<last name> written, and what it leads to pinned.
    const inbox = join(dir.path, 'inbox-b')
    await mkdir(inbox)
    const got = await cliBytes(['--repo', b.repo, 'fetch', `${root}/my notes.txt`, '--json'], inbox)
    expect(got.code, got.stderr).to.equal(0)
    expect(JSON.parse(got.stdout.toString())).to.include({ name: 'my notes.txt', output: join(inbox, 'my notes.txt') })
    expect(await readFile(join(inbox, 'my notes.txt'), 'utf8')).to.equal('first notes')
    expect(JSON.parse((await cli(b, 'ls', '--json')).stdout).map((p: { name: string }) => p.name)).to.deep.equal(['my notes.txt'])
  })

  it('reads a path inside a ticket with a short-lived node when no daemon runs', async () => {
    const c = join(dir.path, 'c')
    expect((await runCli(['--repo', c, 'init', '--listen', '/ip4/127.0.0.1/tcp/0', '--api', '127.0.0.1:0'])).code).to.equal(0)
    const offset = 20 * 64 * KiB
    const r = await cliBytes(['--repo', c, 'cat', `${ticket}/raw/big.bin`, '--offset', String(offset), '--length', '100'])
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stdout.equals(big.subarray(offset, offset + 100))).to.equal(true)
    const st = await cli(c, 'stat', `${ticket}/raw`, '--json')
    expect(st.code, st.stderr).to.equal(0)
    expect(JSON.parse(st.stdout)).to.include({ type: 'directory', name: 'raw', entries: 1, pinned: false })
    expect((await cli(c, 'ls', `${ticket}/raw`)).stdout).to.match(/^bafy\w+ {2}file {5}2\.0 MiB {2}big\.bin\n$/)
    expect(JSON.parse((await cli(c, 'ls', '--json')).stdout)).to.deep.equal([])
  })

  it('serves cat, stat and ls of paths on the API, names percent-encoded', async () => {
    const cat = await api(b, `/cat/${root}/my%20notes.txt`)
    expect(cat.status).to.equal(200)
    expect(await cat.text()).to.equal('first notes')
    const range = await api(b, `/cat/${root}/raw/big.bin?offset=100&length=10`)
    expect(Buffer.from(await range.arrayBuffer()).equals(big.subarray(100, 110))).to.equal(true)
    const st = await api(b, `/stat/${root}/raw`)
    expect(await st.json()).to.include({ type: 'directory', name: 'raw', entries: 1 })
    const ls = await api(b, `/ls/${root}/raw`)
    expect(((await ls.json()) as Array<{ name: string }>).map(e => e.name)).to.deep.equal(['big.bin'])
    const missing = await api(b, `/stat/${root}/nope`)
    expect(missing.status).to.equal(404)
    expect(await missing.json()).to.include({ error: 'PathNotFoundError', code: 'ERR_PATH_NOT_FOUND', exitCode: 7 })
    // ?local=true reads the repo alone: a root it lacks is not asked of the network.
    const unknown = 'bafyr4icerajnqba2jc6ck7okyolknpmnw2pkxlaos5r7wnmnjrcud6ncve'
    const local = await api(b, `/stat/${unknown}?local=true`)
    expect(local.status).to.equal(404)
    expect(await local.json()).to.include({ error: 'BlockNotFoundError' })
  })
})
