// The API server in front of a stand-in node: auth, input checks, the error body and the
// status each error class declares, NDJSON lines, a streamed file. The real node behind the
// API is exercised in daemon.spec.ts.
import { expect } from 'chai'
import pino from 'pino'
import * as errors from '../../src/errors.js'
import { DaemonStoppingError, NotAnnouncedError, NotPinnedError, PeerLinkError, ProtocolError } from '../../src/errors.js'
import type { PeerLinkNode } from '../../src/node/peerlink.js'
import { startApi, type ApiServer } from '../../src/api/server.js'
import { API_PREFIX } from '../../src/api/shapes.js'
import { DaemonClient } from '../../src/cli/client.js'

const TOKEN = 'x'.repeat(43)
const CID = 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'

/** The node's methods the routes call; each records what it was given. */
function standIn (calls: Array<[string, unknown]>): PeerLinkNode {
  const record = (name: string) => async (...args: unknown[]): Promise<unknown> => { calls.push([name, args]); return {} }
  return {
    add: async (path: string, o: { onProgress?: (e: { detail: { bytes: number } }) => void }) => {
      calls.push(['add', [path, o]])
      for (let i = 1; i <= 3; i++) o.onProgress?.({ detail: { bytes: i } })
      return { cid: { toString: () => CID }, name: 'f', type: 'file', size: 3, files: 1, skipped: [] }
    },
    fetch: async () => { throw new DaemonStoppingError() },
    provide: async () => { throw new NotAnnouncedError(CID, 'no DHT peer took the record') },
    stat: async () => { throw new NotPinnedError(CID) },
    verify: async () => { throw new ProtocolError('bad frame') },
    gc: record('gc'),
    rm: record('rm'),
    cat: async function * () { yield new TextEncoder().encode('hello, '); yield new TextEncoder().encode('world') },
    network: {
      ticket: () => 'peerlink:ticket',
      findProviders: async (...args: unknown[]) => { calls.push(['findProviders', args]); return [] }
    }
  } as unknown as PeerLinkNode
}

