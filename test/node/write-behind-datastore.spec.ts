// libp2p's datastore in memory in front of LevelDB, written behind: reads see every write at
// once, LevelDB gets them within the flush interval and on close, queries see pending writes,
// the read cache stays within its bytes, and writes a failing store refuses stay bounded.
import { expect } from 'chai'
import { LevelDatastore } from 'datastore-level'
import { Key, type Datastore, type Pair } from 'interface-datastore'
import { WriteBehindDatastore } from '../../src/node/write-behind-datastore.js'
import { tempDir } from '../helpers/repo.js'

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s)
const text = (b: Uint8Array): string => new TextDecoder().decode(b)

async function notFound (p: Promise<unknown>): Promise<void> {
  const err = await p.then(() => undefined, (e: Error) => e)
  expect(err?.name).to.equal('NotFoundError')
}

async function all<T> (source: AsyncIterable<T> | Iterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of source) out.push(x)
  return out
}

describe('node: write-behind datastore', function () {
  this.timeout(20_000)
  let dir: Awaited<ReturnType<typeof tempDir>>
  let level: LevelDatastore
  const made: WriteBehindDatastore[] = []
  const writeBehind = (store: Datastore, options?: ConstructorParameters<typeof WriteBehindDatastore>[1]): WriteBehindDatastore => {
    const ds = new WriteBehindDatastore(store, options)
    made.push(ds)
    return ds
  }

  beforeEach(async () => {
    dir = await tempDir()
    level = new LevelDatastore(dir.path)
    await level.open()
  })

  afterEach(async () => {
    for (const ds of made.splice(0)) await ds.close().catch(() => {})
    await level.close().catch(() => {})
    await dir.cleanup()
  })

  it('answers a read from what was written before LevelDB has it, and writes it there within the interval', async () => {
    const ds = writeBehind(level, { flushMs: 100 })
    const key = new Key('/peers/a')
    await ds.put(key, bytes('one'))
    expect(text(await ds.get(key))).to.equal('one')
    expect(await ds.has(key)).to.equal(true)
    await notFound(level.get(key))
    for (let i = 0; i < 50 && !(await level.has(key)); i++) await new Promise(resolve => setTimeout(resolve, 20))
    expect(text(await level.get(key))).to.equal('one')
  })

  it('hides a deleted key at once and deletes it from LevelDB on flush', async () => {
    const key = new Key('/peers/b')
    await level.put(key, bytes('old'))
    const ds = writeBehind(level, { flushMs: 60_000 })
    expect(text(await ds.get(key))).to.equal('old')
    await ds.delete(key)
    await notFound(ds.get(key))
    expect(await ds.has(key)).to.equal(false)
    expect(await level.has(key)).to.equal(true)
    await ds.flush()
    expect(await level.has(key)).to.equal(false)
  })

  it('says NotFoundError for a key nowhere, also the second time (from memory)', async () => {
    const ds = writeBehind(level)
    await notFound(ds.get(new Key('/peers/none')))
    await notFound(ds.get(new Key('/peers/none')))
    expect(await ds.has(new Key('/peers/none'))).to.equal(false)
    // Written after being found absent, it is there.
    await ds.put(new Key('/peers/none'), bytes('now'))
    expect(text(await ds.get(new Key('/peers/none')))).to.equal('now')
  })

  it('queries see pending puts and deletes laid over LevelDB, with prefix, filters, orders, offset and limit', async () => {
    await level.put(new Key('/dht/provider/x/1'), bytes('a'))
    await level.put(new Key('/dht/provider/x/2'), bytes('b'))
    await level.put(new Key('/dht/provider/y/1'), bytes('c'))
    const ds = writeBehind(level, { flushMs: 60_000 })
    await ds.delete(new Key('/dht/provider/x/1'))
    await ds.put(new Key('/dht/provider/x/2'), bytes('B'))
    await ds.put(new Key('/dht/provider/x/3'), bytes('C'))
    const pairs = await all(ds.query({ prefix: '/dht/provider/x' }))
    expect(pairs.map(p => `${p.key.toString()}=${text(p.value)}`).sort()).to.deep.equal(['/dht/provider/x/2=B', '/dht/provider/x/3=C'])
    // A keys-only query reads no values from LevelDB.
    const query = level.query.bind(level)
    let valuesRead = 0
    level.query = (...args) => { valuesRead++; return query(...args) }
    const keys = await all(ds.queryKeys({ prefix: '/dht/provider/' }))
    level.query = query
    expect(keys.map(k => k.toString()).sort()).to.deep.equal(['/dht/provider/x/2', '/dht/provider/x/3', '/dht/provider/y/1'])
    expect(valuesRead).to.equal(0)
    const byKeyDesc = (a: Pair, b: Pair): -1 | 0 | 1 => Math.sign(b.key.toString().localeCompare(a.key.toString())) as -1 | 0 | 1
    const page = await all(ds.query({ prefix: '/dht/', filters: [(p) => text(p.value) !== 'c'], orders: [byKeyDesc], offset: 1, limit: 1 }))
    expect(page.map(p => p.key.toString())).to.deep.equal(['/dht/provider/x/2'])
    // Nothing was written to LevelDB by the queries.
    expect(text(await level.get(new Key('/dht/provider/x/2')))).to.equal('b')
  })

  it('close writes what is pending and closes LevelDB; a reopened store has it', async () => {
    const ds = writeBehind(level, { flushMs: 60_000 })
    const b = ds.batch()
    b.put(new Key('/peers/c'), bytes('three'))
    b.put(new Key('/peers/d'), bytes('four'))
    b.delete(new Key('/peers/d'))
    await b.commit()
    await ds.close()
    await ds.put(new Key('/peers/e'), bytes('late')).then(() => { throw new Error('a closed datastore took a write') }, (err: Error) => { expect(err.message).to.match(/closed/) })
    const again = new LevelDatastore(dir.path)
    await again.open()
    try {
      expect(text(await again.get(new Key('/peers/c')))).to.equal('three')
      expect(await again.has(new Key('/peers/d'))).to.equal(false)
    } finally {
      await again.close()
    }
  })

  it('keeps the read cache within its bytes: a value let go is read again from LevelDB', async () => {
    const ds = writeBehind(level, { cacheBytes: 1000 })
    for (let i = 0; i < 10; i++) await ds.put(new Key(`/peers/${i}`), new Uint8Array(300).fill(i))
    await ds.flush()
    const cache = ds as unknown as { cache: Map<string, Uint8Array>, cacheBytes: number }
    expect(cache.cacheBytes).to.be.at.most(1000)
    expect(cache.cache.size).to.equal(3)
    for (let i = 0; i < 10; i++) expect((await ds.get(new Key(`/peers/${i}`)))[0]).to.equal(i)
    expect(cache.cacheBytes).to.be.at.most(1000)
  })

  it('a write made while LevelDB is read wins over what the read returns', async () => {
    const key = new Key('/peers/race')
    let release: () => void = () => {}
    const gate = new Promise<void>(resolve => { release = resolve })
    // The slow store: its read returns the old value only once the write below is made.
    const slow = {
      get: async () => { await gate; return bytes('stale') },
      has: async () => true,
      batch: () => ({ put () {}, delete () {}, commit: async () => {} })
    } as unknown as Datastore
    const ds = writeBehind(slow, { flushMs: 60_000 })
    const reading = ds.get(key)
    await ds.put(key, bytes('fresh'))
    release()
    expect(text(await reading)).to.equal('fresh')
    expect(text(await ds.get(key))).to.equal('fresh')
  })

  it('reads a write whose flush is under way as written, not as the store still has it', async () => {
    await level.put(new Key('/peers/put'), bytes('old'))
    await level.put(new Key('/peers/gone'), bytes('old'))
    let release: () => void = () => {}
    const gate = new Promise<void>(resolve => { release = resolve })
    // LevelDB, but a batch lands only once released; no value fits the cache.
    const slowBatches = Object.assign(Object.create(level) as LevelDatastore, {
      batch: () => {
        const b = level.batch()
        return { put: b.put.bind(b), delete: b.delete.bind(b), commit: async () => { await gate; await b.commit() } }
      }
    })
    const ds = writeBehind(slowBatches, { flushMs: 60_000, cacheBytes: 0 })
    await ds.put(new Key('/peers/put'), bytes('new'))
    await ds.delete(new Key('/peers/gone'))
    const flushing = ds.flush()
    expect(text(await ds.get(new Key('/peers/put')))).to.equal('new')
    await notFound(ds.get(new Key('/peers/gone')))
    expect((await all(ds.queryKeys({ prefix: '/peers/' }))).map(k => k.toString())).to.deep.equal(['/peers/put'])
    release()
    await flushing
    expect(text(await level.get(new Key('/peers/put')))).to.equal('new')
    expect(text(await ds.get(new Key('/peers/put')))).to.equal('new')
    await notFound(ds.get(new Key('/peers/gone')))
  })

  it('keeps the writes a failing store refuses, tries them again, and refuses new ones past four times its pending bound', async () => {
    let fail = true
    const written: string[] = []
    const failing = {
      batch: () => {
        const keys: string[] = []
        return { put (k: Key) { keys.push(k.toString()) }, delete () {}, commit: async () => { if (fail) throw new Error('disk full'); written.push(...keys) } }
      }
    } as unknown as Datastore
    const errors: string[] = []
    const ds = writeBehind(failing, { flushMs: 10, pendingEntries: 4, onFlushError: (err) => errors.push(err.message) })
    let refused: Error | undefined
    for (let i = 0; i < 40 && refused === undefined; i++) {
      await ds.put(new Key(`/peers/${i}`), bytes(String(i))).catch((err: Error) => { refused = err })
    }
    expect(refused?.message).to.equal('disk full')
    // The flushes the timer starts fail too, and say so.
    for (let i = 0; i < 100 && errors.length === 0; i++) await new Promise(resolve => setTimeout(resolve, 10))
    expect(errors.length).to.be.greaterThan(0)
    // What was taken is still readable from memory and reaches the store once it works again.
    expect(text(await ds.get(new Key('/peers/0')))).to.equal('0')
    fail = false
    await ds.flush()
    expect(written.length).to.equal(16)
    expect(written).to.include('/peers/0')
  })
})
