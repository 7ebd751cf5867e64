// `add` never shares the repo itself: a path inside it (the identity key, the API token) or a
// directory that holds it is refused, offline and through a daemon, with nothing pinned.
import { symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'chai'
import { runCli, startDaemonProcess, stopDaemonProcess, type DaemonProcess } from '../helpers/cli.js'
import { tempDir } from '../helpers/repo.js'

describe('add refuses the repo', function () {
  this.timeout(60_000)
  let dir: { path: string, cleanup: () => Promise<void> }
  let daemon: DaemonProcess | undefined
  beforeEach(async () => { dir = await tempDir() })
  afterEach(async () => {
    if (daemon !== undefined) await stopDaemonProcess(daemon)
    daemon = undefined
    await dir.cleanup()
  })

  async function refusals (repo: string): Promise<void> {
    await writeFile(join(dir.path, 'fine.txt'), 'shareable')
    await symlink(repo, join(dir.path, 'link-to-repo'))
    for (const [args, said] of [
      [['add', join(repo, 'api.token')], /inside the repo/],
      [['add', '-r', join(dir.path, 'link-to-repo')], /inside the repo/],
      [['add', '-r', join(repo, '..', 'repo', 'blocks')], /inside the repo/],
      [['add', '-r', dir.path], /holds the repo/]
    ] as const) {
      const r = await runCli(['--repo', repo, ...args])
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).to.equal(2)
      expect(r.stderr).to.match(said).and.match(/identity key and API token must never be shared/)
    }
    expect((await runCli(['--repo', repo, 'ls', '--json'])).stdout.trim()).to.equal('[]')
    expect((await runCli(['--repo', repo, 'add', '-q', join(dir.path, 'fine.txt')])).code).to.equal(0)
  }

  it('offline', async () => {
    const repo = join(dir.path, 'repo')
    expect((await runCli(['--repo', repo, 'init'])).code).to.equal(0)
    await refusals(repo)
  })

  it('through a daemon', async () => {
    daemon = await startDaemonProcess(join(dir.path, 'repo'))
    await refusals(daemon.repo)
  })
})
