// The door every block from outside comes through: bytes are hashed and matched to their
// CID before the inner store sees them. A batch with one bad block stores nothing.
import { verifyBlock, verifyBlocks } from '../hash/index.js'
import type { AbortOptions, Block, Blockstore, PutOptions } from './blockstore.js'

export class VerifyingBlockstore implements Blockstore {
  constructor (private readonly inner: Blockstore) {}

  async put (cid: Block['cid'], bytes: Uint8Array, options: AbortOptions = {}): Promise<void> {
    await verifyBlock(cid, bytes, options)
    await this.inner.put(cid, bytes, options)
  }

  async putMany (blocks: Block[], options: PutOptions = {}): Promise<void> {
    const results = await verifyBlocks(blocks, options)
    const bad = results.find(r => !r.ok)
    if (bad !== undefined && !bad.ok) throw bad.error
    await this.inner.putMany(blocks, options)
  }

  async get (cid: Block['cid'], options?: AbortOptions): Promise<Uint8Array> { return await this.inner.get(cid, options) }
  getMany (cids: Iterable<Block['cid']>, options?: AbortOptions): ReturnType<Blockstore['getMany']> { return this.inner.getMany(cids, options) }
  async has (cid: Block['cid'], options?: AbortOptions): Promise<boolean> { return await this.inner.has(cid, options) }
  async hasMany (cids: Array<Block['cid']>, options?: AbortOptions): Promise<boolean[]> { return await this.inner.hasMany(cids, options) }
  async delete (cid: Block['cid'], options?: AbortOptions): Promise<void> { await this.inner.delete(cid, options) }
}
