// A stream refused for want of room whose peer has reset it already, by the time
// the provider refuses it: it cannot be paused and held (pause() throws on it, and the throw,
// outside serve()'s try, ended the daemon), so it is reset at once and the node serves on.
// Real hosts and streams; the provider's handler is handed each stream only once the test
// has seen the peer's close arrive, so the order is the same on every run.
import type { Connection, Libp2p, Stream, StreamHandler } from '@libp2p/interface'
import { expect } from 'chai'
import { createLibp2p } from 'libp2p'
import { EXCHANGE_PROTOCOL } from '../../src/exchange/constants.js'
import { PeerPenalties } from '../../src/exchange/penalties.js'
import { ExchangeServer } from '../../src/exchange/server.js'
import { BlockNotFoundError } from '../../src/errors.js'
import { transportSettings } from '../../src/node/host.js'
import { waitUntil } from '../helpers/network.js'

describe('exchange: refusing a stream its peer has reset', function () {
  this.timeout(30_000)
  const hosts: Libp2p[] = []
  let server: ExchangeServer | undefined
  afterEach(async () => {
    await server?.stop()
    await Promise.all(hosts.splice(0).map(async h => { await h.stop() }))
  })

  async function setUp (): Promise<{ open: () => Promise<{ mine: Stream, theirs: Stream }>, serve: (s: Stream) => void }> {
    const requester = await createLibp2p({ ...await transportSettings(), addresses: { listen: [] } })
    const provider = await createLibp2p({ ...await transportSettings(), addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] } })
    hosts.push(requester, provider)
    const arrived: Array<{ stream: Stream, connection: Connection }> = []
    await provider.handle(EXCHANGE_PROTOCOL, (stream, connection) => { arrived.push({ stream, connection }) })
    let handler: StreamHandler | undefined
    // The server's handler is kept, not registered: the test hands it each stream when it chooses.
    const libp2p = { handle: async (_: string, h: StreamHandler) => { handler = h }, unhandle: async () => {}, hangUp: async () => {} }
    // A provider holding no blocks: nothing here is asked for one.
    const blocks = {
      get: async (cid: { toString: () => string }) => { throw new BlockNotFoundError(cid.toString()) },
      hasMany: async (cids: unknown[]) => cids.map(() => false)
    }
    server = new ExchangeServer({ libp2p, blocks, penalties: new PeerPenalties(), logger: provider.logger }, { maxStreams: 1 })
    await server.start()
    const connection = await requester.dial(provider.getMultiaddrs()[0])
    let connectionAtProvider: Connection | undefined
    return {
      open: async () => {
        const mine = await connection.newStream(EXCHANGE_PROTOCOL)
        await waitUntil(() => arrived.length > 0, 5000, 'the stream to reach the provider')
        const a = arrived.shift()
        if (a === undefined) throw new Error('no stream arrived')
        connectionAtProvider = a.connection
        return { mine, theirs: a.stream }
      },
      serve: (s) => {
        if (handler === undefined || connectionAtProvider === undefined) throw new Error('the server has not started')
        void handler(s, connectionAtProvider)
      }
    }
  }

  it('resets at once a stream over the node\'s total that its peer reset before the refusal, and serves on', async () => {
    const { open, serve } = await setUp()
    // The first stream takes the node's one place (maxStreams 1).
    const first = await open()
    serve(first.theirs)
    await waitUntil(() => server?.stats.openStreams === 1, 5000, 'the first stream to be served')
    // The second is over the total; its peer ends it, and only once the provider has seen
    // that is it handed to the server.
    const second = await open()
    second.mine.abort(new Error('the requester gives up'))
    await waitUntil(() => second.theirs.readStatus !== 'readable', 5000, 'the provider to see the stream end')
    // What killed the daemon was a rejection nobody awaited (serve() is not awaited by libp2p).
    const unhandled: unknown[] = []
    const onUnhandled = (err: unknown): void => { unhandled.push(err) }
    process.on('unhandledRejection', onUnhandled)
    try {
      serve(second.theirs)
      await new Promise(resolve => setTimeout(resolve, 200))
    } finally {
      process.off('unhandledRejection', onUnhandled)
    }
    expect(unhandled.map(e => (e as Error).message)).to.deep.equal([])
    expect(second.theirs.status).to.not.equal('open')
    // Not held (REFUSAL_HOLD): the first stream is served on, the node still answers it.
    expect(server?.stats.openStreams).to.equal(1)
    expect(first.theirs.status).to.equal('open')
  })
})
