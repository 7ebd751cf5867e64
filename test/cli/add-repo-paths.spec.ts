// `add` never shares the repo itself: a path inside it (the identity key, the API token) or a
// directory that holds it is refused, offline and through a daemon, with nothing pinned.
import { symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'chai'
import { daemonScratch, runCli, startDaemonProcess } from '../helpers/cli.js'

describe('add refuses the repo', function () {
  this.timeout(60_000)
  const scratch = daemonScratch(undefined, { each: true })

  async function refusals (repo: string): Promise<void> {
    await writeFile(join(scratch.path, 'fine.txt'), 'shareable')
    await symlink(repo, join(scratch.path, 'link-to-repo'))
    for (const [args, said] of [
      [['add', join(repo, 'api.token')], /inside the repo/],
      [['add', '-r', join(scratch.path, 'link-to-repo')], /inside the repo/],
      [['add', '-r', join(repo, '..', 'repo', 'blocks')], /inside the repo/],
      [['add', '-r', scratch.path], /holds the repo/]
    ] as const) {
      const r = await runCli(['--repo', repo, ...args])
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).to.equal(2)
      expect(r.stderr).to.match(said).and.match(/identity key and API token must never be shared/)
    }
    expect((await runCli(['--repo', repo, 'ls', '--json'])).stdout.trim()).to.equal('[]')
    expect((await runCli(['--repo', repo, 'add', '-q', join(scratch.path, 'fine.txt')])).code).to.equal(0)
  }

  it('offline', async () => {
    const repo = join(scratch.path, 'repo')
    expect((await runCli(['--repo', repo, 'init'])).code).to.equal(0)
    await refusals(repo)
  })

  it('through a daemon', async () => {
    scratch.daemon = await startDaemonProcess(join(scratch.path, 'repo'))
    await refusals(scratch.daemon.repo)
  })
})
