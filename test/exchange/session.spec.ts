// The fetch session against fake providers and a hand-moved clock: which provider is asked
// for what, when work moves, and what the session reports. Nothing here waits on real time.
import type { PeerId } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import { expect } from 'chai'
import { PeerPenalties } from '../../src/exchange/penalties.js'
import { INITIAL_WINDOW, MAY_BE_SENT, STUCK_MS } from '../../src/exchange/scheduler.js'
import { ENOUGH_PROVIDERS, FetchSession, type SessionProgressEvents } from '../../src/exchange/session.js'
import * as dagCbor from '@ipld/dag-cbor'
import { cidOf } from '../../src/hash/index.js'
import { CheckingSink, FakeClock, FakeNetwork, makeBlocks, type FakeChannel, quietLogger, settled, type Block, type FakeProviderInit } from './fakes.js'

const root = cidOf(Uint8Array.of(0))

async function setup (providers: FakeProviderInit[], options: { window?: number, requestTimeout?: number, heldBytes?: number, reachableAnew?: (peer: PeerId) => boolean } = {}): Promise<{
  clock: FakeClock, net: FakeNetwork, sink: CheckingSink, penalties: PeerPenalties, peers: PeerId[], session: FetchSession, events: SessionProgressEvents[]
}> {
  const clock = new FakeClock()
  const net = new FakeNetwork(clock)
  const sink = new CheckingSink()
  const penalties = new PeerPenalties(clock.now)
  const peers: PeerId[] = []
  for (const [i, p] of providers.entries()) peers.push(await net.provider(i + 1, p))
  const events: SessionProgressEvents[] = []
  const { reachableAnew, ...sessionOptions } = options
  const session = new FetchSession(root, { openChannel: net.openChannel, reachableAnew, clock, sink, penalties, logger: quietLogger }, { ...sessionOptions, onProgress: (e) => { events.push(e) } })
  return { clock, net, sink, penalties, peers, session, events }
}

/** Wants every block (in order), then gets each: the results, in order. */
function fetchAll (session: FetchSession, blocks: Block[]): Promise<Array<Uint8Array | undefined>> {
  session.want(blocks.map(b => b.cid))
  return Promise.all(blocks.map(async b => await session.get(b.cid)))
}

/**
 * Every provider added and discovery complete, then every block wanted (fetchAll): the results
 * to come, and each provider's channel once the session has done what it can.
 */
async function fetchingFromAll ({ net, peers, session }: { net: FakeNetwork, peers: PeerId[], session: FetchSession }, blocks: Block[]): Promise<{ all: Promise<Array<Uint8Array | undefined>>, channels: FakeChannel[] }> {
  for (const p of peers) session.addProvider(p)
  session.providersComplete()
  const all = fetchAll(session, blocks)
  await settled()
  return { all, channels: peers.map(p => net.channel(p)) }
}

const keys = (blocks: Block[]): string[] => blocks.map(b => b.cid.toString())

