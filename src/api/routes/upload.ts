// Upload: a file's bytes in the request body (application/octet-stream), imported as they
// arrive, pinned and announced as `add` does a path. The body is streamed, never buffered
// whole: the API's 1 MiB body limit is for JSON, so this route counts the bytes itself and
// stops at its own bound. The file's name comes in the query string.
import type { IncomingMessage } from 'node:http'
import type { FastifyInstance } from 'fastify'
import { UploadTooLargeError } from '../../errors.js'
import { defaultConfig } from '../../repo/repo.js'
import { object, text, type RouteDeps } from '../schemas.js'
import { addOut, type AddOut } from '../shapes.js'

/** The bound on one upload when the server is given none (the daemon passes api.uploadLimit). */
export const DEFAULT_UPLOAD_LIMIT = defaultConfig().api.uploadLimit

export async function uploadRoutes (app: FastifyInstance, { node, limit }: RouteDeps & { limit: number }): Promise<void> {
  // Only in this plugin: elsewhere an octet-stream body is still refused (415).
  app.addContentTypeParser('application/octet-stream', (_req, payload, done) => { done(null, payload) })

  app.post<{ Querystring: { name: string, private?: 'true' | 'false' }, Body: IncomingMessage }>('/upload', {
    schema: { querystring: object({ name: text, private: { type: 'string', enum: ['true', 'false'] } }, ['name']) }
  }, async (req): Promise<AddOut> => {
    const declared = req.headers['content-length'] === undefined ? undefined : Number(req.headers['content-length'])
    if (declared !== undefined && declared > limit) throw new UploadTooLargeError(limit)
    const priv = req.query.private === undefined ? undefined : req.query.private === 'true'
    const r = await node.addStream(bounded(req.body, limit), { name: req.query.name, size: declared, private: priv, signal: req.callSignal })
    return addOut(r, node.network.ticket(r.cid, r.key))
  })
}

/** The body's pieces, failing once more than `limit` bytes came (a body sent without a length). */
async function * bounded (body: AsyncIterable<Uint8Array>, limit: number): AsyncGenerator<Uint8Array> {
  let bytes = 0
  for await (const piece of body) {
    bytes += piece.byteLength
    if (bytes > limit) throw new UploadTooLargeError(limit)
    yield piece
  }
}