describe('the API server', function () {
  const calls: Array<[string, unknown]> = []
  let api: ApiServer
  let base: string
  const stopping = new AbortController()
  before(async () => {
    api = await startApi({ node: standIn(calls), token: TOKEN, address: '127.0.0.1:0', logger: pino({ level: 'silent' }), signal: stopping.signal })
    base = `http://${api.address}${API_PREFIX}`
  })
  after(async () => { await api.close() })
  beforeEach(() => { calls.length = 0 })

  async function call (method: string, path: string, body?: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }): Promise<{ status: number, body: any, text: string }> {
    const res = await fetch(base + path, { method, headers: { authorization: `Bearer ${TOKEN}`, ...headers }, body: typeof body === 'string' || body === undefined ? body : JSON.stringify(body) })
    const text = await res.text()
    let parsed: unknown
    try { parsed = JSON.parse(text) } catch {}
    return { status: res.status, body: parsed, text }
  }

  it('refuses a call without the token: 401 with the error body', async () => {
    const res = await fetch(`${base}/ls`)
    expect(res.status).to.equal(401)
    expect(res.headers.get('www-authenticate')).to.equal('Bearer')
    expect(await res.json()).to.deep.include({ error: 'Unauthorized', code: 'ERR_UNAUTHORIZED', exitCode: 18 })
  })

  it('refuses input its schema does not take as an InvalidArgumentError (400, exit status 2)', async () => {
    const invalid = (message: string) => ({ error: 'InvalidArgumentError', code: 'ERR_INVALID_ARGUMENT', message, exitCode: 2 })
    for (const [method, path, body, message] of [
      ['POST', '/add', {}, 'path is required'],
      ['POST', '/add', { path: '' }, 'path is required'],
      ['POST', '/add', { path: 5 }, 'path is required'],
      ['POST', '/add', { path: 'f', chunkSize: -1 }, 'chunkSize must be a non-negative whole number'],
      ['POST', '/add', { path: 'f', k: 1.5 }, 'k must be a non-negative whole number'],
      ['POST', '/add', { path: 'f', m: 'two' }, 'm must be a non-negative whole number'],
      ['POST', '/add', { path: 'f', recursive: 'yes' }, 'recursive must be true or false'],
      ['POST', '/fetch', { target: CID, output: null }, 'output is required'],
      ['POST', '/rm', { cids: [] }, 'cids is required'],
      ['POST', '/rm', { cids: 'x' }, 'cids is required'],
      ['POST', '/rm', { cids: [CID, ''] }, 'cids[1] is required'],
      ['POST', '/connect', undefined, 'the request\'s body must be a JSON object'],
      ['GET', `/providers/${CID}?timeout=soon`, undefined, 'timeout must be a non-negative whole number'],
      ['GET', `/cat/${CID}?offset=-1`, undefined, 'offset must be a non-negative whole number']
    ] as const) {
      const r = await call(method, path, body, body === undefined ? {} : undefined)
      expect(r.status, `${method} ${path} ${JSON.stringify(body)}`).to.equal(400)
      expect(r.body).to.deep.equal(invalid(message))
    }
    expect(calls).to.deep.equal([])
  })

  it('takes a count as a number or as digits, and null or \'\' as not given', async () => {
    expect((await call('POST', '/add', { path: 'f', chunkSize: '65536', k: null, m: '' })).status).to.equal(200)
    const [, [path, o]] = calls[0] as [string, [string, Record<string, unknown>]]
    expect(path).to.equal('f')
    expect(o).to.deep.include({ chunkSize: 65536, k: undefined, m: undefined, recursive: false })
    expect((await call('GET', `/providers/${CID}?timeout=1500`)).status).to.equal(200)
    expect((calls[1][1] as Array<{ timeout: number }>)[1].timeout).to.equal(1500)
  })

  it('answers a route that does not exist with 404 and the error body', async () => {
    const r = await call('GET', '/nope')
    expect(r.status).to.equal(404)
    expect(r.body).to.deep.equal({ error: 'NotFound', code: 'ERR_NO_ROUTE', message: `the daemon has no route GET ${API_PREFIX}/nope`, exitCode: 18 })
    expect((await fetch(`${base}/nope`)).status).to.equal(401) // the token is asked for first
  })

  it('answers a body that is no JSON with 400 and exit status 2', async () => {
    const r = await call('POST', '/add', '{"path":')
    expect(r.status).to.equal(400)
    expect(r.body).to.include({ error: 'BadRequest', code: 'ERR_BAD_REQUEST', exitCode: 2 })
  })

  it('answers a failure with the status its class declares and the body the CLI reads', async () => {
    const stat = await call('GET', `/stat/${CID}`)
    expect(stat.status).to.equal(404)
    expect(stat.body).to.deep.equal({ error: 'NotPinnedError', code: 'ERR_NOT_PINNED', message: `${CID} is not pinned in this repo`, exitCode: 7 })
    const provide = await call('POST', '/provide', { cid: CID })
    expect(provide.status).to.equal(502)
    expect(provide.body).to.include({ error: 'NotAnnouncedError', exitCode: 16 })
    const verify = await call('POST', '/verify', { cid: CID })
    expect(verify.status).to.equal(502)
    expect(verify.body).to.include({ error: 'ProtocolError', exitCode: 15 })
    const badCid = await call('GET', '/stat/not-a-cid')
    expect(badCid.status).to.equal(400)
    expect(badCid.body).to.include({ error: 'InvalidCidError', exitCode: 2 })
  })

  it('streams progress as NDJSON, throttled, ending with the result or the error', async () => {
    const client = new DaemonClient({ address: api.address, pid: process.pid, peerId: '', addresses: [] }, TOKEN)
    const lines: unknown[] = []
    const added = await client.stream<{ cid: string, ticket: string }, unknown>('/add', { path: 'f', progress: true }, (l) => { lines.push(l) })
    expect(added).to.include({ cid: CID, ticket: 'peerlink:ticket' })
    expect(lines).to.deep.equal([{ bytes: 1 }]) // the next two came within the same tenth of a second
    const err = await client.stream('/fetch', { target: CID }, () => {}).then(() => undefined, (e: errors.ApiError) => e)
    expect(err?.remoteName).to.equal('DaemonStoppingError')
    expect(err?.exitCode).to.equal(18)
  })

  it('streams a file\'s bytes', async () => {
    const r = await call('GET', `/cat/${CID}`)
    expect(r.status).to.equal(200)
    expect(r.text).to.equal('hello, world')
  })

  it('has every error class declare its own HTTP status', () => {
    for (const E of Object.values(errors)) {
      if (typeof E !== 'function' || !(E.prototype instanceof PeerLinkError)) continue
      expect(Object.hasOwn(E, 'httpStatus'), E.name).to.equal(true)
      expect((E as unknown as typeof PeerLinkError).httpStatus, E.name).to.be.within(400, 599)
    }
  })
})
