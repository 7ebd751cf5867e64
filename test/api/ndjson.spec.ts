// The NDJSON replies of long operations (fetch), between the daemon's real HTTP server code
// and the CLI's real client, on 127.0.0.1.
import Fastify, { type FastifyInstance } from 'fastify'
import { expect } from 'chai'
import { streamNdjson } from '../../src/api/ndjson.js'
import { API_PREFIX } from '../../src/api/shapes.js'
import { DaemonClient } from '../../src/cli/client.js'

describe('NDJSON replies', function () {
  this.timeout(30_000)
  let app: FastifyInstance
  let client: DaemonClient

  before(async () => {
    app = Fastify()
    // Megabytes of progress, so the reply is still going out when the operation ends, then
    // progress that comes after the result (a fetch's last blocks landing as it finishes).
    app.post(`${API_PREFIX}/late`, async (_req, reply) => await streamNdjson(reply, async (emit) => {
      for (let i = 0; i < 40_000; i++) emit({ event: 'progress', detail: { i, pad: 'x'.repeat(200) } })
      setImmediate(() => { emit({ event: 'late' }) })
      setTimeout(() => { emit({ event: 'later' }) }, 20)
      return { answer: 42 }
    }))
    app.post(`${API_PREFIX}/cut`, async (req, reply) => {
      reply.raw.writeHead(200, { 'content-type': 'application/x-ndjson' })
      reply.raw.write('{"event":"progress"}\n')
      setTimeout(() => { req.raw.socket.destroy() }, 20)
      return reply
    })
    app.get(`${API_PREFIX}/cut-json`, async (req, reply) => {
      reply.raw.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' })
      reply.raw.write('{"pins":[')
      setTimeout(() => { req.raw.socket.destroy() }, 20)
      return reply
    })
    await app.listen({ host: '127.0.0.1', port: 0 })
    const a = app.server.address() as { port: number }
    client = new DaemonClient({ address: `127.0.0.1:${a.port}`, pid: process.pid, peerId: '', addresses: [] }, 'token')
  })
  after(async () => { await app.close() })

  it('keeps the result line when progress arrives after the operation ended', async () => {
    let lines = 0
    const result = await client.stream<{ answer: number }, { event: string }>('/late', {}, (line) => {
      expect(line.event).to.equal('progress')
      lines++
    })
    expect(result).to.deep.equal({ answer: 42 })
    expect(lines).to.equal(40_000)
  })

  it('says the reply broke off, and how, when the daemon closes the connection mid-reply', async () => {
    let lines = 0
    const err = await client.stream('/cut', {}, () => { lines++ }).then(() => undefined, (e: Error) => e)
    expect(lines).to.equal(1)
    expect(err?.name).to.equal('ApiError')
    expect(err?.message).to.equal('the daemon\'s reply broke off: the connection closed before its end (ECONNRESET)')
  })

  it('says the same of a plain JSON reply cut off mid-way', async () => {
    const err = await client.call('GET', '/cut-json').then(() => undefined, (e: Error) => e)
    expect(err?.name).to.equal('ApiError')
    expect(err?.message).to.equal('the daemon\'s reply broke off: the connection closed before its end (ECONNRESET)')
  })
})
