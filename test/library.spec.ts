// The README's library example is the library's contract with its users: this test runs it,
// as a user's program importing 'peerlink', so the example cannot drift from the API.
import { execFile } from 'node:child_process'
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { expect } from 'chai'
import { createPeerLink, InvalidCidError, RepoNotFoundError } from '../src/index.js'
import { tempDir } from './helpers/repo.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

/** The first ```ts block under the README's "## Library" heading. */
export function libraryExample (readme: string): string {
  const section = readme.split(/^## /m).find(s => s.startsWith('Library'))
  const code = section?.match(/```ts\n([\s\S]*?)```/)?.[1]
  if (code === undefined) throw new Error('README.md has no ```ts example under "## Library"')
  return code
}

describe('library', function () {
  this.timeout(60_000)

  it('runs the README example as a program importing peerlink', async () => {
    const dir = await tempDir('peerlink-library-')
    try {
      await mkdir(join(dir.path, 'node_modules'))
      await symlink(ROOT, join(dir.path, 'node_modules', 'peerlink')) // resolves to dist/ via package.json exports
      const example = join(dir.path, 'example.mts')
      await writeFile(example, libraryExample(await readFile(join(ROOT, 'README.md'), 'utf8')))
      const tsx = pathToFileURL(join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', tsx, example], {
        cwd: dir.path, env: { ...process.env, TMPDIR: dir.path }, timeout: 50_000
      })
      expect(stdout).to.match(/^files:import:progress 20$/m)
      expect(stdout).to.include('fetched 20 bytes from 1 provider(s)')
      expect(stdout).to.match(/^from$/m)
      expect(stdout).to.match(/name: 'hello\.txt'/)
      expect(await readFile(join(dir.path, (await readdir(dir.path)).find(d => d.startsWith('peerlink-example-')) ?? '', 'copy.txt'), 'utf8')).to.equal('hello from PeerLink\n')
    } finally {
      await dir.cleanup()
    }
  })

  it('creates a repo offline, adds and reads back by CID text, and refuses what it should', async () => {
    const dir = await tempDir('peerlink-library-')
    try {
      expect(await createPeerLink({ repo: join(dir.path, 'none'), init: false, online: false }).catch(err => err)).to.be.instanceOf(RepoNotFoundError)
      const node = await createPeerLink({ repo: join(dir.path, 'repo'), online: false })
      try {
        await writeFile(join(dir.path, 'f.bin'), Buffer.alloc(3000, 7))
        const { cid } = await node.add(join(dir.path, 'f.bin'), { k: 2, m: 1, chunkSize: 64 * 1024 })
        const s = await node.stat(cid.toString())
        expect(s).to.include({ name: 'f.bin', size: 3000, k: 2, m: 1, pinned: true })
        const parts: Uint8Array[] = []
        for await (const p of node.cat(cid.toString(), { offset: 1000, length: 10 })) parts.push(p)
        expect(Buffer.concat(parts)).to.deep.equal(Buffer.alloc(10, 7))
        expect(await node.stat('not-a-cid').catch(err => err)).to.be.instanceOf(InvalidCidError)
        expect(() => node.ticket(cid)).to.throw(/network/)
      } finally {
        await node.stop()
      }
    } finally {
      await dir.cleanup()
    }
  })
})
