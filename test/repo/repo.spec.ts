import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'chai'
import { initRepo, MIN_TOKEN_LENGTH, readConfig, readToken } from '../../src/repo/repo.js'
import { smallDisk, tempDir } from '../helpers/repo.js'

describe('repo: init and the API token', function () {
  this.timeout(30_000)
  let dir: { path: string, cleanup: () => Promise<void> }
  before(async () => { dir = await tempDir('peerlink-repo-') })
  after(async () => { await dir.cleanup() })

  it('makes config and a 0600 token, and reads the same token again', async () => {
    const root = join(dir.path, 'fresh')
    expect((await initRepo(root)).created).to.equal(true)
    const token = await readToken(root)
    expect(token.length).to.be.at.least(MIN_TOKEN_LENGTH)
    expect((await stat(join(root, 'api.token'))).mode & 0o777).to.equal(0o600)
    expect(await readToken(root)).to.equal(token)
    expect((await initRepo(root)).created).to.equal(false)
    expect(await readdir(root)).to.have.members(['config.json', 'api.token'])
  })

  it('replaces an emptied or too short token with a new one', async () => {
    const root = join(dir.path, 'emptied')
    await initRepo(root)
    for (const damaged of ['', '\n', 'short-token\n']) {
      await writeFile(join(root, 'api.token'), damaged)
      const token = await readToken(root)
      expect(token.length).to.be.at.least(MIN_TOKEN_LENGTH)
      expect((await readFile(join(root, 'api.token'), 'utf8')).trim()).to.equal(token)
    }
    expect(await readdir(root)).to.have.members(['config.json', 'api.token'])
  })

  it('on a full disk fails with exit status 9 and leaves no empty config or token behind', async function () {
    const disk = await smallDisk(this, join(dir.path, 'small'), 1)
    try {
      const filler = join(disk.path, 'filler')
      await writeFile(filler, Buffer.alloc(2 * 1024 * 1024)).catch((err: NodeJS.ErrnoException) => { if (err.code !== 'ENOSPC') throw err })
      const root = join(disk.path, 'repo')
      const err = await initRepo(root).then(() => undefined, (e: Error & { exitCode?: number }) => e)
      expect(err?.name).to.equal('DiskFullError')
      expect(err?.exitCode).to.equal(9)
      expect(await readdir(root)).to.deep.equal([])
      // With room again, init makes the repo, which reads back whole.
      await rm(filler)
      expect((await initRepo(root)).created).to.equal(true)
      expect((await readConfig(root)).version).to.be.a('number')
      expect((await readToken(root)).length).to.be.at.least(MIN_TOKEN_LENGTH)
    } finally {
      disk.unmount()
    }
  })
})
