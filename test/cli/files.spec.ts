// The offline CLI, run as a user runs it, against real repos.
import { spawn, execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, readdirSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'chai'
import { cidOf } from '../../src/hash/index.js'
import { CLI, runCli } from '../helpers/cli.js'
import { smallDisk, tempDir } from '../helpers/repo.js'

describe('cli files (offline)', function () {
  this.timeout(60_000)
  let dir: { path: string, cleanup: () => Promise<void> }
  let repo: string
  const cli = async (...args: string[]): ReturnType<typeof runCli> => await runCli(['--repo', repo, ...args])
  beforeEach(async () => {
    dir = await tempDir()
    repo = join(dir.path, 'repo')
    expect((await cli('init')).stdout).to.match(/initialized a PeerLink repo/)
  })
  afterEach(async () => { await dir.cleanup() })

  it('adds, reads back, describes, lists, fetches, unpins and collects', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 99)
    const file = join(dir.path, 'photo.jpg')
    await writeFile(file, data)
    const added = await cli('add', file, '--json')
    expect(added.code, added.stderr).to.equal(0)
    const [{ cid, name, size }] = JSON.parse(added.stdout)
    expect({ name, size }).to.deep.equal({ name: 'photo.jpg', size: data.length })
    const cat = spawn(process.execPath, [CLI, '--repo', repo, 'cat', cid])
    const parts: Buffer[] = []
    cat.stdout.on('data', (d: Buffer) => parts.push(d))
    await new Promise(resolve => cat.once('close', resolve))
    expect(Buffer.concat(parts).equals(data)).to.equal(true)
    const range = await cli('cat', cid, '--offset', '1048570', '--length', '12')
    expect(Buffer.from(range.stdout, 'latin1').length).to.be.greaterThan(0)
    const st = JSON.parse((await cli('stat', cid, '--json')).stdout)
    expect(st).to.include({ type: 'file', mediaType: 'image/jpeg', size: data.length, pinned: true, k: 10, m: 4, stripes: 1 })
    expect(JSON.parse((await cli('ls', '--json')).stdout).map((p: { cid: string }) => p.cid)).to.deep.equal([cid])
    const out = join(dir.path, 'copy.jpg')
    expect((await cli('fetch', cid, '-o', out)).code).to.equal(0)
    expect((await readFile(out)).equals(data)).to.equal(true)
    const again = await cli('fetch', cid, '-o', out)
    expect(again.code).to.equal(12)
    expect(again.stderr).to.match(/already exists \(use --force/)
    expect((await cli('fetch', cid, '-o', out, '--force')).code).to.equal(0)
    expect((await cli('verify', cid)).stdout).to.match(/0 damaged/)
    expect((await cli('rm', cid)).stdout).to.match(/unpinned/)
    expect((await cli('rm', cid)).code).to.equal(7)
    const gc = JSON.parse((await cli('gc', '--json')).stdout)
    // Under one stripe (10 MiB), the file is cut into 10 chunks of 307.25 KiB with 4 parity blocks.
    expect(gc.removedBlocks).to.equal(10 + 4 + 1 + 1) // 10 data, 4 parity, stripe node, manifest
    expect(gc.kept).to.equal(0)
  })

  it('adds directories with -r only, and recreates them on fetch', async () => {
    const tree = join(dir.path, 'album')
    await mkdir(join(tree, 'raw'), { recursive: true })
    await writeFile(join(tree, 'a.txt'), 'first')
    await writeFile(join(tree, 'raw', 'b.bin'), randomBytes(70_000))
    const noR = await cli('add', tree)
    expect(noR.code).to.equal(2)
    expect(noR.stderr).to.match(/is a directory: use -r/)
    const r = await cli('add', '-r', '-q', tree)
    expect(r.code, r.stderr).to.equal(0)
    const out = join(dir.path, 'restored')
    expect((await cli('fetch', r.stdout.trim(), '-o', out)).code).to.equal(0)
    expect(await readFile(join(out, 'a.txt'), 'utf8')).to.equal('first')
    expect((await readFile(join(out, 'raw', 'b.bin'))).equals(await readFile(join(tree, 'raw', 'b.bin')))).to.equal(true)
  })

  it('says what add stored and the overhead, for a large file and for a directory of small files', async () => {
    const big = join(dir.path, 'ten.bin')
    await writeFile(big, randomBytes(10 * 1024 * 1024))
    const one = await cli('add', big)
    expect(one.code, one.stderr).to.equal(0)
    expect(one.stdout.split('\n')).to.include('stored 14.0 MiB for 10.0 MiB: 1.40×') // one stripe: 10 chunks, 4 parity
    const tree = join(dir.path, 'notes')
    await mkdir(tree)
    for (let i = 0; i < 50; i++) await writeFile(join(tree, `n${i}.txt`), randomBytes(4096))
    const text = await cli('add', '-r', tree)
    expect(text.code, text.stderr).to.equal(0)
    const line = text.stdout.split('\n').find(l => l.startsWith('stored '))
    expect(line, text.stdout).to.match(/^stored 3\d\d\.\d KiB for 200\.0 KiB: 1\.(6|7)\d×$/)
    // --json: the same count, in bytes, beside the size.
    const [json] = JSON.parse((await cli('add', '-r', '--json', tree)).stdout) as Array<{ size: number, stored: number }>
    expect(json.size).to.equal(50 * 4096)
    expect(line).to.include(`: ${(json.stored / json.size).toFixed(2)}×`)
  })

  it('answers bad input with a clear message and exit code, and pins nothing', async () => {
    const f = join(dir.path, 'x.txt')
    await writeFile(f, 'xyz')
    const cases: Array<[string[], number, RegExp]> = [
      [['add', join(dir.path, 'missing.bin')], 2, /no such file or directory/],
      [['add', f, join(dir.path, 'missing.bin')], 2, /missing\.bin: no such file or directory; nothing was added/],
      [['add', '/proc/self/mem'], 2, /cannot read/],
      [['add', '--chunk-size', '1KiB', f], 2, /chunk size must be/],
      [['add', '--chunk-size', 'lots', f], 2, /not a size/],
      [['add', '-k', '0', f], 2, /k \(data chunks per stripe\) must be 1 to 128/],
      [['add', '-k', '200', '-m', '60', f], 2, /must be 1 to 128/],
      [['add', '-m', '65', f], 2, /m \(parity blocks per stripe\) must be 0 to 64/],
      [['cat', 'not-a-cid'], 2, /is not a valid CID/],
      [['stat', 'bafyr4icerajnqba2jc6ck7okyolknpmnw2pkxlaos5r7wnmnjrcud6ncve'], 7, /is not in the blockstore/],
      [['add', '--no-such-option', f], 2, /unknown option '--no-such-option'/],
      [['stat'], 2, /missing required argument 'cid\[\/path\]\|ticket'/],
      [['no-such-command'], 2, /unknown command 'no-such-command'/],
      [['init', '--api', '127.0.0.1:1'], 2, /already exists at .*, and init does not change it: edit .*config\.json/]
    ]
    for (const [args, code, message] of cases) {
      const r = await cli(...args)
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).to.equal(code)
      expect(r.stderr, args.join(' ')).to.match(message)
    }
    expect(JSON.parse((await cli('ls', '--json')).stdout)).to.deep.equal([])
    // A CID that exists but is a chunk, not a file root.
    await cli('add', f)
    const chunk = cidOf(Buffer.from('xyz')).toString()
    const notRoot = await cli('cat', chunk)
    expect(notRoot.code).to.equal(11)
    expect(notRoot.stderr).to.match(/not dag-cbor \(a raw block is a chunk, not a file root\)/)
    const noRepo = await runCli(['--repo', join(dir.path, 'nowhere'), 'ls'])
    expect(noRepo.code).to.equal(14)
    expect(noRepo.stderr).to.match(/run `peerlink init` first/)
  })

  it('recovers from kill -9 during add: gc removes the orphans, a re-run add succeeds', async () => {
    const big = join(dir.path, 'big.bin')
    await writeFile(big, randomBytes(300 * 1024 * 1024))
    const child = spawn(process.execPath, [CLI, '--repo', repo, 'add', big], { stdio: 'ignore' })
    // Kill once stripes are being written (the blockstore has grown), well before the end.
    const blocks = join(repo, 'blocks')
    const deadline = Date.now() + 20_000
    while (Date.now() < deadline && (!existsSync(blocks) || Number(execFileSync('du', ['-sm', blocks]).toString().split('\t')[0]) < 40)) {
      await new Promise(resolve => setTimeout(resolve, 20))
    }
    child.kill('SIGKILL')
    await new Promise(resolve => child.once('close', resolve))
    expect(child.exitCode, 'the add was killed before it finished').to.equal(null)
    expect(JSON.parse((await cli('ls', '--json')).stdout)).to.deep.equal([])
    const gc = JSON.parse((await cli('gc', '--json')).stdout)
    expect(gc.removedBlocks).to.be.greaterThan(0)
    expect(gc.kept).to.equal(0)
    const r = await cli('add', '-q', big)
    expect(r.code, r.stderr).to.equal(0)
    const v = await cli('verify', r.stdout.trim(), '--json')
    expect(JSON.parse(v.stdout)).to.include({ ok: true })
    expect(JSON.parse(v.stdout).damaged).to.deep.equal([])
  })

  it('says when the repo is held by another process', async () => {
    const f = join(dir.path, 'big.bin')
    await writeFile(f, randomBytes(8 * 1024 * 1024))
    const cid = (await cli('add', '-q', f)).stdout.trim()
    // A `cat` whose output nobody reads blocks on the pipe while holding the repo open.
    const holder = spawn(process.execPath, [CLI, '--repo', repo, 'cat', cid], { stdio: ['ignore', 'pipe', 'ignore'] })
    try {
      await new Promise(resolve => holder.stdout.once('readable', resolve))
      const r = await cli('ls')
      expect(r.code).to.equal(8)
      expect(r.stderr).to.match(/in use by another process/)
    } finally {
      holder.kill('SIGKILL')
      await new Promise(resolve => holder.once('close', resolve))
    }
  })

  it('reports a full disk clearly and leaves the repo usable (tmpfs)', async function () {
    const disk = await smallDisk(this, join(dir.path, 'small-disk'), 24)
    const mnt = disk.path
    try {
      const small = join(mnt, 'repo')
      await runCli(['--repo', small, 'init'])
      const f = join(dir.path, 'big.bin')
      await writeFile(f, randomBytes(40 * 1024 * 1024))
      const r = await runCli(['--repo', small, 'add', f])
      expect(r.code, r.stderr).to.equal(9)
      expect(r.stderr).to.match(/no space left/)
      expect(JSON.parse((await runCli(['--repo', small, 'ls', '--json'])).stdout)).to.deep.equal([])
      expect((await runCli(['--repo', small, 'gc'])).code).to.equal(0)
      const tiny = join(dir.path, 'tiny.txt')
      await writeFile(tiny, 'still works')
      const ok = await runCli(['--repo', small, 'add', '-q', tiny])
      expect(ok.code, ok.stderr).to.equal(0)
      expect((await runCli(['--repo', small, 'cat', ok.stdout.trim()])).stdout).to.equal('still works')
      // Output to a full disk: an error, and no partial file left behind.
      const cid = (await cli('add', '-q', f)).stdout.trim()
      const w = await cli('fetch', cid, '-o', join(mnt, 'copy.bin'))
      expect(w.code).to.equal(9)
      expect(readdirSync(mnt).filter(n => n.includes('copy'))).to.deep.equal([])
    } finally {
      disk.unmount()
    }
  })
})
