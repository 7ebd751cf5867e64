// The fetch session's scheduling against simulated providers of given speeds and latencies, on
// the hand-moved clock (no network, no wall time). Each provider's link has a one-way delay:
// a request reaches the provider that long after it is sent, and so does a CANCEL; the provider
// sends the requests that have reached it in order, one block per service time, and a block it
// has started to send goes over its link whole even if the request is cancelled meanwhile (as on
// a real link), reaching the fetcher one delay after it is sent. A provider may also write up to
// `buffered` blocks ahead into its socket's send buffer as their requests reach it (a real one
// does, by megabytes, while the fetcher reads as fast as it comes): those are sent whatever a
// later CANCEL says, as the kernel sends what it was given. The fetch reads in order with a
// read-ahead, as an export does. What is checked: the time to the last block against what the
// links allow, and the bytes sent twice; and, in every case, that each block reaching the
// fetcher was stored or counted as duplicate, cancelled ones too.
import type { PeerId } from '@libp2p/interface'
import { expect } from 'chai'
import { PeerPenalties } from '../../src/exchange/penalties.js'
import { newProvider, timeArrival, type Inflight } from '../../src/exchange/provider-state.js'
import { FetchSession } from '../../src/exchange/session.js'
import { readAheadStripes } from '../../src/files/exporter.js'
import { cidOf } from '../../src/hash/index.js'
import { CheckingSink, FakeClock, FakeNetwork, makeBlocks, quietLogger, type Block, type FakeChannel } from './fakes.js'

const root = cidOf(Uint8Array.of(1))
const BLOCKS = 96
const BLOCK_SIZE = 64
const STEP_MS = 5

interface Spec { serviceMs: number, delayMs: number, stallAt?: number, resumeAt?: number, buffered?: number }

/** A request as the provider's end of the link sees it. */
interface Incoming { id: bigint, arrives: number, cancelled?: number }

interface Link extends Spec {
  peer: PeerId
  channel?: FakeChannel
  queue: Incoming[]
  /** Blocks written ahead into the socket's buffer, in order: sent even if cancelled. */
  written: bigint[]
  /** The block being sent, and when its last byte leaves. */
  sending?: { id: bigint, until: number }
  /** Blocks sent, and when each reaches the fetcher. */
  onTheWire: Array<{ id: bigint, at: number }>
  sent: number
}

interface Outcome { ms: number, sent: number, perProvider: number[] }

/** Fetches BLOCKS blocks from providers of the given service times and delays (ms). */
async function simulate (specs: Spec[]): Promise<Outcome> {
  const clock = new FakeClock()
  const net = new FakeNetwork(clock)
  const blocks = makeBlocks(BLOCKS, BLOCK_SIZE)
  const links: Link[] = []
  for (const [i, s] of specs.entries()) links.push({ peer: await net.provider(i + 1, { holds: blocks, auto: false }), ...s, queue: [], written: [], onTheWire: [], sent: 0 })
  const session = new FetchSession(root, { openChannel: net.openChannel, clock, sink: new CheckingSink(), penalties: new PeerPenalties(clock.now), logger: quietLogger })
  session.start()
  for (const l of links) session.addProvider(l.peer)
  session.providersComplete()
  const start = clock.now()
  const state = { done: false }
  const reading = read(session, blocks).then(() => { state.done = true })
  try {
    while (!state.done && clock.now() - start < 60_000) {
      for (const l of links) step(l, net, clock.now() - start)
      await clock.advance(STEP_MS)
    }
    await reading
  } finally {
    session.close()
  }
  const counted = session.stats().reduce((a, p) => a + p.bytes + p.duplicateBytes, 0) / BLOCK_SIZE
  const sent = links.reduce((a, l) => a + l.sent, 0)
  // Every block that reached the fetcher was stored or counted as duplicate, cancelled ones
  // too; only those still on their way when the fetch ended were not.
  const unarrived = links.reduce((a, l) => a + l.onTheWire.length + (l.sending !== undefined ? 1 : 0), 0)
  expect(counted, `counted ${counted} of ${sent} blocks sent, ${unarrived} still on their way`).to.equal(sent - unarrived)
  return { ms: clock.now() - start, sent, perProvider: links.map(l => l.sent) }
}

