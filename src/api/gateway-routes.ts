// The gateway's one route, GET and HEAD /ipfs/<cid or ticket>[/path]: a file (whole, or the
// one byte range asked for), a directory's HTML listing, or with ?format=raw one stored block.
// A file streams from node.cat, so the first bytes leave before the file has arrived and a
// range fetches only the stripes it touches; a client that goes away aborts the read. A
// private root is read with its key in the x-peerlink-key header, as in the API; its listing
// links through /private/<id>/, a link the gateway keeps in memory for a while.
import { Readable } from 'node:stream'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { InvalidArgumentError } from '../errors.js'
import { verifyBlock } from '../hash/index.js'
import { KEY_HEADER, parseCid, splitPath } from '../node/cid.js'
import type { StatResult } from '../node/peerlink.js'
import type { Ticket } from '../node/ticket.js'
import { attachment, disposition } from './content-disposition.js'
import { loggingFailure } from './error-handler.js'
import { directoryListing } from './gateway-listing.js'
import { byteRange, type ByteRange } from './gateway-range.js'
import { SaveLinks } from './save-links.js'
import { resumed, targetOf } from './routes/files.js'
import type { RouteDeps } from './schemas.js'

interface GatewayQuery { download?: string, filename?: string, format?: string }
type Req = FastifyRequest<{ Params: { '*': string }, Querystring: GatewayQuery }>

/** A year in seconds (Kubo's figure): what a CID names never changes. */
const IMMUTABLE = 'public, max-age=29030400, immutable'
/** A private root's plaintext may stay in the reader's own cache, never in a shared one. */
const IMMUTABLE_PRIVATE = 'private, max-age=29030400, immutable'
/**
 * Served content may show itself and its own media, nothing more: no script, no form, no
 * plugin, no request to any other address. The gateway's own listing uses only inline CSS.
 */
export const CONTENT_POLICY = "default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'unsafe-inline'; sandbox"

/** How many private roots the gateway keeps a link for, each for SAVE_LINK_TTL. */
const MAX_PRIVATE_LINKS = 256

export async function gatewayRoutes (app: FastifyInstance, { node }: RouteDeps): Promise<void> {
  const links = new SaveLinks(Date.now, 'this private gateway link has expired or its daemon restarted: open the share link again', MAX_PRIVATE_LINKS)
  const routes = { method: ['GET', 'HEAD'] as Array<'GET' | 'HEAD'> }
  app.route<{ Params: { '*': string }, Querystring: GatewayQuery }>({
    ...routes,
    url: '/ipfs/*',
    handler: async (req, reply) => await serve(node, links, req, reply, targetOf(req))
  })
  // A private root's listing links here: the id stands for the root, its key and the path
  // listed, kept in memory, so a browser follows the links with no header and no key in a URL.
  app.route<{ Params: { '*': string }, Querystring: GatewayQuery }>({
    ...routes,
    url: '/private/*',
    handler: async (req, reply) => {
      const [id, ...rest] = req.params['*'].split('/')
      const held = links.get(id)
      const target = { ...held, path: [...(held.path ?? []), ...splitPath(rest.join('/'), 'the private link')] }
      return await serve(node, links, req, reply, target)
    }
  })
}

/** A root or path as /ipfs/ and /private/ serve it: a file, a range of one, a listing, or one raw block. */
async function serve (node: RouteDeps['node'], links: SaveLinks, req: Req, reply: FastifyReply, target: Ticket): Promise<FastifyReply> {
  void reply.header('x-content-type-options', 'nosniff').header('content-security-policy', CONTENT_POLICY).header('referrer-policy', 'no-referrer')
  if (req.query.format === 'raw') return await rawBlock(req, reply, node.blockstore)
  if (req.query.format !== undefined) throw new InvalidArgumentError(`format must be raw or absent, not ${JSON.stringify(req.query.format)}`)
  const stat = await node.stat(target, { signal: req.callSignal })
  const etag = `"${stat.cid}"`
  void reply.header('etag', etag).header('cache-control', target.key === undefined ? IMMUTABLE : IMMUTABLE_PRIVATE)
  if (target.key !== undefined) void reply.header('vary', KEY_HEADER)
  if (matches(req.headers['if-none-match'], etag)) return await reply.code(304).send()
  if (stat.type === 'directory') {
    const entries = await node.list(target, { signal: req.callSignal })
    // Under /ipfs/ with the key in the header, the entries link through a private link.
    const base = target.key !== undefined && req.url.startsWith('/ipfs/') ? `/private/${links.keep(target)}` : urlPath(req)
    const html = directoryListing(base, stat, entries)
    void reply.type('text/html; charset=utf-8').header('content-length', Buffer.byteLength(html))
    return await reply.send(req.method === 'HEAD' ? undefined : html)
  }
  const range = byteRange(req.headers.range, stat.size)
  setFileHeaders(req, reply, stat, range)
  if (req.method === 'HEAD' || range.length === 0) return await reply.send()
  const source = node.cat(target, { offset: range.start, length: range.length, signal: req.callSignal })
  // The first piece is read before the status goes out, so a root no one provides is a 504.
  const first = await source.next()
  return await reply.send(Readable.from(loggingFailure(req, resumed(first, source)), { objectMode: false }))
}

function setFileHeaders (req: Req, reply: FastifyReply, stat: StatResult, range: ByteRange): void {
  const name = req.query.filename ?? stat.name
  const save = req.query.download === '1' || req.query.filename !== undefined
  void reply.type(stat.mediaType ?? 'application/octet-stream')
    .header('accept-ranges', 'bytes')
    .header('content-disposition', save ? attachment(name) : disposition('inline', name))
    .header('content-length', range.length)
  if (range.partial) void reply.code(206).header('content-range', `bytes ${range.start}-${range.start + range.length - 1}/${stat.size}`)
}

/** One block from this repo, hashed again against its CID before it leaves. */
async function rawBlock (req: Req, reply: FastifyReply, blockstore: RouteDeps['node']['blockstore']): Promise<FastifyReply> {
  const path = req.params['*'].replace(/\/+$/, '')
  if (path.includes('/')) throw new InvalidArgumentError('format=raw serves one block by its CID: /ipfs/<cid>?format=raw, with no path')
  const cid = parseCid(path)
  const bytes = await blockstore.get(cid, { signal: req.callSignal })
  await verifyBlock(cid, bytes, { signal: req.callSignal })
  const etag = `"${cid.toString()}.raw"`
  void reply.type('application/vnd.ipld.raw').header('etag', etag).header('cache-control', IMMUTABLE)
    .header('content-disposition', attachment(`${cid.toString()}.bin`))
  if (matches(req.headers['if-none-match'], etag)) return await reply.code(304).send()
  void reply.header('content-length', bytes.length)
  return await reply.send(req.method === 'HEAD' ? undefined : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length))
}

/** If-None-Match: `*`, or a list of ETags (weak ones compare by their tag, RFC 9110 §13.1.2). */
function matches (header: string | undefined, etag: string): boolean {
  if (header === undefined) return false
  return header.split(',').map(t => t.trim().replace(/^W\//, '')).some(t => t === '*' || t === etag)
}

/** The request's path as the client sent it (percent-encoded), without a trailing slash. */
function urlPath (req: FastifyRequest): string {
  const path = req.url.split('?')[0]
  return path.replace(/\/+$/, '')
}
