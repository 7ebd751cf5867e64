// Property-based tests over the exchange protocol's way in: bytes off a stream are split into
// frames (FrameDecoder), decoded (protons, with the CID-count limit) and routed to the
// handler of their type (the provider's and the requester's tables). Random and mutated
// bytes must end as messages or as a ProtocolError (readMessages wraps protons' own decode
// errors as one), and nothing a handler is handed may exceed the protocol's limits.
import { expect } from 'chai'
import fc from 'fast-check'
import { ProtocolError } from '../../src/errors.js'
import { MAX_MESSAGE_SIZE, MAX_WANT_CIDS } from '../../src/exchange/constants.js'
import { handleMessage, PROVIDER_HANDLERS, REQUESTER_HANDLERS, type PendingRequest, type RequestingContext, type ServingContext } from '../../src/exchange/handlers/index.js'
import { frame, FrameDecoder, Message, type Outgoing } from '../../src/exchange/wire.js'
import { cidOf } from '../../src/hash/index.js'
import { check, checkAsync, mutated } from './runs.js'

const cid = cidOf(new Uint8Array([7]))

/** Runs `fn`; a ProtocolError is the protocol refusing, anything else thrown fails the property. */
async function refusesOrRuns (fn: () => unknown): Promise<void> {
  try {
    await fn()
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw new Error(`threw ${(err as Error)?.name}: ${(err as Error)?.message}`, { cause: err })
  }
}

function servingContext (): ServingContext & { enqueued: number } {
  const ctx = {
    enqueued: 0,
    get queued () { return ctx.enqueued },
    enqueue: (_id: bigint, cids: unknown[]) => { ctx.enqueued += cids.length },
    cancel: () => {},
    charge: async () => {},
    has: async (cids: unknown[]) => cids.map(() => false),
    send: async (_msg: Outgoing) => {}
  }
  return ctx
}

/** Request 1 asks for `cid`, request 2 is a HAVE query about 3 CIDs; any other id is unknown. */
function requestingContext (): RequestingContext {
  const open = new Map<bigint, PendingRequest>([
    [1n, { kind: 'block', cid, resolve: () => {}, reject: () => {} }],
    [2n, { kind: 'have', count: 3, resolve: () => {}, reject: () => {} }]
  ])
  return {
    claim: (msg) => {
      const p = open.get(msg.id)
      if (p === undefined) throw new ProtocolError(`answer to request ${msg.id}, which is not open`)
      return p
    },
    settle: (id) => { open.delete(id) }
  }
}

/** Every frame in `chunks`, decoded and handled by both sides' tables, as a stream would be read. */
async function readAll (chunks: Uint8Array[]): Promise<void> {
  const decoder = new FrameDecoder()
  for (const chunk of chunks) {
    for (const f of decoder.push(chunk)) {
      expect(f.byteLength).to.be.at.most(MAX_MESSAGE_SIZE)
      let msg: Message
      try {
        msg = Message.decode(f, { limits: { cids: MAX_WANT_CIDS } })
      } catch {
        continue // readMessages turns this into a ProtocolError ("undecodable message")
      }
      expect(msg.cids.length).to.be.at.most(MAX_WANT_CIDS)
      const serving = servingContext()
      await refusesOrRuns(async () => { await handleMessage(PROVIDER_HANDLERS, msg, serving) })
      expect(serving.enqueued).to.be.at.most(MAX_WANT_CIDS)
      await refusesOrRuns(async () => { await handleMessage(REQUESTER_HANDLERS, msg, requestingContext()) })
    }
  }
  decoder.end()
}

async function readAllRefusing (chunks: Uint8Array[]): Promise<void> {
  await refusesOrRuns(async () => { await readAll(chunks) })
}

const valid: Outgoing[] = [
  { type: Message.Type.WANT, id: 1n, root: cid.bytes, cids: [cid.bytes, cid.bytes], haveOnly: true },
  { type: Message.Type.WANT, id: 3n, root: cid.bytes, cids: [cid.bytes] },
  { type: Message.Type.HAVE, id: 2n, root: cid.bytes, bitfield: new Uint8Array([5]) },
  { type: Message.Type.BLOCK, id: 1n, cid: cid.bytes, data: new Uint8Array([7]) },
  { type: Message.Type.DONT_HAVE, id: 1n, cid: cid.bytes },
  { type: Message.Type.CANCEL, id: 1n }
]

/** A byte string cut into chunks at random places, as a stream delivers it. */
const chunked = (bytes: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array[]> =>
  fc.tuple(bytes, fc.array(fc.nat(), { maxLength: 6 })).map(([b, cuts]) => {
    const at = [...new Set(cuts.map(c => c % (b.length + 1)))].sort((x, y) => x - y)
    return [0, ...at].map((start, i) => b.subarray(start, at[i] ?? b.length))
  })

describe('fuzz: exchange protocol decoding', function () {
  this.timeout(120_000)

  it('random bytes, in random chunks, end as messages or a ProtocolError', async () => {
    await checkAsync(chunked(fc.uint8Array({ maxLength: 600 })), readAllRefusing)
  })

  it('mutations of every valid message, in random chunks, end as messages or a ProtocolError', async () => {
    for (const m of valid) {
      const bytes = frame(m).subarray()
      await readAll([bytes]) // the unmutated message passes (or is refused by the protocol)
      await checkAsync(chunked(mutated(bytes)), readAllRefusing)
    }
  })

  it('a length prefix over the limit is refused before its bytes arrive', () => {
    check(fc.integer({ min: MAX_MESSAGE_SIZE + 1, max: 2 ** 40 }), length => {
      const prefix: number[] = []
      for (let n = length; ; n = Math.floor(n / 128)) {
        if (n < 128) { prefix.push(n); break }
        prefix.push((n % 128) | 128)
      }
      expect(() => [...new FrameDecoder().push(Uint8Array.from(prefix))]).to.throw(ProtocolError, /the limit is/)
    })
  })
})
