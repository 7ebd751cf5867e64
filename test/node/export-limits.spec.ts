// The repo's export limits (config.json `export`) bound what a node writes for a fetch or an
// export, and a config with nonsense there is refused when the repo opens.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'chai'
import { InvalidArgumentError, TreeLimitError } from '../../src/errors.js'
import { createPeerLink } from '../../src/node/create.js'
import { tempDir } from '../helpers/repo.js'

describe('node: export limits from the repo config', () => {
  let dir: { path: string, cleanup: () => Promise<void> }
  beforeEach(async () => { dir = await tempDir() })
  afterEach(async () => { await dir.cleanup() })

  async function setExport (repo: string, value: unknown): Promise<void> {
    const path = join(repo, 'config.json')
    const config = JSON.parse(await readFile(path, 'utf8'))
    config.export = value
    await writeFile(path, JSON.stringify(config))
  }

  it('refuses an export past export.maxEntries or export.maxBytes, writing nothing', async () => {
    const repo = join(dir.path, 'repo')
    const tree = join(dir.path, 'tree')
    await mkdir(tree)
    for (let i = 0; i < 5; i++) await writeFile(join(tree, `f${i}`), Buffer.alloc(1000, i))
    let node = await createPeerLink({ repo, online: false })
    const { cid } = await node.add(tree, { recursive: true })
    await node.stop()

    await setExport(repo, { maxEntries: 4 })
    node = await createPeerLink({ repo, online: false })
    try {
      expect(await node.exportTo(cid, join(dir.path, 'out1')).catch(e => e)).to.be.instanceOf(TreeLimitError).and.include({ what: 'entries' })
    } finally { await node.stop() }

    await setExport(repo, { maxEntries: 5, maxBytes: 4999 })
    node = await createPeerLink({ repo, online: false })
    try {
      expect(await node.fetch(cid, { output: join(dir.path, 'out2') }).catch(e => e)).to.be.instanceOf(TreeLimitError).and.include({ what: 'bytes' })
      expect((await readdir(dir.path)).sort()).to.deep.equal(['repo', 'tree'])
    } finally { await node.stop() }

    await setExport(repo, { maxEntries: 5, maxBytes: 5000 })
    node = await createPeerLink({ repo, online: false })
    try {
      expect(await node.exportTo(cid, join(dir.path, 'out3'))).to.deep.equal({ files: 5, bytes: 5000 })
    } finally { await node.stop() }
  })

  it('refuses a config whose export limits are not whole numbers', async () => {
    const repo = join(dir.path, 'repo')
    await (await createPeerLink({ repo, online: false })).stop()
    await setExport(repo, { maxBytes: -1 })
    const err = await createPeerLink({ repo, online: false }).catch(e => e)
    expect(err).to.be.instanceOf(InvalidArgumentError)
    expect(err.message).to.match(/export\.maxBytes must be a whole number of bytes/)
  })
})
