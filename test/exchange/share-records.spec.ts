import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'chai'
import { SHARE_RECORDS_FILE, ShareRecordsFile } from '../../src/repo/share-records-file.js'
import { REFETCH_GAP, ShareRecords, type ShareEvent } from '../../src/exchange/share-records.js'
import { tempDir } from '../helpers/repo.js'

const receipt = { bytes: 10, blocks: 1, started: 1, completed: 2 }

describe('share records', () => {
  it('records a receiver as fetching while it is served, then completed by its receipt', () => {
    let now = 1000
    const records = new ShareRecords({}, () => now)
    const events: ShareEvent[] = []
    records.subscribe(e => events.push(e))
    records.served('peerB', 'rootA', 100)
    now += 10
    records.served('peerB', 'rootA', 50)
    expect(records.list()).to.deep.equal([{ root: 'rootA', receivers: [{ peer: 'peerB', state: 'fetching', sentBytes: 150, sentBlocks: 2, firstSent: 1000, lastSent: 1010 }] }])
    // Progress is sent at most once a second per receiver; completion at once.
    expect(events.map(e => e.receiver.state)).to.deep.equal(['fetching'])
    now += 5
    expect(records.receipt('peerB', 'rootA', { bytes: 150, blocks: 2, started: 900, completed: 1012 })).to.equal(true)
    const [r] = records.list()[0].receivers
    expect(r).to.include({ state: 'completed', completedAt: 1015, sentBytes: 150 })
    expect(r.receipt).to.deep.equal({ bytes: 150, blocks: 2, started: 900, completed: 1012 })
    expect(events.map(e => e.receiver.state)).to.deep.equal(['fetching', 'completed'])
  })

  it('takes no receipt for a root it did not serve the peer, so receipts make no records', () => {
    const records = new ShareRecords()
    records.served('peerB', 'rootA', 1)
    expect(records.receipt('peerC', 'rootA', receipt)).to.equal(false)
    expect(records.receipt('peerB', 'unknown', receipt)).to.equal(false)
    for (let i = 0; i < 10_000; i++) records.receipt(`peer${i}`, `root${i}`, receipt)
    expect(records.size()).to.deep.equal({ roots: 1, receivers: 1 })
    expect(records.list()[0].receivers[0].state).to.equal('fetching')
  })

  it('keeps at most maxReceivers per root and maxRoots roots, the least recently changed dropped', () => {
    const records = new ShareRecords({ maxRoots: 8, maxReceivers: 4 })
    // Many peers on one root, then many roots: hostile numbers of both.
    for (let i = 0; i < 1000; i++) records.served(`peer${i}`, 'root0', 1)
    expect(records.size()).to.deep.equal({ roots: 1, receivers: 4 })
    expect(records.list()[0].receivers.map(r => r.peer)).to.deep.equal(['peer996', 'peer997', 'peer998', 'peer999'])
    for (let i = 1; i < 100_000; i++) records.served('peerX', `root${i}`, Number.MAX_SAFE_INTEGER)
    expect(records.size()).to.deep.equal({ roots: 8, receivers: 8 })
    expect(records.list().map(s => s.root)).to.deep.equal(Array.from({ length: 8 }, (_, i) => `root${99_992 + i}`))
    // A receipt moves its root to the end: the oldest others go first.
    expect(records.receipt('peerX', 'root99992', { bytes: Number.MAX_SAFE_INTEGER, blocks: Number.MAX_SAFE_INTEGER, started: 0, completed: Number.MAX_SAFE_INTEGER })).to.equal(true)
    records.served('peerY', 'rootNew', 1)
    expect(records.list().map(s => s.root)).to.not.include('root99993')
    expect(records.list().map(s => s.root)).to.include('root99992')
  })

  it('takes blocks soon after a receipt as the same fetch, and later ones as a new fetch', () => {
    let now = 0
    const records = new ShareRecords({}, () => now)
    records.served('peerB', 'rootA', 10)
    records.receipt('peerB', 'rootA', receipt)
    now += 1000
    records.served('peerB', 'rootA', 10) // a raced block still on its way
    expect(records.list()[0].receivers[0]).to.include({ state: 'completed', sentBytes: 20 })
    now += REFETCH_GAP + 1
    records.served('peerB', 'rootA', 7)
    expect(records.list()[0].receivers[0]).to.include({ state: 'fetching', sentBytes: 7, sentBlocks: 1 })
    expect(records.list()[0].receivers[0].receipt).to.equal(undefined)
  })
})

describe('share records: per-peer and total bounds, restore', () => {
  it('keeps at most maxRootsPerPeer roots of one peer and maxTotal receivers, the oldest dropped', () => {
    const records = new ShareRecords({ maxRootsPerPeer: 3, maxTotal: 5 })
    for (let i = 0; i < 1000; i++) records.served('greedy', `root${i}`, 1)
    expect(records.size()).to.deep.equal({ roots: 3, receivers: 3 })
    expect(records.list().map(s => s.root)).to.deep.equal(['root997', 'root998', 'root999'])
    for (let i = 0; i < 1000; i++) records.served(`peer${i}`, 'rootX', 1)
    expect(records.size()).to.deep.equal({ roots: 1, receivers: 5 })
    expect(records.list()[0].receivers.map(r => r.peer)).to.deep.equal(['peer995', 'peer996', 'peer997', 'peer998', 'peer999'])
  })

  it('restores what list gave, within its own bounds', () => {
    const records = new ShareRecords()
    records.served('peerB', 'root1', 10)
    records.served('peerC', 'root2', 20)
    records.receipt('peerC', 'root2', receipt)
    const copy = new ShareRecords()
    copy.restore(records.list())
    expect(copy.list()).to.deep.equal(records.list())
    const small = new ShareRecords({ maxTotal: 1 })
    small.restore(records.list())
    expect(small.list()).to.deep.equal([records.list()[1]])
  })
})

describe('share records file', () => {
  let dir: { path: string, cleanup: () => Promise<void> }
  beforeEach(async () => { dir = await tempDir('peerlink-share-records-') })
  afterEach(async () => { await dir.cleanup() })

  it('writes the records at stop and reads them back at start', async () => {
    const path = join(dir.path, SHARE_RECORDS_FILE)
    const records = new ShareRecords()
    const file = new ShareRecordsFile(path, records, (m) => { throw new Error(m) })
    await file.start()
    records.served('peerB', 'root1', 10)
    records.receipt('peerB', 'root1', receipt)
    await file.stop()
    const again = new ShareRecords()
    await new ShareRecordsFile(path, again, (m) => { throw new Error(m) }).start()
    expect(again.list()).to.deep.equal(records.list())
  })

  it('starts with no records, and says why, from a damaged or foreign file', async () => {
    const path = join(dir.path, SHARE_RECORDS_FILE)
    const bad = [
      '{"version":1,"shares":[{"root":"r","receivers":[{"peer":"p","state":"lost"}]}]}',
      '{"version":1,"shares":[{"root":"r","receivers":[{"peer":"p","state":"fetching","sentBytes":-1,"sentBlocks":0,"firstSent":0,"lastSent":0}]}]}',
      '{"version":2,"shares":[]}',
      '{"version":1,"sha'
    ]
    for (const text of bad) {
      await writeFile(path, text)
      const logged: string[] = []
      const records = new ShareRecords()
      const file = new ShareRecordsFile(path, records, (m) => { logged.push(m) })
      await file.start()
      expect(records.size(), text).to.deep.equal({ roots: 0, receivers: 0 })
      expect(logged, text).to.have.length(1)
      expect(logged[0]).to.include('not restored')
      await file.stop()
    }
  })
})
