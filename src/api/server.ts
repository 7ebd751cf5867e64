// The daemon's HTTP API: JSON over HTTP on 127.0.0.1 (beyond loopback only when the config
// says so), every route behind the repo's bearer token. Errors come back as
// { error: name, code, message, exitCode } with a status that fits the failure, so the CLI
// can report them exactly as it would locally. Long operations (fetch) stream progress as
// NDJSON lines ending with a result (or error) line.
import { timingSafeEqual } from 'node:crypto'
import { PassThrough } from 'node:stream'
import Fastify, { LogController, type FastifyReply, type FastifyRequest } from 'fastify'
import type { Logger } from 'pino'
import { InvalidArgumentError, PeerLinkError } from '../errors.js'
import type { PeerLinkNode } from '../node/peerlink.js'
import { parseCid } from '../node/cid.js'
import { parseTarget } from '../node/ticket.js'
import { MIN_TOKEN_LENGTH } from '../repo/repo.js'
import { API_PREFIX, addOut, pinsOut, providersOut, type AddOut } from './shapes.js'

/** HTTP status for a CLI exit status (errors.ts): the failure class each exit status stands for. */
const STATUS_BY_EXIT: Record<number, number> = {
  2: 400, 3: 400, 4: 502, 6: 422, 7: 404, 8: 423, 9: 507, 11: 422, 12: 409, 13: 422, 15: 400, 16: 404, 17: 502
}

export interface ApiServerOptions {
  node: PeerLinkNode
  token: string
  /** host:port */
  address: string
  logger: Logger
  /** Aborted when the daemon stops: in-flight operations end with it. */
  signal: AbortSignal
}

export interface ApiServer {
  /** The address actually bound (port 0 becomes a real port). */
  address: string
  close: () => Promise<void>
}

