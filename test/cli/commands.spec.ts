// The command set: every group's commands registered, in the order `peerlink --help` lists
// them; and what a command loads, without a daemon and through one.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Command } from 'commander'
import { expect } from 'chai'
import { registerCommands } from '../../src/cli/commands.js'
import { daemonScratch, runCli, startDaemonProcess } from '../helpers/cli.js'

describe('cli commands', () => {
  it('registers every command once, in the help order', () => {
    const program = new Command()
    registerCommands(program)
    expect(program.commands.map(c => c.name())).to.deep.equal([
      'doctor', 'init', 'config', 'daemon', 'add', 'share', 'cat', 'fetch', 'provide', 'find-providers', 'id', 'peers', 'connect', 'stat', 'ls', 'rm', 'gc', 'verify', 'shares', 'spread', 'status', 'ui'
    ])
  })
})

/**
 * NODE_OPTIONS that make a CLI process write every module URL it resolves to `log`, one a
 * line (a resolve hook registered by a preloaded module, both given as data: URLs).
 */
function loadLogOptions (log: string): string {
  const hooks = 'import { appendFileSync } from "node:fs"; let file; export function initialize (d) { file = d.file }; export async function resolve (s, c, next) { const r = await next(s, c); appendFileSync(file, r.url + "\\n"); return r }'
  const preload = `import { register } from "node:module"; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hooks)}`)}, { data: { file: ${JSON.stringify(log)} } })`
  return `--import=data:text/javascript,${encodeURIComponent(preload)}`
}

/** The packages a CLI run resolved modules of. */
async function packagesLoaded (dir: string, args: string[]): Promise<Set<string>> {
  const log = join(dir, `loads-${Math.random().toString(36).slice(2)}`)
  writeFileSync(log, '')
  const r = await runCli(args, { NODE_OPTIONS: loadLogOptions(log) }, 30_000)
  expect(r.code, r.stderr).to.equal(0)
  const urls = readFileSync(log, 'utf8').split('\n').filter(u => u !== '')
  expect(urls.some(u => u.endsWith('/dist/cli.js')), 'the hook saw the CLI load').to.equal(true)
  return new Set(urls.flatMap(u => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u)?.[1] ?? []))
}

describe('what a command loads', function () {
  this.timeout(60_000)
  const scratch = daemonScratch('peerlink-loads-')

  it('without a daemon: ls and stat of a CID open LevelDB, and load neither libp2p nor its key code', async () => {
    const repo = join(scratch.path, 'offline')
    expect((await runCli(['--repo', repo, 'init'])).code).to.equal(0)
    writeFileSync(join(scratch.path, 'a.txt'), 'a small file')
    const added = await runCli(['--repo', repo, 'add', '--json', join(scratch.path, 'a.txt')])
    const [{ cid }] = JSON.parse(added.stdout) as Array<{ cid: string }>
    for (const args of [['ls'], ['stat', cid]]) {
      const loaded = await packagesLoaded(scratch.path, ['--repo', repo, ...args])
      expect(loaded.has('classic-level'), args[0]).to.equal(true)
      for (const p of ['libp2p', '@libp2p/peer-id', '@libp2p/crypto', '@chainsafe/libp2p-noise', '@libp2p/kad-dht']) expect(loaded.has(p), `${args[0]} loaded ${p}`).to.equal(false)
    }
  })

  it('through a daemon: ls loads neither libp2p nor LevelDB', async () => {
    scratch.daemon = await startDaemonProcess(join(scratch.path, 'online'))
    const loaded = await packagesLoaded(scratch.path, ['--repo', scratch.daemon.repo, 'ls'])
    expect(loaded.has('commander')).to.equal(true)
    for (const p of ['libp2p', '@libp2p/peer-id', 'classic-level', '@ipld/dag-cbor']) expect(loaded.has(p), `loaded ${p}`).to.equal(false)
  })
})
