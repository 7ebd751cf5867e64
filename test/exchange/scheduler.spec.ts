// The fetch session's scheduling against simulated providers of given speeds, on the hand-moved
// clock: each provider sends the requests it has, in order, one block per service time, and a
// block it has started to send goes over its link whole even if the request is cancelled (as on
// a real link). The fetch reads in order with a read-ahead, as an export does. What is checked:
// the time to the last block against what the links allow, and the bytes sent twice.
import type { PeerId } from '@libp2p/interface'
import { expect } from 'chai'
import type { CID } from 'multiformats/cid'
import { PeerPenalties } from '../../src/exchange/penalties.js'
import { FetchSession } from '../../src/exchange/session.js'
import { cidOf } from '../../src/hash/index.js'
import { CheckingSink, FakeClock, FakeNetwork, makeBlocks, quietLogger, type Block, type FakeChannel } from './fakes.js'

const root = cidOf(Uint8Array.of(1))
const BLOCKS = 96
/** Blocks wanted ahead of the one being read, as the exporter's READ_AHEAD_BLOCKS. */
const READ_AHEAD = 24
const STEP_MS = 5

interface Link { peer: PeerId, serviceMs: number, stallAt?: number, channel?: FakeChannel, current?: string, busyUntil: number, sent: number }

interface Outcome { ms: number, sent: number, perProvider: number[] }

/** Fetches BLOCKS blocks from providers of the given service times (ms per block). */
async function simulate (speeds: Array<{ serviceMs: number, stallAt?: number }>): Promise<Outcome> {
  const clock = new FakeClock()
  const net = new FakeNetwork(clock)
  const blocks = makeBlocks(BLOCKS)
  const byKey = new Map(blocks.map(b => [b.cid.toString(), b.cid]))
  const links: Link[] = []
  for (const [i, s] of speeds.entries()) links.push({ peer: await net.provider(i + 1, { holds: blocks, auto: false }), ...s, busyUntil: 0, sent: 0 })
  const session = new FetchSession(root, { openChannel: net.openChannel, clock, sink: new CheckingSink(), penalties: new PeerPenalties(clock.now), logger: quietLogger })
  session.start()
  for (const l of links) session.addProvider(l.peer)
  session.providersComplete()
  const start = clock.now()
  const state = { done: false }
  const reading = read(session, blocks).then(() => { state.done = true })
  try {
    while (!state.done && clock.now() - start < 60_000) {
      for (const l of links) step(l, net, byKey, clock.now() - start)
      await clock.advance(STEP_MS)
    }
    await reading
  } finally {
    session.close()
  }
  return { ms: clock.now() - start, sent: links.reduce((a, l) => a + l.sent, 0), perProvider: links.map(l => l.sent) }
}

/** Reads every block in order, wanting READ_AHEAD beyond the one being read. */
async function read (session: FetchSession, blocks: Block[]): Promise<void> {
  session.want(blocks.slice(0, READ_AHEAD + 1).map(b => b.cid))
  for (let i = 0; i < blocks.length; i++) {
    const bytes = await session.get(blocks[i].cid)
    if (bytes === undefined) throw new Error(`block ${i} missing`)
    if (i + READ_AHEAD + 1 < blocks.length) session.want([blocks[i + READ_AHEAD + 1].cid])
  }
}

/** One provider's link at `now` (ms from the start): finishes the block on the wire, starts the next request. */
function step (l: Link, net: FakeNetwork, byKey: Map<string, CID>, now: number): void {
  l.channel ??= net.channels.get(l.peer.toString())
  const c = l.channel
  if (c === undefined || (l.stallAt !== undefined && now >= l.stallAt)) return
  if (l.current !== undefined && now >= l.busyUntil) {
    c.answer(byKey.get(l.current) as CID) // a cancelled one is gone: its bytes were sent for nothing
    l.current = undefined
  }
  if (l.current === undefined && c.outstanding > 0) {
    l.current = c.openRequests[0]
    l.busyUntil = now + l.serviceMs
    l.sent++
  }
}

describe('exchange: scheduling over slow links', function () {
  this.timeout(60_000)

  it('8 equal slow providers: the links add up, and almost nothing is sent twice', async () => {
    const r = await simulate(Array.from({ length: 8 }, () => ({ serviceMs: 80 })))
    const ideal = BLOCKS * 80 / 8
    expect(r.ms, `took ${r.ms} ms, ideal ${ideal}; sent ${r.sent} blocks (${r.perProvider.join(', ')})`).to.be.at.most(1.25 * ideal)
    expect(r.sent, `per provider ${r.perProvider.join(', ')}`).to.be.at.most(Math.ceil(1.05 * BLOCKS))
  })

  it('1 fast and 7 slow providers: no slower than the fast one alone', async () => {
    const alone = await simulate([{ serviceMs: 10 }])
    const mixed = await simulate([{ serviceMs: 10 }, ...Array.from({ length: 7 }, () => ({ serviceMs: 80 }))])
    expect(mixed.ms, `mixed ${mixed.ms} ms (${mixed.perProvider.join(', ')}), fast alone ${alone.ms} ms`).to.be.at.most(alone.ms)
    expect(mixed.sent).to.be.at.most(Math.ceil(1.1 * BLOCKS))
  })

  it('a provider that stalls mid-way: its blocks come from the others in bounded time', async () => {
    const r = await simulate([{ serviceMs: 40 }, { serviceMs: 40 }, { serviceMs: 40 }, { serviceMs: 40, stallAt: 300 }])
    const ideal = BLOCKS * 40 / 3
    expect(r.ms, `took ${r.ms} ms (${r.perProvider.join(', ')})`).to.be.at.most(1.5 * ideal)
  })
})