describe('exchange: fetch session', () => {
  let sessions: FetchSession[] = []
  afterEach(() => { for (const s of sessions) s.close(); sessions = [] })
  async function started (...args: Parameters<typeof setup>): ReturnType<typeof setup> {
    const s = await setup(...args)
    sessions.push(s.session)
    s.session.start()
    return s
  }

  it('opens no channel and sets no timer before start(), and stops its timers at close()', async () => {
    const blocks = makeBlocks(2)
    const { clock, net, peers, session } = await setup([{ holds: blocks }])
    session.addProvider(peers[0])
    session.want(blocks.map(b => b.cid))
    await settled()
    expect(net.opened).to.deep.equal([])
    expect(clock.pending).to.equal(0)
    session.start()
    await settled()
    expect(net.opened).to.deep.equal([peers[0].toString()])
    expect(clock.pending).to.equal(2) // the timeout and straggler checks; the open's own timeout was cleared
    expect(await session.get(blocks[0].cid)).to.deep.equal(blocks[0].bytes)
    session.close()
    expect(clock.pending).to.equal(0)
    expect(net.channel(peers[0]).open).to.equal(false)
  })

  it('keeps at most `window` requests in flight at each provider, refilling each as it answers', async () => {
    const blocks = makeBlocks(40)
    const { net, peers, session } = await started([{ holds: blocks, auto: false }, { holds: blocks, auto: false }], { window: 4 })
    const { all, channels: [a, b] } = await fetchingFromAll({ net, peers, session }, blocks)
    expect([a.outstanding, b.outstanding]).to.deep.equal([4, 4])
    for (let i = 0; i < 10; i++) {
      a.answerNext()
      await settled()
      expect([a.outstanding, b.outstanding]).to.deep.equal([4, 4])
    }
    expect(a.asked).to.have.length(14)
    expect(b.asked).to.have.length(4)
    while (a.outstanding + b.outstanding > 0) {
      a.answerNext()
      b.answerNext()
      await settled()
    }
    expect(await all).to.deep.equal(blocks.map(b => b.bytes))
    expect([a.maxOutstanding, b.maxOutstanding]).to.deep.equal([4, 4])
    // Each block asked of one provider only.
    expect([...a.asked, ...b.asked].sort()).to.deep.equal(keys(blocks).sort())
    const stats = session.stats()
    expect(stats.map(s => s.blocks)).to.deep.equal([a.asked.length, b.asked.length])
    expect(stats.every(s => !s.dropped)).to.equal(true)
  })

  it('has an idle provider race the awaited requests of a slower one once it stalls, keeping the late copies', async () => {
    const blocks = makeBlocks(4)
    const { clock, net, peers, session, penalties } = await started([{ holds: blocks, auto: false }, { holds: blocks, auto: false }], { window: 2 })
    const { all, channels: [a, b] } = await fetchingFromAll({ net, peers, session }, blocks)
    expect(a.asked).to.deep.equal(keys(blocks.slice(0, 2)))
    expect(b.asked).to.deep.equal(keys(blocks.slice(2)))
    await clock.advance(10)
    a.answerNext()
    a.answerNext()
    await settled()
    // The slow one's requests are 10 ms old, no longer than a's own blocks took: left there.
    expect(a.asked).to.have.length(2)
    await clock.advance(1000)
    // Now it is stalling (its first request has waited over four of a's block times and half a
    // second): the reader waits for both of its blocks, so a races both; neither is cancelled at
    // b, whose queue may be in its socket's buffer already (a pause sends it out afterwards).
    expect(a.asked).to.deep.equal(keys(blocks))
    expect(b.cancelled).to.deep.equal([])
    a.answerNext()
    a.answerNext()
    expect(await all).to.deep.equal(blocks.map(b => b.bytes))
    expect(b.outstanding).to.equal(2)
    b.answerNext()
    b.answerNext()
    await settled()
    // Its late copies are taken and counted as duplicate, not thrown away on arrival.
    expect(session.stats().map(s => [s.blocks, s.duplicateBytes, s.dropped])).to.deep.equal([[4, 0, false], [0, blocks[2].bytes.byteLength + blocks[3].bytes.byteLength, false]])
    expect(penalties.list()).to.deep.equal([])
  })

  /**
   * Two providers, a window of 2 each: a serves the first two blocks; b sits on the other two,
   * read ahead, until it is stuck (STUCK_MS). `asked`: b's requests before that.
   */
  async function stuckSecond (): Promise<Awaited<ReturnType<typeof setup>> & { blocks: Block[], a: FakeChannel, b: FakeChannel, asked: Array<{ id: bigint, cid: CID }> }> {
    const blocks = makeBlocks(4)
    const s = await started([{ holds: blocks, auto: false }, { holds: blocks, auto: false }], { window: 2 })
    for (const p of s.peers) s.session.addProvider(p)
    s.session.providersComplete()
    // Only the first block is awaited: the others are read ahead, so a pause is not raced.
    s.session.want(blocks.map(b => b.cid))
    const first = s.session.get(blocks[0].cid)
    await settled()
    const [a, b] = s.peers.map(p => s.net.channel(p))
    a.answerNext()
    a.answerNext()
    await first
    const asked = b.openIds
    await s.clock.advance(1000)
    expect(a.asked).to.have.length(2)
    await s.clock.advance(STUCK_MS)
    return { ...s, blocks, a, b, asked }
  }

  it('moves the queue of a provider stuck for STUCK_MS to an idle one, cancelling it there', async () => {
    const { blocks, a, b, session } = await stuckSecond()
    // Stuck: the request behind its head moves to a; its head, maybe on the wire, is left.
    expect(a.asked).to.deep.equal(keys([blocks[0], blocks[1], blocks[3]]))
    expect(b.cancelled).to.deep.equal(keys(blocks.slice(3)))
    a.answerNext()
    expect(await session.get(blocks[3].cid)).to.deep.equal(blocks[3].bytes)
  })

  for (const first of ['the cancelled copy', 'the moved copy'] as const) {
    it(`keeps the block a cancelled request still gets, ${first} first: stored while wanted, a duplicate once stored`, async () => {
      const { blocks, a, b, asked, peers, session, sink } = await stuckSecond()
      // b's request for block 3 moved to a and was cancelled at b, whose bytes were on the wire already.
      const moved = asked.find(r => r.cid.equals(blocks[3].cid))?.id as bigint
      expect(b.cancelled).to.deep.equal(keys(blocks.slice(3)))
      if (first === 'the cancelled copy') b.answerId(moved)
      else a.answerNext()
      await settled()
      expect(sink.stored.has(blocks[3].cid.toString())).to.equal(true)
      if (first === 'the cancelled copy') a.answerNext()
      else b.answerId(moved)
      await settled()
      expect(await session.get(blocks[3].cid)).to.deep.equal(blocks[3].bytes)
      const [sa, sb] = peers.map(p => session.stats().find(s => s.peer === p.toString()))
      const [stored, duplicate] = first === 'the cancelled copy' ? [sb, sa] : [sa, sb]
      expect(stored?.blocks).to.be.at.least(1)
      expect(duplicate?.duplicateBytes).to.equal(blocks[3].bytes.byteLength)
      expect(stored?.duplicateBytes).to.equal(0)
      expect((sa?.blocks ?? 0) + (sb?.blocks ?? 0)).to.equal(3)
    })
  }

  it('holds at most heldBytes of fetched blocks for the reader, letting go of those furthest ahead (stored, and no longer wanted)', async () => {
    const blocks = makeBlocks(10)
    const { net, peers, session, sink } = await started([{ holds: blocks, auto: false }], { window: 10, heldBytes: 4 * 64 })
    session.addProvider(peers[0])
    session.providersComplete()
    session.want(blocks.map(b => b.cid))
    await settled()
    const a = net.channel(peers[0])
    // The reader waits for the first block; the others come before anyone asks for them.
    const first = session.get(blocks[0].cid)
    while (a.outstanding > 0) {
      a.answerNext()
      await settled()
    }
    expect(await first).to.deep.equal(blocks[0].bytes)
    // All ten stored; of the nine nobody waited for, the four nearest the reader are held.
    expect(sink.stored.size).to.equal(10)
    expect(blocks.map(b => session.wanted(b.cid))).to.deep.equal([false, true, true, true, true, false, false, false, false, false])
    for (const b of blocks.slice(1, 5)) expect(await session.get(b.cid)).to.deep.equal(b.bytes)
    expect(a.asked).to.have.length(10)
  })

  it('moves a request behind the first MAY_BE_SENT of a busy provider\'s queue to one that joins, and races a head only when that saves half its wait', async () => {
    const blocks = makeBlocks(12)
    const { clock, net, peers, session } = await started([{ holds: blocks, auto: false }, { holds: blocks, auto: false }], { window: 8 })
    session.addProvider(peers[0])
    const all = fetchAll(session, blocks)
    await settled()
    const a = net.channel(peers[0])
    // a serves a block every 10 ms; measured, it keeps its whole window of eight asked (the
    // last eight blocks: nothing is left queued for a provider that joins).
    for (let t = 0; t < 4; t++) {
      await clock.advance(10)
      a.answerNext()
      await settled()
    }
    expect(a.outstanding).to.equal(8)
    const head = a.openRequests.slice(0, MAY_BE_SENT)
    // b joins: requests behind the first MAY_BE_SENT of a's queue (those perhaps on the wire)
    // move to it, cancelled at a while still queued there (a fake channel records a cancel only
    // of a request it holds); a's head is left.
    session.addProvider(peers[1])
    session.providersComplete()
    await settled()
    const b = net.channel(peers[1])
    expect(a.cancelled.length).to.be.at.least(1)
    expect(a.cancelled.every(k => b.asked.includes(k) && !head.includes(k))).to.equal(true)
    // Now b serves a block every 100 ms, a every 10 ms.
    for (let t = 0; t < 200 && a.outstanding + b.outstanding > 0; t++) {
      await clock.advance(10)
      a.answerNext()
      if (t % 10 === 9) b.answerNext()
      await settled()
    }
    expect(await all).to.deep.equal(blocks.map(b => b.bytes))
    // Nothing came twice: b's head, on the wire, was not raced by a (10 ms against b's wait).
    expect(session.stats().reduce((n, s) => n + s.blocks, 0)).to.equal(blocks.length)
  })

  it('times a provider on its chunks, not on the small DAG nodes it sent first: a slow link is not handed a window of chunks', async () => {
    // A file's DAG nodes (dag-cbor, small) come before its chunks (raw, large): timed on the
    // nodes, a 50 Mbit/s link looked fast and was handed 16 chunks at once.
    const nodes = makeBlocks(4).map(b => ({ bytes: b.bytes, cid: cidOf(b.bytes, dagCbor.code) }))
    const chunks = makeBlocks(20, 64 * 1024).slice(4)
    const { clock, net, peers, session } = await started([{ holds: [...nodes, ...chunks], auto: false }], { window: 16 })
    session.addProvider(peers[0])
    session.providersComplete()
    const all = fetchAll(session, [...nodes, ...chunks])
    await settled()
    const a = net.channel(peers[0])
    for (let i = 0; i < nodes.length; i++) {
      await clock.advance(1)
      a.answerNext()
      await settled()
    }
    // Still unmeasured: the initial window, not 16.
    expect(a.outstanding).to.equal(INITIAL_WINDOW)
    // A chunk every 100 ms: its window is 1 + (200 ms over 100 ms).
    for (let t = 0; t < 100 && a.outstanding > 0; t++) {
      await clock.advance(100)
      a.answerNext()
      await settled()
      expect(a.outstanding).to.be.at.most(INITIAL_WINDOW)
    }
    expect(a.maxOutstanding).to.equal(INITIAL_WINDOW)
    expect(await all).to.deep.equal([...nodes, ...chunks].map(b => b.bytes))
    expect(a.cancelled).to.deep.equal([])
    expect(session.stats()[0].blocks).to.equal(nodes.length + chunks.length)
  })

  it('moves the requests of a provider that leaves mid-fetch to the others, without penalising it', async () => {
    const blocks = makeBlocks(12)
    const { net, peers, session, penalties, events } = await started([{ holds: blocks, auto: false }, { holds: blocks, auto: false }], { window: 4 })
    const { all, channels: [a, b] } = await fetchingFromAll({ net, peers, session }, blocks)
    a.answerNext()
    a.answerNext()
    await settled()
    const stranded = a.openRequests
    expect(stranded).to.have.length(4)
    a.leave()
    await settled()
    while (b.outstanding > 0) {
      b.answerNext()
      await settled()
    }
    expect(await all).to.deep.equal(blocks.map(b => b.bytes))
    expect(b.asked).to.include.members(stranded)
    const [left, stayed] = session.stats()
    expect(left).to.include({ blocks: 2, dropped: true })
    expect(left.reason).to.match(/closed the exchange stream/)
    expect(stayed).to.include({ blocks: 10, dropped: false })
    expect(penalties.list()).to.deep.equal([])
    expect(events.filter(e => e.type === 'exchange:session:provider').map(e => e.detail.status)).to.deep.equal(['joined', 'joined', 'dropped'])
  })

  it('opens a provider\'s stream again when it broke and the provider is reachable anew (a relay replaced by a punched connection), twice at most', async () => {
    const blocks = makeBlocks(12)
    const { net, peers, session, penalties, events } = await started([{ holds: blocks, auto: false }], { window: 4, reachableAnew: () => true })
    session.addProvider(peers[0])
    session.providersComplete()
    const all = fetchAll(session, blocks)
    await settled()
    const first = net.channel(peers[0])
    first.answerNext()
    await settled()
    first.leave()
    await settled()
    expect(net.opened).to.deep.equal([peers[0].toString(), peers[0].toString()])
    const second = net.channel(peers[0])
    expect(second).to.not.equal(first)
    // The requests stranded on the broken stream are asked again on the new one.
    second.answerNext()
    await settled()
    second.leave()
    await settled()
    const third = net.channel(peers[0])
    while (third.outstanding > 0) {
      third.answerNext()
      await settled()
    }
    expect(await all).to.deep.equal(blocks.map(b => b.bytes))
    expect(session.stats()[0]).to.include({ blocks: 12, dropped: false })
    expect(penalties.list()).to.deep.equal([])
    expect(events.filter(e => e.type === 'exchange:session:provider').map(e => e.detail.status)).to.deep.equal(['joined'])
  })

  it('drops a provider whose stream keeps breaking after two new ones, and one not reachable anew at once', async () => {
    const blocks = makeBlocks(8)
    const anew = new Set<string>()
    const { net, peers, session } = await started([{ holds: blocks, auto: false }, { holds: blocks, auto: false }], { window: 2, reachableAnew: (p) => anew.has(p.toString()) })
    anew.add(peers[0].toString())
    for (const p of peers) session.addProvider(p)
    session.providersComplete()
    const all = fetchAll(session, blocks)
    for (let i = 0; i < 3; i++) {
      await settled()
      net.channel(peers[0]).leave()
    }
    await settled()
    net.channel(peers[1]).leave()
    await settled()
    expect(net.opened.filter(p => p === peers[0].toString())).to.have.length(3)
    expect(net.opened.filter(p => p === peers[1].toString())).to.have.length(1)
    expect(session.stats().map(s => s.dropped)).to.deep.equal([true, true])
    expect((await all).every(b => b === undefined)).to.equal(true)
  })

  it('drops a provider that answers nothing for the request timeout, and fetches its blocks elsewhere', async () => {
    const blocks = makeBlocks(6)
    const { clock, net, peers, session, penalties } = await started([{ holds: blocks, auto: false }, { holds: blocks }], { requestTimeout: 2000 })
    session.addProvider(peers[0])
    const all = fetchAll(session, blocks)
    await settled()
    const silent = net.channel(peers[0])
    // A provider not measured yet is asked for INITIAL_WINDOW blocks at first.
    expect(silent.outstanding).to.equal(INITIAL_WINDOW)
    await clock.advance(1999)
    expect(silent.open).to.equal(true)
    await clock.advance(1)
    expect(silent.open).to.equal(false)
    expect(session.stats()[0].reason).to.equal(`answered nothing for 2 s (${INITIAL_WINDOW} blocks and 0 HAVE queries outstanding)`)
    expect(penalties.list()[0]).to.include({ peer: peers[0].toString(), banned: false }).and.to.have.deep.property('offences', ['timeout'])
    session.addProvider(peers[1])
    session.providersComplete()
    expect(await all).to.deep.equal(blocks.map(b => b.bytes))
    expect(net.channel(peers[1]).asked.sort()).to.deep.equal(keys(blocks).sort())
  })

  it('gives up a request a provider passed over once it times out, and keeps the provider', async () => {
    const blocks = makeBlocks(3)
    const { clock, net, peers, session, penalties } = await started([{ holds: blocks, auto: false }], { requestTimeout: 2000 })
    session.addProvider(peers[0])
    session.providersComplete()
    const all = fetchAll(session, blocks)
    await settled()
    const a = net.channel(peers[0])
    await clock.advance(100)
    a.answer(blocks[1].cid)
    await clock.advance(100)
    a.answer(blocks[2].cid)
    await clock.advance(1799)
    expect(a.cancelled).to.deep.equal([])
    await clock.advance(1)
    expect(a.cancelled).to.deep.equal(keys(blocks.slice(0, 1)))
    // The only provider now lacks it: missing, for the caller to rebuild from parity.
    expect(await all).to.deep.equal([undefined, blocks[1].bytes, blocks[2].bytes])
    expect(session.stats()[0]).to.include({ blocks: 2, dropped: false })
    expect(penalties.list()[0].offences).to.deep.equal(['timeout'])
    expect(a.open).to.equal(true)
  })

  it('bans a provider whose block fails its CID and fetches that block from another', async () => {
    const blocks = makeBlocks(4)
    const { net, peers, session, penalties, sink } = await started([{ holds: blocks, corrupts: [blocks[0].cid] }, { holds: blocks }])
    for (const p of peers) session.addProvider(p)
    session.providersComplete()
    expect(await fetchAll(session, blocks)).to.deep.equal(blocks.map(b => b.bytes))
    const [liar, honest] = session.stats()
    expect(liar.dropped).to.equal(true)
    expect(liar.reason).to.equal(`sent a block that does not match its CID ${blocks[0].cid.toString()}`)
    expect(penalties.isBanned(peers[0])).to.equal(true)
    expect(net.channel(peers[1]).asked.filter(k => k === blocks[0].cid.toString())).to.have.length(1)
    expect(liar.blocks + honest.blocks).to.equal(4)
    expect([...sink.stored.keys()].sort()).to.deep.equal(keys(blocks).sort())
  })

  it('asks another provider for a block one answered DONT_HAVE for, and never asks the first again', async () => {
    const blocks = makeBlocks(4)
    const { net, peers, session, penalties } = await started([{ holds: blocks, refuses: [blocks[1].cid] }, { holds: blocks.slice(1, 2) }])
    session.addProvider(peers[0])
    const all = fetchAll(session, blocks)
    await settled()
    const a = net.channel(peers[0])
    expect(a.asked.sort()).to.deep.equal(keys(blocks).sort())
    expect(a.outstanding).to.equal(0)
    // The refused block waits for another provider rather than going back to the first.
    session.addProvider(peers[1])
    session.providersComplete()
    expect(await all).to.deep.equal(blocks.map(b => b.bytes))
    expect(a.asked).to.have.length(4)
    expect(net.channel(peers[1]).asked).to.deep.equal(keys(blocks.slice(1, 2)))
    expect(session.stats().map(s => s.blocks)).to.deep.equal([3, 1])
    expect(penalties.list()).to.deep.equal([])
  })

  it('asks a provider that said yes to every HAVE for more blocks without asking whether it holds them', async () => {
    const blocks = makeBlocks(4)
    const { net, peers, session } = await started([{ holds: blocks, auto: false, autoHave: false }])
    session.addProvider(peers[0])
    session.providersComplete()
    const first = fetchAll(session, blocks.slice(0, 2))
    await settled()
    const a = net.channel(peers[0])
    // Nothing is asked for before the provider says what it holds.
    expect(a.asked).to.deep.equal([])
    a.answerHaves()
    await settled()
    expect(a.asked).to.deep.equal(keys(blocks.slice(0, 2)))
    // A HAVE's answer would queue behind the blocks it sends: the blocks are asked for at once, with no HAVE.
    const rest = fetchAll(session, blocks.slice(2))
    await settled()
    expect(a.asked).to.deep.equal(keys(blocks))
    expect(a.haveQueries).to.equal(1)
    while (a.outstanding > 0) { a.answerNext(); await settled() }
    a.answerHaves()
    expect([...await first, ...await rest]).to.deep.equal(blocks.map(b => b.bytes))
  })

  it('opens a new stream to a provider whose stream ended while nothing was asked of it, once something is wanted', async () => {
    const blocks = makeBlocks(4)
    const { net, peers, session, events, penalties } = await started([{ holds: blocks }])
    session.addProvider(peers[0])
    session.providersComplete()
    expect(await fetchAll(session, blocks.slice(0, 2))).to.deep.equal(blocks.slice(0, 2).map(b => b.bytes))
    const first = net.channel(peers[0])
    expect(first.outstanding).to.equal(0)
    // Its idle timeout while the reader lagged: nothing is opened until something is wanted.
    first.leave()
    await settled()
    expect(net.opened).to.have.length(1)
    expect(session.stats()[0]).to.include({ dropped: false })
    expect(await fetchAll(session, blocks.slice(2))).to.deep.equal(blocks.slice(2).map(b => b.bytes))
    expect(net.opened).to.have.length(2)
    expect(net.channel(peers[0]).asked).to.deep.equal(keys(blocks.slice(2)))
    expect(session.stats()[0]).to.include({ blocks: 4, dropped: false })
    expect(events.filter(e => e.type === 'exchange:session:provider').map(e => e.detail.status)).to.deep.equal(['joined'])
    expect(penalties.list()).to.deep.equal([])
  })

  it('drops a provider whose stream ended while idle and cannot be reached for a new one as gone, not as lacking what is wanted', async () => {
    const blocks = makeBlocks(4)
    const { net, peers, session } = await started([{ holds: blocks }])
    session.addProvider(peers[0])
    session.providersComplete()
    expect(await fetchAll(session, blocks.slice(0, 2))).to.deep.equal(blocks.slice(0, 2).map(b => b.bytes))
    // Presumed to hold the rest (no HAVE would have found out), and killed.
    net.unreachable.add(peers[0].toString())
    net.channel(peers[0]).leave()
    await settled()
    expect(await fetchAll(session, blocks.slice(2))).to.deep.equal([undefined, undefined])
    const [gone] = session.stats()
    expect(gone).to.include({ dropped: true, failure: 'went-away', blocks: 2 })
    expect(gone.reason).to.include('no such peer')
  })

  it('asks a provider that holds part of the root for nothing more on presumption after its first DONT_HAVE, and counts no refusal', async () => {
    const blocks = makeBlocks(6)
    const { net, peers, session, penalties } = await started([{ holds: blocks.slice(0, 2), autoHave: false }, { holds: blocks }])
    session.addProvider(peers[0])
    const first = fetchAll(session, blocks.slice(0, 2))
    await settled()
    const a = net.channel(peers[0])
    a.answerHaves()
    expect(await first).to.deep.equal(blocks.slice(0, 2).map(b => b.bytes))
    // Presumed to hold what follows, it is asked for it with no HAVE, and answers DONT_HAVE;
    // then it is asked whether it holds what is still unsettled.
    const next = fetchAll(session, blocks.slice(2, 4))
    await settled()
    expect(a.asked).to.deep.equal(keys(blocks.slice(0, 4)))
    expect(a.haveQueries).to.equal(2)
    session.addProvider(peers[1])
    session.providersComplete()
    expect(await next).to.deep.equal(blocks.slice(2, 4).map(b => b.bytes))
    // No longer presumed: asked for nothing it has not said it holds.
    const rest = fetchAll(session, blocks.slice(4))
    await settled()
    a.answerHaves()
    expect(await rest).to.deep.equal(blocks.slice(4).map(b => b.bytes))
    expect(a.asked).to.have.length(4)
    expect(session.stats().map(s => [s.blocks, s.reason])).to.deep.equal([[2, undefined], [4, undefined]])
    expect(penalties.list()).to.deep.equal([])
  })

  it('settles a block no provider holds as missing once discovery is complete, and says why a provider served nothing', async () => {
    const blocks = makeBlocks(2)
    const { peers, session } = await started([{ holds: blocks.slice(0, 1), refuses: [blocks[0].cid] }])
    session.addProvider(peers[0])
    let outcome: string = 'pending'
    const all = fetchAll(session, blocks).then(r => { outcome = 'settled'; return r })
    await settled()
    // Another provider may still be found.
    expect(outcome).to.equal('pending')
    session.providersComplete()
    expect(await all).to.deep.equal([undefined, undefined])
    expect(session.stats()[0]).to.deep.equal({ peer: peers[0].toString(), blocks: 0, bytes: 0, duplicateBytes: 0, rate: 0, joinedMs: 0, dropped: false, reason: 'said it held 1 block, then answered DONT_HAVE for each' })
  })

  it(`looks a provider its known addresses failed for up anew only when it is needed: ${ENOUGH_PROVIDERS} others hold every block`, async () => {
    const blocks = makeBlocks(8)
    const { net, peers, session } = await started(Array.from({ length: ENOUGH_PROVIDERS + 1 }, () => ({ holds: blocks })))
    const moved = peers[ENOUGH_PROVIDERS]
    net.moved.add(moved.toString())
    for (const p of peers) session.addProvider(p)
    session.providersComplete()
    expect(await fetchAll(session, blocks)).to.deep.equal(blocks.map(b => b.bytes))
    expect(net.lookedUp).to.deep.equal([])
    const stats = session.stats().find(s => s.peer === moved.toString())
    expect(stats).to.deep.include({ blocks: 0, dropped: true, failure: 'unreachable' })
    expect(stats?.reason).to.match(/^cannot open an exchange stream: connection refused at its known address \(not looked up anew/)
  })

  it('looks a parked provider up anew for a block no live provider holds, and fetches it there', async () => {
    const blocks = makeBlocks(8)
    const setup = await started([...Array.from({ length: ENOUGH_PROVIDERS }, () => ({ holds: blocks.slice(0, 6) })), { holds: blocks }])
    const { net, peers, session } = setup
    const moved = peers[ENOUGH_PROVIDERS]
    net.moved.add(moved.toString())
    const { all } = await fetchingFromAll(setup, blocks)
    expect(await all).to.deep.equal(blocks.map(b => b.bytes))
    expect(net.lookedUp).to.deep.equal([moved.toString()])
    expect(session.stats().find(s => s.peer === moved.toString())).to.deep.include({ dropped: false })
    expect(session.stats().find(s => s.peer === moved.toString())?.blocks).to.be.at.least(2)
  })

  it(`looks a provider up anew at once when fewer than ${ENOUGH_PROVIDERS} others are live or connecting`, async () => {
    const blocks = makeBlocks(4)
    const setup = await started([{ holds: blocks }, { holds: blocks }])
    const { net, peers, session } = setup
    net.moved.add(peers[1].toString())
    const { all } = await fetchingFromAll(setup, blocks)
    expect(net.lookedUp).to.deep.equal([peers[1].toString()])
    expect(await all).to.deep.equal(blocks.map(b => b.bytes))
    expect(session.stats().map(s => s.dropped)).to.deep.equal([false, false])
  })

  it('reports when each provider joined, from the session\'s start, and none for one never reached', async () => {
    const blocks = makeBlocks(4)
    const { clock, net, peers, session } = await started([{ holds: blocks }, { holds: blocks }])
    session.addProvider(peers[0])
    const all = fetchAll(session, blocks)
    await settled()
    await clock.advance(1500)
    session.addProvider(peers[1])
    const nobody = await net.provider(9, { holds: [] })
    net.unreachable.add(nobody.toString())
    session.addProvider(nobody)
    session.providersComplete()
    await all
    expect(session.stats().map(s => s.joinedMs)).to.deep.equal([0, 1500, undefined])
  })
})
