// `npm run devnet`: N daemons up in one command, a file added on one fetched on another through
// the DHT, and every daemon and the temporary repos gone after Ctrl-C.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { expect } from 'chai'
import { stopChild } from '../../simulations/lib/processes.js'
import { runCli } from '../helpers/cli.js'
import { tempDir } from '../helpers/repo.js'

const DEVNET = fileURLToPath(new URL('../../scripts/devnet.ts', import.meta.url))

interface Ready { ready: true, nodes: Array<{ name: string, repo: string, peerId: string, api: string, ui: string, gateway?: string, addresses: string[] }> }

async function firstLine (child: ChildProcess, timeoutMs: number): Promise<string> {
  const lines = createInterface({ input: child.stdout! })
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  try {
    const [line] = await Promise.race([
      once(lines, 'line') as Promise<[string]>,
      once(child, 'exit').then(() => { throw new Error('devnet exited before it was ready') })
    ])
    return line
  } finally {
    clearTimeout(timer)
    lines.close()
  }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('devnet', function () {
  this.timeout(120_000)
  let dir: { path: string, cleanup: () => Promise<void> }
  let devnet: ChildProcess | undefined
  before(async () => { dir = await tempDir('peerlink-devnet-test-') })
  after(async () => {
    if (devnet !== undefined) await stopChild(devnet, 5000)
    await dir.cleanup()
  })

  it('starts 3 daemons, serves a fetch between two of them, and stops them all on SIGINT', async () => {
    devnet = spawn(process.execPath, ['--import', 'tsx', DEVNET, '--nodes', '3', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    devnet.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-8192) })
    const ready = JSON.parse(await firstLine(devnet, 60_000).catch((err: Error) => { throw new Error(`${err.message}: ${stderr}`) })) as Ready
    expect(ready.nodes.map(n => n.name)).to.deep.equal(['node-1', 'node-2', 'node-3'])
    expect(new Set(ready.nodes.map(n => n.peerId)).size).to.equal(3)
    // Each node serves its own gateway on a port of its own.
    expect(new Set(ready.nodes.map(n => n.gateway)).size).to.equal(3)
    // Each node's web page login URL logs in once: a session cookie, then the page.
    for (const n of ready.nodes) {
      expect(n.ui.startsWith(`${n.api}/ui/login?code=`), n.ui).to.equal(true)
      const login = await fetch(n.ui, { redirect: 'manual' })
      expect(login.status, n.ui).to.equal(302)
      expect(login.headers.get('set-cookie') ?? '').to.match(/HttpOnly/i)
      expect((await fetch(n.ui, { redirect: 'manual' })).status, 'a login URL is good once').to.equal(401)
    }
    const pids = await Promise.all(ready.nodes.map(async n => (JSON.parse(await readFile(join(n.repo, 'api.json'), 'utf8')) as { pid: number }).pid))

    const file = join(dir.path, 'hello.txt')
    await writeFile(file, 'from node 2 to node 3 through the devnet\n'.repeat(1000))
    const added = await runCli(['--repo', ready.nodes[1].repo, 'add', file, '--json'], {}, 30_000)
    expect(added.code, added.stderr).to.equal(0)
    const [{ cid }] = JSON.parse(added.stdout) as Array<{ cid: string }>
    const out = join(dir.path, 'fetched.txt')
    const fetched = await runCli(['--repo', ready.nodes[2].repo, 'fetch', cid, '-o', out], {}, 60_000)
    expect(fetched.code, fetched.stderr).to.equal(0)
    expect(await readFile(out, 'utf8')).to.equal(await readFile(file, 'utf8'))

    const exited = new Promise<number | null>(resolve => devnet!.once('exit', resolve))
    devnet.kill('SIGINT')
    expect(await exited).to.equal(0)
    for (const pid of pids) expect(alive(pid), `daemon ${pid} still running`).to.equal(false)
    for (const n of ready.nodes) expect(existsSync(n.repo), `${n.repo} left behind`).to.equal(false)
    devnet = undefined
  })
})
