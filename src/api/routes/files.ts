// Files: add a path, fetch a root by CID or ticket, read a file's bytes, describe a root, list a
// directory. cat, stat and ls take the root (a CID or a ticket) and any path inside it as the
// rest of the URL, each name percent-encoded (`/cat/<cid>/my%20photos/cat.jpg`).
import { Readable } from 'node:stream'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { keyFromText } from '../../files/cipher.js'
import { KEY_HEADER } from '../../node/cid.js'
import type { PeerLinkNode } from '../../node/peerlink.js'
import { parseTarget, type Ticket } from '../../node/ticket.js'
import { attachment } from '../content-disposition.js'
import { errorBody, loggingFailure } from '../error-handler.js'
import { encodeFrames, FRAMES_TYPE } from '../frames.js'
import { streamNdjson } from '../ndjson.js'
import { SaveLinks } from '../save-links.js'
import { count, countOf, flag, object, text, type Count, type RouteDeps } from '../schemas.js'
import { addOut, API_PREFIX, type AddOut } from '../shapes.js'
import { PROGRESS_INTERVAL, throttle } from '../throttle.js'

interface AddBody { path: string, recursive?: boolean, chunkSize?: Count, k?: Count, m?: Count, progress?: boolean, private?: boolean }
interface FetchBody { target: string, output?: string, force?: boolean, findTimeout?: Count }
interface Range { offset?: Count, length?: Count }
/** `?local=true`: the repo only, never the network. */
interface Local { local?: 'true' | 'false' }
/** The rest of the URL: `<cid or ticket>[/path/inside]`. */
interface RefParams { '*': string }
const refParams = object({ '*': text }, ['*'])
const local = { type: 'string', enum: ['true', 'false'] } as const
const network = (q: Local): boolean => q.local !== 'true'
/** `download=1`: a Content-Disposition naming the file, so a browser saves it (streamed to disk). */
interface CatQuery extends Range { download?: '1' }

export async function fileRoutes (app: FastifyInstance, { node }: RouteDeps): Promise<void> {
  const saves = new SaveLinks()
  // JSON, or with `progress: true` NDJSON: { bytes } lines (bytes read so far), then the result.
  app.post<{ Body: AddBody }>('/add', {
    schema: { body: object({ path: text, recursive: flag, chunkSize: count, k: count, m: count, progress: flag, private: flag }, ['path']) }
  }, async (req, reply) => {
    const b = req.body
    const add = async (onBytes?: (bytes: number) => void): Promise<AddOut> => {
      const r = await node.add(b.path, {
        recursive: b.recursive === true,
        chunkSize: countOf(b.chunkSize),
        k: countOf(b.k),
        m: countOf(b.m),
        private: b.private,
        signal: req.callSignal,
        ...(onBytes !== undefined ? { onProgress: (e) => { onBytes(e.detail.bytes) } } : {})
      })
      return addOut(r, node.network.ticket(r.cid, r.key))
    }
    if (b.progress !== true) return await add()
    return await streamNdjson(reply, async (emit) => await add(throttle(PROGRESS_INTERVAL, (bytes) => { emit({ bytes }) })))
  })

  // NDJSON: { event, detail } progress lines, then the result.
  app.post<{ Body: FetchBody }>('/fetch', {
    schema: { body: object({ target: text, output: text, force: flag, findTimeout: count }, ['target']) }
  }, async (req, reply) => {
    const b = req.body
    const ticket = parseTarget(b.target)
    return await streamNdjson(reply, async (emit) => await node.fetch(ticket, {
      output: b.output,
      force: b.force === true,
      findTimeout: countOf(b.findTimeout),
      signal: req.callSignal,
      // Block progress is throttled; the start and provider changes always go out.
      onProgress: throttle(PROGRESS_INTERVAL, (e) => { emit({ event: e.type, detail: e.detail }) }, e => e.type !== 'exchange:session:block')
    }))
  })

  app.get<{ Params: RefParams, Querystring: CatQuery }>('/cat/*', {
    schema: { params: refParams, querystring: object({ offset: count, length: count, download: { type: 'string', enum: ['1'] } }) }
  }, async (req, reply) => await sendFile(node, req, reply, targetOf(req), req.query.download === '1', req.query))

  // A link for the page to save a file through (a plain link, so the browser streams it to
  // disk): a private root's key cannot ride on a link as a header, nor go in its URL, so the
  // daemon keeps the target and hands out a random id in its place (save-links.ts).
  app.post<{ Body: { target: string } }>('/saves', { schema: { body: object({ target: text }, ['target']) } }, async (req) => {
    const target = parseTarget(req.body.target)
    // Refused here, not on the click: a bad link or key is told while the page can show it.
    await node.stat(target, { signal: req.callSignal })
    return { url: `${API_PREFIX}/saves/${saves.keep(target)}` }
  })

  app.get<{ Params: { id: string } }>('/saves/:id', { schema: { params: object({ id: text }, ['id']) } }, async (req, reply) =>
    await sendFile(node, req, reply, saves.get(req.params.id), true, {}))

  app.get<{ Params: RefParams, Querystring: Local }>('/stat/*', { schema: { params: refParams, querystring: object({ local }) } }, async (req) =>
    await node.stat(targetOf(req), { network: network(req.query), signal: req.callSignal }))

  // A directory's entries (a file: itself), as an array of { name, cid, size, type }.
  app.get<{ Params: RefParams, Querystring: Local }>('/ls/*', { schema: { params: refParams, querystring: object({ local }) } }, async (req) =>
    await node.list(targetOf(req), { network: network(req.query), signal: req.callSignal }))
}

/** A file's bytes, as `download` a named attachment; streamed, the first piece read before the status is sent. */
async function sendFile (node: PeerLinkNode, req: FastifyRequest, reply: FastifyReply, target: Ticket, download: boolean, range: Range): Promise<FastifyReply> {
  if (download) void reply.header('content-disposition', attachment((await node.stat(target, { signal: req.callSignal })).name))
  const source = node.cat(target, { offset: countOf(range.offset), length: countOf(range.length), signal: req.callSignal })
  // Read the first piece before answering, so a bad root is a proper error status.
  const first = await source.next()
  const bytes = loggingFailure(req, resumed(first, source))
  // A failure after the first bytes reaches a client that asks for frames as an error frame.
  if (req.headers.accept?.includes(FRAMES_TYPE) === true) {
    return await reply.type(FRAMES_TYPE).send(Readable.from(encodeFrames(bytes, errorBody), { objectMode: false }))
  }
  return await reply.type('application/octet-stream').send(Readable.from(bytes, { objectMode: false }))
}

/** The root the rest of the URL names, with a private root's key from its header (API and gateway). */
export function targetOf (req: FastifyRequest<{ Params: RefParams }>): Ticket {
  const target = parseTarget(req.params['*'])
  const key = req.headers[KEY_HEADER]
  return typeof key === 'string' ? { ...target, key: keyFromText(key) } : target
}

/** A generator's output again from the start, its first result already taken. */
export async function * resumed<T> (first: IteratorResult<T>, rest: AsyncGenerator<T>): AsyncGenerator<T> {
  if (first.done === true) return
  yield first.value
  yield * rest
}
