// Private shares as a user runs them: `add --private` on one daemon, the link fetched on
// another, the CID alone refused, and no plaintext in any repo that holds the blocks.
import { mkdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { expect } from 'chai'
import { runCli, startDaemonProcess, stopDaemonProcess, type DaemonProcess } from '../helpers/cli.js'
import { MARKER, markedFile, markerIn } from '../helpers/plaintext.js'
import { waitUntil } from '../helpers/network.js'
import { tempDir } from '../helpers/repo.js'

describe('cli private shares', function () {
  this.timeout(180_000)
  let dir: { path: string, cleanup: () => Promise<void> }
  const daemons: DaemonProcess[] = []
  beforeEach(async () => { dir = await tempDir('peerlink-private-') })
  afterEach(async () => {
    for (const d of daemons.splice(0)) await stopDaemonProcess(d)
    await dir.cleanup()
  })

  it('fetches a private file by its link on another daemon; the CID alone is refused; no repo holds plaintext', async () => {
    // The marker is in the name and all through the content, so any plaintext stored shows it.
    const name = `${MARKER}.txt`
    const { path: file, content } = await markedFile(dir.path, 40)

    const a = await startDaemonProcess(join(dir.path, 'a'))
    daemons.push(a)
    const added = await runCli(['--repo', a.repo, 'add', '--private', '--json', '--chunk-size', '64KiB', '-k', '4', '-m', '2', file], {}, 60_000)
    expect(added.code, added.stderr).to.equal(0)
    const [entry] = JSON.parse(added.stdout) as Array<{ cid: string, ticket: string, name: string, size: number }>
    expect(entry.name).to.equal(name)
    expect(entry.size).to.equal(content.length)
    expect(entry.ticket).to.match(/^peerlink:b[a-z2-7]+#k=[A-Za-z0-9_-]{43}$/)
    expect((await stat(join(a.repo, 'private.keys'))).mode & 0o777).to.equal(0o600)
    // The owner's repo prints the whole link again, through the daemon.
    const shared = await runCli(['--repo', a.repo, 'share', entry.cid])
    expect(shared.code, shared.stderr).to.equal(0)
    expect(shared.stdout.trim()).to.equal(entry.ticket)

    const b = await startDaemonProcess(join(dir.path, 'b'))
    daemons.push(b)
    const out = join(dir.path, 'got.txt')
    const got = await runCli(['--repo', b.repo, 'fetch', '-o', out, entry.ticket], {}, 90_000)
    expect(got.code, got.stderr).to.equal(0)
    expect((await readFile(out)).equals(content)).to.equal(true)
    const st = await runCli(['--repo', b.repo, 'stat', '--json', entry.ticket])
    expect(JSON.parse(st.stdout)).to.include({ name, size: content.length, private: true })
    // A range through the daemon's API: the key goes in a header, the range opens only its segments.
    const range = await runCli(['--repo', b.repo, 'cat', '--offset', '100000', '--length', '150000', entry.ticket])
    expect(range.code, range.stderr).to.equal(0)
    expect(range.stdout).to.equal(content.subarray(100_000, 250_000).toString())

    // C has the ticket without the key: its fetch fills the repo with ciphertext only.
    const bare = entry.ticket.slice(0, entry.ticket.indexOf('#'))
    const c = join(dir.path, 'c')
    await runCli(['--repo', c, 'init', '--listen', '/ip4/127.0.0.1/tcp/0', '--api', '127.0.0.1:0'])
    const held = await runCli(['--repo', c, 'fetch', '--pin-only', bare], {}, 90_000)
    expect(held.code, held.stderr).to.equal(0)
    const refusals = [['cat', entry.cid], ['stat', entry.cid], ['fetch', '-o', join(dir.path, 'no.txt'), entry.cid], ['fetch', '-o', dir.path, bare]]
    for (const args of refusals) {
      const refused = await runCli(['--repo', c, ...args])
      expect(refused.code, `${args[0]}: ${refused.stderr}`).to.equal(21)
      expect(refused.stderr).to.include('this root is private: fetch it with its share link')
    }
    const wrong = await runCli(['--repo', c, 'cat', `${entry.cid}#k=${'A'.repeat(43)}`])
    expect(wrong.code, wrong.stderr).to.equal(22)
    expect(wrong.stderr).to.include(`does not open ${entry.cid}`)

    for (const d of daemons.splice(0)) await stopDaemonProcess(d)
    for (const repo of [a.repo, b.repo, c]) expect(await markerIn(repo), repo).to.deep.equal([])
    // The same file added in the clear shows the marker to the same search.
    const open = join(dir.path, 'open')
    await runCli(['--repo', open, 'init'])
    expect((await runCli(['--repo', open, 'add', '--chunk-size', '64KiB', file], {}, 60_000)).code).to.equal(0)
    expect((await markerIn(open)).length).to.be.greaterThan(0)
  })

  it('fetches a private directory by its link, paths in it with the key; refuses it without; no repo or holder holds a name or plaintext', async () => {
    // Every name and every file holds the marker: top/{a.txt, sub/{b.txt, deep/c.txt}}.
    const top = join(dir.path, `top-${MARKER}`)
    const files = [`${MARKER}-a.txt`, join(`sub-${MARKER}`, `${MARKER}-b.txt`), join(`sub-${MARKER}`, `deep-${MARKER}`, `${MARKER}-c.txt`)]
    await mkdir(join(top, `sub-${MARKER}`, `deep-${MARKER}`), { recursive: true })
    for (const [i, f] of files.entries()) await writeFile(join(top, f), (await markedFile(dir.path, 4 + 8 * i)).content)

    const a = await startDaemonProcess(join(dir.path, 'a'), { timeoutMs: 60_000 })
    daemons.push(a)
    const added = await runCli(['--repo', a.repo, 'add', '--private', '-r', '--json', '--chunk-size', '64KiB', '-k', '2', '-m', '1', top], {}, 60_000)
    expect(added.code, added.stderr).to.equal(0)
    const [entry] = JSON.parse(added.stdout) as Array<{ cid: string, ticket: string, name: string, type: string, files: number }>
    expect(entry).to.include({ name: `top-${MARKER}`, type: 'directory', files: 3 })
    const key = entry.ticket.slice(entry.ticket.indexOf('#'))

    const holders: DaemonProcess[] = []
    for (let i = 0; i < 3; i++) {
      const repo = join(dir.path, `holder${i}`)
      const init = await runCli(['--repo', repo, 'init', '--listen', '/ip4/127.0.0.1/tcp/0', '--api', '127.0.0.1:0', '--offer', '64MiB', '--bootstrap', a.dialable[0]])
      expect(init.code, init.stderr).to.equal(0)
      const holder = await startDaemonProcess(repo, { timeoutMs: 60_000 })
      holders.push(holder)
      daemons.push(holder)
    }
    const b = await startDaemonProcess(join(dir.path, 'b'), { timeoutMs: 60_000 })
    daemons.push(b)
    const out = join(dir.path, 'got')
    const got = await runCli(['--repo', b.repo, 'fetch', '-o', out, entry.ticket], {}, 90_000)
    expect(got.code, got.stderr).to.equal(0)
    for (const f of files) expect((await readFile(join(out, f))).equals(await readFile(join(top, f))), f).to.equal(true)
    const inner = `${entry.cid}/sub-${MARKER}/${MARKER}-b.txt${key}`
    const cat = await runCli(['--repo', b.repo, 'cat', inner])
    expect(cat.code, cat.stderr).to.equal(0)
    expect(Buffer.from(cat.stdout).equals(await readFile(join(top, files[1])))).to.equal(true)
    const ls = JSON.parse((await runCli(['--repo', b.repo, 'ls', '--json', `${entry.cid}/sub-${MARKER}${key}`])).stdout) as Array<{ name: string, size: number }>
    expect(ls.map(e => e.name)).to.deep.equal([`${MARKER}-b.txt`, `deep-${MARKER}`])
    expect(ls[0].size).to.equal((await stat(join(top, files[1]))).size)

    // C has the ticket without the key: its fetch holds the tree's ciphertext, and opens nothing.
    const bare = entry.ticket.slice(0, entry.ticket.indexOf('#'))
    const c = join(dir.path, 'c')
    await runCli(['--repo', c, 'init', '--listen', '/ip4/127.0.0.1/tcp/0', '--api', '127.0.0.1:0'])
    const held = await runCli(['--repo', c, 'fetch', '--pin-only', bare], {}, 90_000)
    expect(held.code, held.stderr).to.equal(0)
    const refusals = [['ls', entry.cid], ['stat', entry.cid], ['cat', `${entry.cid}/sub-${MARKER}/${MARKER}-b.txt`], ['fetch', '-o', join(dir.path, 'no'), entry.cid]]
    for (const args of refusals) {
      const refused = await runCli(['--repo', c, ...args])
      expect(refused.code, `${args[0]}: ${refused.stderr}`).to.equal(21)
      expect(refused.stderr).to.include('this root is private: fetch it with its share link')
    }
    const wrong = await runCli(['--repo', c, 'ls', `${entry.cid}#k=${'A'.repeat(43)}`])
    expect(wrong.code, wrong.stderr).to.equal(22)
    expect(wrong.stderr).to.include(`does not open the directory ${entry.cid}`)

    // The tree spread as one root: every file's stripes on the 3 holders, which keep its ciphertext only.
    await waitUntil(async () => JSON.parse((await runCli(['--repo', a.repo, 'peers', '--json'])).stdout).length >= 4, 30_000, 'the holders connected', 250)
    const spread = await runCli(['--repo', a.repo, 'spread', '--json', entry.cid], {}, 60_000)
    expect(spread.code, spread.stderr).to.equal(0)
    const spreadOut = JSON.parse(spread.stdout) as { holders: number, distinct: number, stripes: unknown[] }
    expect(spreadOut).to.include({ holders: 3, distinct: 3 })
    expect(spreadOut.stripes.length).to.be.greaterThanOrEqual(files.length)

    for (const d of daemons.splice(0)) await stopDaemonProcess(d)
    for (const repo of [a.repo, b.repo, c, ...holders.map(h => h.repo)]) expect(await markerIn(repo), repo).to.deep.equal([])
  })

  it('reads ranges of a private file and refuses a wrong key, offline', async () => {
    const repo = join(dir.path, 'r')
    await runCli(['--repo', repo, 'init'])
    const content = Buffer.from(randomBytes(525_000).toString('base64'))
    const file = join(dir.path, 'data.bin')
    await writeFile(file, content)
    const added = JSON.parse((await runCli(['--repo', repo, 'add', '--private', '--json', '--chunk-size', '64KiB', '-k', '3', '-m', '1', file], {}, 60_000)).stdout) as Array<{ cid: string }>
    const link = (await runCli(['--repo', repo, 'share', added[0].cid])).stdout.trim()
    expect(link).to.include('#k=')
    for (const [offset, length] of [[0, 10], [65_519, 2], [65_520, 65_520], [123_456, 300_000], [699_990, 100]]) {
      const r = await runCli(['--repo', repo, 'cat', '--offset', String(offset), '--length', String(length), link])
      expect(r.code, r.stderr).to.equal(0)
      const want = content.subarray(offset, offset + length)
      expect(r.stdout, `${offset}+${length}`).to.equal(want.toString())
    }
    const wrong = await runCli(['--repo', repo, 'cat', `${added[0].cid}#k=${'B'.repeat(43)}`])
    expect(wrong.code).to.equal(22)
  })
})
