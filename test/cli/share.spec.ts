// Share links and where `fetch` writes, run as a user runs them: real daemons on loopback.
import { execFile } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { mkdir, readFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { expect } from 'chai'
import { parseTarget } from '../../src/node/ticket.js'
import { CLI, runCli, startDaemonProcess, stopDaemonProcess, type CliResult, type DaemonProcess } from '../helpers/cli.js'
import { randomFile } from '../helpers/network.js'
import { tempDir } from '../helpers/repo.js'

/** Runs the CLI in `cwd`, as a user in that directory would. */
async function cliIn (cwd: string, args: string[], timeoutMs = 60_000): Promise<CliResult> {
  return await new Promise(resolve => {
    execFile(process.execPath, [CLI, ...args], { cwd, timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null
      resolve({ code, stdout, stderr, timedOut: err?.killed === true } as unknown as CliResult)
    })
  })
}

/** A loopback TCP port free right now, so a repo's config can name it before its daemon runs. */
async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise(resolve => server.close(resolve))
  return port
}

describe('cli share links and fetch outputs', function () {
  this.timeout(120_000)
  let dir: { path: string, cleanup: () => Promise<void> }
  const daemons: DaemonProcess[] = []
  beforeEach(async () => { dir = await tempDir('peerlink-share-') })
  afterEach(async () => {
    for (const d of daemons.splice(0)) await stopDaemonProcess(d)
    await dir.cleanup()
  })

  it('prints a share link without a daemon that another node fetches once the daemon starts', async () => {
    const a = join(dir.path, 'a')
    const port = await freePort()
    expect((await runCli(['--repo', a, 'init', '--listen', `/ip4/127.0.0.1/tcp/${port}`, '--api', '127.0.0.1:0'])).code).to.equal(0)
    const f = await randomFile(dir.path, 'report.pdf', 2 * 1024 * 1024 + 5)
    const text = await runCli(['--repo', a, 'add', f.path])
    expect(text.code, text.stderr).to.equal(0)
    const share = text.stdout.split('\n').find(l => l.startsWith('share '))
    expect(share, text.stdout).to.match(/^share peerlink:b/)
    expect(text.stderr).to.match(/served \(the share links work\) once `peerlink daemon` starts/)
    const ticket = (share as string).slice('share '.length)

    const [entry] = JSON.parse((await runCli(['--repo', a, 'add', '--json', f.path])).stdout) as Array<{ cid: string, ticket: string }>
    expect(entry.ticket).to.equal(ticket)
    const t = parseTarget(ticket)
    expect(t.root.toString()).to.equal(entry.cid)
    expect(t.addrs.map(String)).to.deep.equal([`/ip4/127.0.0.1/tcp/${port}`])
    expect((await runCli(['--repo', a, 'share', entry.cid])).stdout.trim()).to.equal(ticket)

    const daemon = await startDaemonProcess(a)
    daemons.push(daemon)
    expect(t.peer?.toString()).to.equal(daemon.info.peerId)
    // The receiver has no daemon and no bootstrap peer: the ticket alone leads it to A.
    const b = join(dir.path, 'b')
    await runCli(['--repo', b, 'init', '--listen', '/ip4/127.0.0.1/tcp/0', '--api', '127.0.0.1:0'])
    const inbox = join(dir.path, 'inbox')
    await mkdir(inbox)
    const got = await cliIn(inbox, ['--repo', b, 'fetch', ticket])
    expect(got.code, got.stderr).to.equal(0)
    expect(got.stdout).to.include(`wrote ${join(inbox, 'report.pdf')}`)
    expect((await readFile(join(inbox, 'report.pdf'))).equals(f.bytes)).to.equal(true)
  })

  it('prints a root\'s share link again, through the daemon or offline, with --json', async () => {
    const a = join(dir.path, 'a')
    const port = await freePort()
    await runCli(['--repo', a, 'init', '--listen', `/ip4/127.0.0.1/tcp/${port}`, '--api', '127.0.0.1:0'])
    const f = await randomFile(dir.path, 'notes.txt', 1000)
    const cid = (await runCli(['--repo', a, 'add', '-q', f.path])).stdout.trim()
    const offline = JSON.parse((await runCli(['--repo', a, 'share', '--json', cid])).stdout) as { cid: string, ticket: string }
    expect(offline.cid).to.equal(cid)
    expect(parseTarget(offline.ticket).root.toString()).to.equal(cid)

    const daemon = await startDaemonProcess(a)
    daemons.push(daemon)
    const online = JSON.parse((await runCli(['--repo', a, 'share', '--json', cid])).stdout) as { cid: string, ticket: string }
    const t = parseTarget(online.ticket)
    expect({ cid: online.cid, root: t.root.toString(), peer: t.peer?.toString() }).to.deep.equal({ cid, root: cid, peer: daemon.info.peerId })
    expect(t.addrs.map(String)).to.include(`/ip4/127.0.0.1/tcp/${port}`)

    const missing = await runCli(['--repo', a, 'share', 'bafyr4icerajnqba2jc6ck7okyolknpmnw2pkxlaos5r7wnmnjrcud6ncve'])
    expect(missing.code).to.equal(7)
  })

  it('fetches through a daemon into the working directory or a directory, relative to the CLI', async () => {
    const a = await startDaemonProcess(join(dir.path, 'a'))
    daemons.push(a)
    const b = await startDaemonProcess(join(dir.path, 'b'), { bootstrap: a.dialable })
    daemons.push(b)
    const f = await randomFile(dir.path, 'clip.bin', 3 * 1024 * 1024)
    const [entry] = JSON.parse((await runCli(['--repo', a.repo, 'add', '--json', f.path], {}, 60_000)).stdout) as Array<{ cid: string, ticket: string }>
    const work = join(dir.path, 'work')
    await mkdir(join(work, 'downloads'), { recursive: true })

    // Not here yet: the name comes with the root.
    const first = await cliIn(work, ['--repo', b.repo, 'fetch', '--json', entry.ticket])
    expect(first.code, first.stderr).to.equal(0)
    expect(JSON.parse(first.stdout)).to.include({ output: join(work, 'clip.bin'), name: 'clip.bin' })
    expect((await readFile(join(work, 'clip.bin'))).equals(f.bytes)).to.equal(true)

    const again = await cliIn(work, ['--repo', b.repo, 'fetch', entry.cid])
    expect(again.code).to.equal(12)
    expect(again.stderr).to.match(/already exists \(use --force/)
    expect((await cliIn(work, ['--repo', b.repo, 'fetch', '--force', entry.cid])).code).to.equal(0)

    const into = await cliIn(work, ['--repo', b.repo, 'fetch', entry.cid, '-o', 'downloads'])
    expect(into.code, into.stderr).to.equal(0)
    expect((await readFile(join(work, 'downloads', 'clip.bin'))).equals(f.bytes)).to.equal(true)
    expect(existsSync(join(b.repo, 'downloads'))).to.equal(false)

    // -o naming a path that is not a directory is the output path itself, as before.
    expect((await cliIn(work, ['--repo', b.repo, 'fetch', entry.cid, '-o', 'copy.bin'])).code).to.equal(0)
    expect((await readFile(join(work, 'copy.bin'))).equals(f.bytes)).to.equal(true)

    const empty = join(dir.path, 'empty')
    await mkdir(empty)
    const pinOnly = await cliIn(empty, ['--repo', b.repo, 'fetch', '--pin-only', entry.cid])
    expect(pinOnly.code, pinOnly.stderr).to.equal(0)
    expect(pinOnly.stdout).to.not.include('wrote')
    expect((await runCli(['--repo', b.repo, 'fetch', '--pin-only', '-o', 'x', entry.cid])).code).to.equal(2)
    expect(readdirSync(empty)).to.deep.equal([])
  })
})
