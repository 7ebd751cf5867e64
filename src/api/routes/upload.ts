// Upload: a file's bytes in the request body (application/octet-stream), imported as they
// arrive, pinned and announced as `add` does a path. The body is streamed, never buffered
// whole: the API's 1 MiB body limit is for JSON, so this route counts the bytes itself and
// stops at its own bound. The file's name comes in the query string.
import { mkdtemp, rm } from 'node:fs/promises'
import type { IncomingMessage } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { InvalidArgumentError, UploadTooLargeError } from '../../errors.js'
import { isSafeName } from '../../files/format.js'
import { defaultConfig } from '../../repo/repo.js'
import { FOLDER_TYPE, receiveFolder } from '../folder-upload.js'
import { object, text, type RouteDeps } from '../schemas.js'
import { addOut, type AddOut } from '../shapes.js'

/** The bound on one upload when the server is given none (the daemon passes api.uploadLimit). */
export const DEFAULT_UPLOAD_LIMIT = defaultConfig().api.uploadLimit

export async function uploadRoutes (app: FastifyInstance, { node, limit }: RouteDeps & { limit: number }): Promise<void> {
  // Only in this plugin: elsewhere an octet-stream body is still refused (415).
  app.addContentTypeParser(['application/octet-stream', FOLDER_TYPE], (_req, payload, done) => { done(null, payload) })

  app.post<UploadRequest>('/upload', { schema: { querystring } }, async (req): Promise<AddOut> => {
    const declared = declaredSize(req.headers['content-length'], limit)
    const r = await node.addStream(bounded(req.body, limit), { name: req.query.name, size: declared, private: privateOf(req.query), signal: req.callSignal })
    return addOut(r, node.network.ticket(r.cid, r.key))
  })

  // A folder (folder-upload.ts): its files land in a temporary directory outside the repo as
  // they arrive, then are added as `add -r` adds a directory, so a folder from the page is
  // the same tree, with the same checks, as one added from the command line.
  app.post<UploadRequest>('/upload/folder', { schema: { querystring } }, async (req): Promise<AddOut> => {
    if (req.headers['content-type'] !== FOLDER_TYPE) throw new InvalidArgumentError(`a folder upload is sent as ${FOLDER_TYPE}`)
    if (!isSafeName(req.query.name)) throw new InvalidArgumentError(`${JSON.stringify(req.query.name.slice(0, 300))} is not a usable folder name: 1 to 255 characters, not '.' or '..', without '/', '\\' or NUL`)
    declaredSize(req.headers['content-length'], limit)
    const tmp = await mkdtemp(join(tmpdir(), 'peerlink-upload-'))
    try {
      const dir = join(tmp, req.query.name)
      const got = await receiveFolder(req.body, dir, limit, req.callSignal)
      if (got.files === 0) throw new InvalidArgumentError('the folder upload holds no file')
      const r = await node.add(dir, { recursive: true, private: privateOf(req.query), signal: req.callSignal }).catch((err: Error) => {
        // The temporary directory means nothing to the user: paths read as inside the folder.
        err.message = err.message.replaceAll(`${tmp}/`, '')
        throw err
      })
      return addOut(r, node.network.ticket(r.cid, r.key))
    } finally {
      await rm(tmp, { recursive: true, force: true })
    }
  })
}

interface UploadRequest { Querystring: { name: string, private?: 'true' | 'false' }, Body: IncomingMessage }
const querystring = object({ name: text, private: { type: 'string', enum: ['true', 'false'] } }, ['name'])

/** `?private=`, or undefined for the repo's default (import.private). */
function privateOf (q: UploadRequest['Querystring']): boolean | undefined {
  return q.private === undefined ? undefined : q.private === 'true'
}

/** The body's declared length, refused up front when over the limit. */
function declaredSize (header: string | undefined, limit: number): number | undefined {
  const declared = header === undefined ? undefined : Number(header)
  if (declared !== undefined && declared > limit) throw new UploadTooLargeError(limit)
  return declared
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