/** Reads every block in order, wanting as many beyond the one being read as the exporter would (stripes of one block). */
async function read (session: FetchSession, blocks: Block[]): Promise<void> {
  let wanted = 0
  for (let i = 0; i < blocks.length; i++) {
    const ahead = Math.min(blocks.length, i + 1 + readAheadStripes(session.depth(), 1))
    if (ahead > wanted) session.want(blocks.slice(wanted, ahead).map(b => b.cid))
    wanted = Math.max(wanted, ahead)
    const bytes = await session.get(blocks[i].cid)
    if (bytes === undefined) throw new Error(`block ${i} missing`)
  }
}

/** One provider's link at `now` (ms from the start). */
function step (l: Link, net: FakeNetwork, now: number): void {
  l.channel ??= net.channels.get(l.peer.toString())
  const c = l.channel
  if (c === undefined) return
  // Requests and cancels start their way to the provider.
  const open = new Set(c.openIds.map(r => r.id))
  for (const r of c.openIds) if (!l.queue.some(q => q.id === r.id) && !l.written.includes(r.id) && l.sending?.id !== r.id && !l.onTheWire.some(w => w.id === r.id)) l.queue.push({ id: r.id, arrives: now + l.delayMs })
  for (const q of l.queue) if (!open.has(q.id)) q.cancelled ??= now + l.delayMs
  // Blocks that reach the fetcher, cancelled ones too (the session keeps them).
  for (const w of l.onTheWire.filter(w => w.at <= now)) c.answerId(w.id)
  l.onTheWire = l.onTheWire.filter(w => w.at > now)
  if (l.stallAt !== undefined && now >= l.stallAt && (l.resumeAt === undefined || now < l.resumeAt)) return
  if (l.sending !== undefined && now >= l.sending.until) {
    l.onTheWire.push({ id: l.sending.id, at: l.sending.until + l.delayMs })
    l.sending = undefined
  }
  l.queue = l.queue.filter(q => q.cancelled === undefined || q.cancelled > now)
  const arrived = (): number => l.queue.findIndex(q => q.arrives <= now)
  for (let next = arrived(); next >= 0 && l.written.length < (l.buffered ?? 0); next = arrived()) l.written.push(l.queue.splice(next, 1)[0].id)
  const next = arrived()
  if (l.sending === undefined && (l.written.length > 0 || next >= 0)) {
    const id = l.written.shift() ?? l.queue.splice(next, 1)[0].id
    l.sending = { id, until: now + l.serviceMs }
    l.sent++
  }
}

const slow = (n: number, serviceMs: number, delayMs: number, buffered = 0): Spec[] => Array.from({ length: n }, () => ({ serviceMs, delayMs, buffered }))

