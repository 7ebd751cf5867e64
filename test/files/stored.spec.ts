import { randomBytes } from 'node:crypto'
import { expect } from 'chai'
import { importFile } from '../../src/files/importer.js'
import { storedBytes } from '../../src/files/stored.js'
import { stripesOf, tempStore } from '../helpers/repo.js'

describe('storedBytes', () => {
  it('counts what the repo holds of a root, and less as blocks go missing', async () => {
    const { store, cleanup } = await tempStore()
    try {
      const chunkSize = 64 * 1024
      const bytes = randomBytes(20 * chunkSize)
      const { cid } = await importFile(store, [bytes], { chunkSize, k: 4, m: 2 })
      const whole = await storedBytes(store, cid)
      // Every chunk and parity block at its shard size, plus the DAG nodes.
      expect(whole).to.be.at.least(20 * chunkSize * 6 / 4)
      expect(whole).to.be.below(20 * chunkSize * 6 / 4 + 64 * 1024)

      const [first] = await stripesOf(store, cid)
      for (const c of [...first.node.data, ...first.node.parity]) await store.delete(c)
      expect(await storedBytes(store, cid)).to.equal(whole - 6 * first.node.shardSize)
      // Below a missing stripe node nothing is counted; with no root, nothing at all.
      await store.delete(cid)
      expect(await storedBytes(store, cid)).to.equal(0)
    } finally {
      await cleanup()
    }
  })
})