export async function startApi (o: ApiServerOptions): Promise<ApiServer> {
  const [host, portText] = splitAddress(o.address)
  const app = Fastify({ loggerInstance: o.logger.child({ component: 'api' }), bodyLimit: 1024 * 1024, logController: new LogController({ disableRequestLogging: true }) })
  const expected = Buffer.from(o.token)
  // An empty token would let a request without one through: never serve with a short one.
  if (expected.length < MIN_TOKEN_LENGTH) throw new InvalidArgumentError(`the API token is ${expected.length} characters; at least ${MIN_TOKEN_LENGTH} are needed`)

  app.addHook('onRequest', async (req, reply) => {
    const auth = req.headers.authorization ?? ''
    const given = Buffer.from(auth.startsWith('Bearer ') ? auth.slice(7) : '')
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      await reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'Unauthorized', code: 'ERR_UNAUTHORIZED', message: 'missing or wrong API token (it is in the repo\'s api.token)', exitCode: 18 })
    }
  })

  app.setErrorHandler(async (err: Error & { statusCode?: number, validation?: unknown }, req, reply) => {
    if (err instanceof PeerLinkError) {
      return await reply.code(STATUS_BY_EXIT[err.exitCode] ?? 500).send(errorBody(err))
    }
    if (err.statusCode !== undefined && err.statusCode < 500) {
      return await reply.code(err.statusCode).send({ error: 'BadRequest', code: 'ERR_BAD_REQUEST', message: err.message, exitCode: 2 })
    }
    // A call whose client went away is no failure of the daemon's.
    if (signals.get(req)?.aborted === true) {
      o.logger.info({ url: req.url, reason: err.message }, 'API call ended early')
      return await reply.code(499).send({ error: err.name, code: 'ERR_CLIENT_GONE', message: err.message, exitCode: 1 })
    }
    o.logger.error({ err }, 'API call failed')
    return await reply.code(500).send({ error: err.name, code: 'ERR_INTERNAL', message: err.message, exitCode: 1 })
  })

  const node = o.node
  // An operation ends with its caller: when the response closes before it was finished.
  const signals = new WeakMap<FastifyRequest, AbortSignal>()
  app.addHook('onRequest', async (req, reply) => {
    const c = new AbortController()
    reply.raw.once('close', () => { if (!reply.raw.writableFinished) c.abort(new Error('the client went away')) })
    signals.set(req, AbortSignal.any([c.signal, o.signal]))
  })
  const signalFor = (req: FastifyRequest): AbortSignal => signals.get(req) ?? o.signal
  const body = (req: FastifyRequest): Record<string, unknown> => (req.body ?? {}) as Record<string, unknown>
  const str = (v: unknown, name: string): string => {
    if (typeof v !== 'string' || v === '') throw new InvalidArgumentError(`${name} is required`)
    return v
  }
  const optNum = (v: unknown, name: string): number | undefined => {
    if (v === undefined || v === null || v === '') return undefined
    const n = typeof v === 'number' ? v : Number(v)
    if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a non-negative whole number`)
    return n
  }

  app.get(`${API_PREFIX}/id`, async () => ({
    peerId: node.network.peerId.toString(),
    addresses: node.network.addresses().map(a => a.toString())
  }))
  app.get(`${API_PREFIX}/peers`, async () => node.network.peers())
  app.post(`${API_PREFIX}/connect`, async (req) => ({ peer: await node.network.connect(str(body(req).addr, 'addr'), { signal: signalFor(req) }) }))

  // JSON, or with `progress: true` NDJSON: { bytes } lines (bytes read so far), then the result.
  app.post(`${API_PREFIX}/add`, async (req, reply) => {
    const b = body(req)
    const path = str(b.path, 'path')
    const add = async (onBytes?: (bytes: number) => void): Promise<AddOut> => {
      const r = await node.add(path, {
        recursive: b.recursive === true,
        chunkSize: optNum(b.chunkSize, 'chunkSize'),
        k: optNum(b.k, 'k'),
        m: optNum(b.m, 'm'),
        signal: signalFor(req),
        ...(onBytes !== undefined ? { onProgress: (e) => { onBytes(e.detail.bytes) } } : {})
      })
      return addOut(r, node.network.ticket(r.cid))
    }
    if (b.progress !== true) return await add()
    return await streamNdjson(reply, async (emit) => {
      let last = 0
      return await add((bytes) => {
        // At most ten progress lines a second.
        const now = Date.now()
        if (now - last < 100) return
        last = now
        emit({ bytes })
      })
    })
  })
  app.post(`${API_PREFIX}/provide`, async (req) => {
    const cid = parseCid(str(body(req).cid, 'cid'))
    const r = await node.provide(cid, { signal: signalFor(req) })
    return { cid: cid.toString(), ms: r.ms }
  })
  app.get<{ Params: { cid: string }, Querystring: { timeout?: string } }>(`${API_PREFIX}/providers/:cid`, async (req) => {
    const cid = parseCid(req.params.cid)
    const found = await node.network.findProviders(cid, { timeout: optNum(req.query.timeout, 'timeout'), signal: signalFor(req) })
    return providersOut(found)
  })
  app.get<{ Params: { cid: string } }>(`${API_PREFIX}/ticket/:cid`, async (req) => ({ ticket: node.network.ticket(parseCid(req.params.cid)) }))

  app.post(`${API_PREFIX}/fetch`, async (req, reply) => {
    const b = body(req)
    const ticket = parseTarget(str(b.target, 'target'))
    const output = b.output === undefined ? undefined : str(b.output, 'output')
    const signal = signalFor(req)
    return await streamNdjson(reply, async (emit) => {
      let last = 0
      return await node.fetch(ticket, {
        output,
        force: b.force === true,
        findTimeout: optNum(b.findTimeout, 'findTimeout'),
        signal,
        onProgress: (e) => {
          // At most ten progress lines a second; provider changes and the start always go out.
          const now = Date.now()
          if (e.type === 'exchange:session:block' && now - last < 100) return
          last = now
          emit({ event: e.type, detail: e.detail })
        }
      })
    })
  })

  app.get<{ Params: { cid: string }, Querystring: { offset?: string, length?: string } }>(`${API_PREFIX}/cat/:cid`, async (req, reply) => {
    const cid = parseCid(req.params.cid)
    const source = node.cat(cid, { offset: optNum(req.query.offset, 'offset'), length: optNum(req.query.length, 'length'), signal: signalFor(req) })
    // Read the first piece before answering, so a bad root is a proper error status.
    const first = await source.next()
    const out = new PassThrough()
    void (async () => {
      try {
        if (first.done !== true) out.write(first.value)
        for await (const piece of source) if (!out.write(piece)) await new Promise(resolve => out.once('drain', resolve))
        out.end()
      } catch (err) {
        out.destroy(err as Error)
      }
    })()
    return await reply.type('application/octet-stream').send(out)
  })
  app.get<{ Params: { cid: string } }>(`${API_PREFIX}/stat/:cid`, async (req) => await node.stat(parseCid(req.params.cid), { signal: signalFor(req) }))
  app.get(`${API_PREFIX}/ls`, async () => ({ pins: pinsOut(await node.ls()), usage: await node.usage() }))
  app.post(`${API_PREFIX}/rm`, async (req) => {
    const cids = (Array.isArray(body(req).cids) ? body(req).cids as unknown[] : []).map(c => parseCid(str(c, 'cid')))
    if (cids.length === 0) throw new InvalidArgumentError('cids is required')
    for (const c of cids) await node.rm(c)
    return { removed: cids.map(c => c.toString()) }
  })
  app.post(`${API_PREFIX}/gc`, async (req) => await node.gc({ signal: signalFor(req) }))
  app.post(`${API_PREFIX}/verify`, async (req) => {
    const b = body(req)
    return await node.verify(parseCid(str(b.cid, 'cid')), { repair: b.repair !== false, signal: signalFor(req) })
  })

  await app.listen({ host, port: Number(portText) })
  const bound = app.server.address()
  const address = typeof bound === 'object' && bound !== null ? `${bound.address}:${bound.port}` : o.address
  return { address, close: async () => { await app.close() } }
}

export function errorBody (err: PeerLinkError): { error: string, code: string, message: string, exitCode: number } {
  return { error: err.name, code: err.code, message: err.message, exitCode: err.exitCode }
}

function splitAddress (address: string): [string, string] {
  const i = address.lastIndexOf(':')
  return [address.slice(0, i), address.slice(i + 1)]
}

/**
 * Sends NDJSON: progress lines from `run`, then { result } or { error }. Progress that comes
 * after the last line (an operation's stragglers) is dropped: written after the end it would
 * fail the stream and, with it, a reply whose last lines had not gone out yet.
 */
export async function streamNdjson (reply: FastifyReply, run: (emit: (line: unknown) => void) => Promise<unknown>): Promise<FastifyReply> {
  const out = new PassThrough()
  const emit = (line: unknown): void => { if (!out.writableEnded && !out.destroyed) out.write(JSON.stringify(line, bigintSafe) + '\n') }
  const finish = (line: unknown): void => {
    emit(line)
    out.end()
  }
  void run(emit).then((result) => { finish({ result }) }, (err: Error) => {
    finish({ error: err instanceof PeerLinkError ? errorBody(err) : { error: err.name, code: 'ERR_INTERNAL', message: err.message, exitCode: 1 } })
  })
  return await reply.type('application/x-ndjson').send(out)
}

function bigintSafe (_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value
}