describe('exchange: scheduling over slow links', function () {
  this.timeout(60_000)

  it('8 equal slow providers: the links add up, and almost nothing is sent twice', async () => {
    const r = await simulate(slow(8, 80, 20))
    const ideal = BLOCKS * 80 / 8
    expect(r.ms, `took ${r.ms} ms, ideal ${ideal}; sent ${r.sent} blocks (${r.perProvider.join(', ')})`).to.be.at.most(1.2 * ideal)
    expect(r.sent, `per provider ${r.perProvider.join(', ')}`).to.be.at.most(Math.floor(1.05 * BLOCKS))
  })

  it('8 equal slow providers writing ahead into their sockets, one pausing for 0.8 s: its queue is not sent twice', async () => {
    // A process on a loaded machine descheduled for a moment: what it wrote ahead goes out
    // when it resumes, so moving its queue elsewhere only sends those blocks twice.
    const r = await simulate([...slow(7, 168, 5, 3), { serviceMs: 168, delayMs: 5, buffered: 3, stallAt: 800, resumeAt: 1600 }])
    const ideal = BLOCKS * 168 / 8
    expect(r.ms, `took ${r.ms} ms, ideal ${ideal}; sent ${r.sent} blocks (${r.perProvider.join(', ')})`).to.be.at.most(1.25 * ideal)
    // The block the reader waited for is raced; nothing else is sent twice.
    expect(r.sent, `per provider ${r.perProvider.join(', ')}`).to.be.at.most(BLOCKS + 1)
  })

  it('times a 50 Mbit/s link by its rate, not by the bursts a fetcher waiting for a core reads its blocks in', async () => {
    const p = newProvider(await new FakeNetwork(new FakeClock()).provider(1, { holds: [] }))
    const serviceMs = 168
    const seen: number[] = []
    // Blocks reach the fetcher's socket every 168 ms; it reads them only every 600 ms, all at
    // once, a millisecond apart. Four requests are kept asked, each sent as one is read.
    const asked: Inflight[] = Array.from({ length: 4 }, (_, i) => ({ id: BigInt(i), started: 0, idle: i === 0 }))
    let next = 4
    let read = 0
    for (let t = 600; t <= 6000; t += 600) {
      const came = Math.floor(t / serviceMs)
      for (let k = 0; read < came; read++, k++) {
        const f = asked.shift() as Inflight
        timeArrival(p, f, t + k, 1024 * 1024)
        asked.push({ id: BigInt(next++), started: t + k, idle: false })
      }
      if (t >= 1800) seen.push(p.serviceMs)
    }
    for (const ms of seen) expect(ms, `measured ${seen.map(Math.round).join(', ')} ms`).to.be.within(0.8 * serviceMs, 1.3 * serviceMs)
  })

  it('1 fast and 7 slow providers: no slower than the fast one alone', async () => {
    const alone = await simulate([{ serviceMs: 10, delayMs: 10 }])
    const mixed = await simulate([{ serviceMs: 10, delayMs: 10 }, ...slow(7, 80, 20)])
    expect(mixed.ms, `mixed ${mixed.ms} ms (${mixed.perProvider.join(', ')}), fast alone ${alone.ms} ms`).to.be.at.most(alone.ms)
    expect(mixed.sent, `per provider ${mixed.perProvider.join(', ')}`).to.be.at.most(Math.floor(1.05 * BLOCKS))
  })

  it('1 fast and 7 slow providers writing ahead into their sockets, 20 times slower (an uncapped provider among 50 Mbit/s uplinks): no slower than the fast one alone', async () => {
    const alone = await simulate([{ serviceMs: 8, delayMs: 1 }])
    const mixed = await simulate([{ serviceMs: 8, delayMs: 1 }, ...slow(7, 168, 1, 3)])
    expect(mixed.ms, `mixed ${mixed.ms} ms (${mixed.perProvider.join(', ')}), fast alone ${alone.ms} ms`).to.be.at.most(alone.ms)
  })

  it('a provider that stalls mid-way: its blocks come from the others in bounded time', async () => {
    const r = await simulate([...slow(3, 40, 10), { serviceMs: 40, delayMs: 10, stallAt: 300 }])
    const ideal = BLOCKS * 40 / 3
    // Stalled for less than STUCK_MS (the whole fetch takes less), it is taken for a pause:
    // each of its blocks is raced when the reader reaches it, not all moved at once.
    expect(r.ms, `took ${r.ms} ms (${r.perProvider.join(', ')})`).to.be.at.most(1.6 * ideal)
    expect(r.sent, `per provider ${r.perProvider.join(', ')}`).to.be.at.most(Math.floor(1.05 * BLOCKS))
  })
})
