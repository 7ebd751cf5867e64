import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'chai'
import { CLI, runCli } from '../helpers/cli.js'
import { randomFile, waitUntil } from '../helpers/network.js'
import { tempDir } from '../helpers/repo.js'

interface Running { child: ChildProcess, repo: string, info: { address: string, peerId: string, addresses: string[] } }

/** Starts `peerlink daemon` on a fresh repo and waits (bounded) for its api.json. */
async function startDaemonProcess (repo: string, bootstrap: string[] = []): Promise<Running> {
  const init = await runCli(['--repo', repo, 'init', '--listen', '/ip4/127.0.0.1/tcp/0', '--api', '127.0.0.1:0', ...(bootstrap.length > 0 ? ['--bootstrap', ...bootstrap] : [])])
  expect(init.code, init.stderr).to.equal(0)
  const child = spawn(process.execPath, [CLI, '--repo', repo, 'daemon'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PEERLINK_LOG_LEVEL: 'warn' } })
  let stderr = ''
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
  const apiFile = join(repo, 'api.json')
  await waitUntil(() => existsSync(apiFile) || child.exitCode !== null, 15_000, 'daemon did not start')
  if (child.exitCode !== null) throw new Error(`daemon exited: ${stderr}`)
  await new Promise(resolve => setTimeout(resolve, 50))
  return { child, repo, info: JSON.parse(await readFile(apiFile, 'utf8')) }
}

async function stopDaemon (d: Running): Promise<number | null> {
  if (d.child.exitCode !== null) return d.child.exitCode
  const exited = new Promise<number | null>(resolve => d.child.once('exit', (code) => { resolve(code) }))
  d.child.kill('SIGTERM')
  const timer = setTimeout(() => d.child.kill('SIGKILL'), 10_000)
  const code = await exited
  clearTimeout(timer)
  return code
}

describe('the daemon and the CLI through it', function () {
  this.timeout(90_000)
  let dir: { path: string, cleanup: () => Promise<void> }
  const daemons: Running[] = []
  before(async () => { dir = await tempDir('peerlink-daemon-') })
  after(async () => {
    for (const d of daemons) await stopDaemon(d)
    await dir.cleanup()
  })

  it('adds on one daemon, fetches by ticket and by CID on another, and answers id/peers/find-providers', async () => {
    const a = await startDaemonProcess(join(dir.path, 'a'))
    daemons.push(a)
    const b = await startDaemonProcess(join(dir.path, 'b'), a.info.addresses.map(x => `${x}/p2p/${a.info.peerId}`.replace(/(\/p2p\/[^/]+)\/p2p\/[^/]+$/, '$1')))
    daemons.push(b)
    const cli = async (d: Running, ...args: string[]): ReturnType<typeof runCli> => await runCli(['--repo', d.repo, ...args], {}, 60_000)

    expect(await stat(join(a.repo, 'api.token')).then(s => s.mode & 0o777)).to.equal(0o600)
    const f = await randomFile(dir.path, 'shared.bin', 6 * 1024 * 1024 + 7)
    const added = await cli(a, 'add', '--json', f.path)
    expect(added.code, added.stderr).to.equal(0)
    const [entry] = JSON.parse(added.stdout) as Array<{ cid: string, ticket: string, provided: boolean }>
    expect(entry.ticket).to.match(/^peerlink:/)
    expect(entry.provided).to.equal(true)

    const id = JSON.parse((await cli(a, 'id', '--json')).stdout) as { peerId: string }
    expect(id.peerId).to.equal(a.info.peerId)
    const peers = JSON.parse((await cli(b, 'peers', '--json')).stdout) as Array<{ peer: string }>
    expect(peers.map(p => p.peer)).to.include(a.info.peerId)

    const out1 = join(dir.path, 'by-ticket.bin')
    const byTicket = await cli(b, 'fetch', entry.ticket, '-o', out1)
    expect(byTicket.code, byTicket.stderr).to.equal(0)
    expect((await readFile(out1)).equals(f.bytes)).to.equal(true)
    const out2 = join(dir.path, 'by-cid.bin')
    expect((await cli(b, 'fetch', entry.cid, '-o', out2)).code).to.equal(0)
    expect((await readFile(out2)).equals(f.bytes)).to.equal(true)

    const providers = await cli(a, 'find-providers', '--json', entry.cid)
    expect((JSON.parse(providers.stdout) as Array<{ peer: string }>).map(p => p.peer)).to.include(b.info.peerId)
    const ls = JSON.parse((await cli(b, 'ls', '--json')).stdout) as Array<{ cid: string }>
    expect(ls.map(p => p.cid)).to.include(entry.cid)
  })

  it('refuses API calls without the token or with a wrong one (401)', async () => {
    const a = daemons[0]
    const url = `http://${a.info.address}/api/v1/id`
    expect((await fetch(url)).status).to.equal(401)
    expect((await fetch(url, { headers: { authorization: 'Bearer wrong' } })).status).to.equal(401)
    const token = (await readFile(join(a.repo, 'api.token'), 'utf8')).trim()
    expect((await fetch(url, { headers: { authorization: `Bearer ${token}` } })).status).to.equal(200)
  })

  it('reports the daemon\'s errors with their exit status', async () => {
    const bad = await runCli(['--repo', daemons[0].repo, 'stat', 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'])
    expect(bad.code).to.equal(7)
    expect(bad.stderr).to.include('bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy')
    const notCid = await runCli(['--repo', daemons[0].repo, 'fetch', 'not-a-cid'])
    expect(notCid.code).to.equal(2)
  })

  it('stops cleanly on SIGTERM: exit 0, api.json removed, the repo usable offline', async () => {
    const b = daemons[1]
    expect(await stopDaemon(b)).to.equal(0)
    expect(existsSync(join(b.repo, 'api.json'))).to.equal(false)
    const ls = await runCli(['--repo', b.repo, 'ls', '--json'])
    expect(ls.code, ls.stderr).to.equal(0)
    expect((JSON.parse(ls.stdout) as unknown[]).length).to.equal(1)
  })
})
