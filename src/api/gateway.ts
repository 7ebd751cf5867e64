// The HTTP gateway: a second, read-only HTTP server on its own address (gateway.address) that
// a browser or a video player reads roots from by URL, with no token. It serves
// /ipfs/<cid or ticket>[/path] with the headers caches and players need, byte ranges, and
// HTML listings of directories; its routes are in gateway-routes.ts. Errors are plain text
// with the status their class declares.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyReply, type FastifyRequest } from 'fastify'
import type { Logger } from 'pino'
import { PeerLinkError, RangeNotSatisfiableError } from '../errors.js'
import type { PeerLinkNode } from '../node/peerlink.js'
import { gatewayRoutes } from './gateway-routes.js'
import { addCallSignal } from './hooks.js'
import { splitAddress, type ApiServer } from './server.js'

export interface GatewayOptions {
  node: PeerLinkNode
  /** host:port */
  address: string
  logger: Logger
  /** Aborted when the daemon stops: reads in flight end with it. */
  signal: AbortSignal
}

export async function startGateway (o: GatewayOptions): Promise<ApiServer> {
  const [host, port] = splitAddress(o.address)
  const app = Fastify({
    loggerInstance: o.logger.child({ component: 'gateway' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    // GET and HEAD are declared together: a HEAD answers from the manifest, never reads data.
    exposeHeadRoutes: false
  })
  addCallSignal(app, o.signal)
  app.setErrorHandler(plainError)
  app.setNotFoundHandler(async (req, reply) => await reply.code(404).type('text/plain; charset=utf-8').send(`no such page: ${req.url} (the gateway serves /ipfs/<cid>[/path])\n`))
  await app.register(gatewayRoutes, { node: o.node })
  await app.listen({ host, port: Number(port) })
  const bound = app.server.address()
  const address = typeof bound === 'object' && bound !== null ? `${bound.address}:${bound.port}` : o.address
  return { address, close: async () => { await app.close() } }
}

/** PeerLink's own message with its class's status (400 bad CID, 404 no such path, 504 no provider…). */
async function plainError (err: FastifyError, req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  let status = 500
  if (err instanceof PeerLinkError) status = err.httpStatus
  else if (err.statusCode !== undefined && err.statusCode < 500) status = err.statusCode
  else if (req.callSignal.aborted) status = 499
  // Headers a file's reply had set before failing must not make its error cached as the file.
  for (const h of ['etag', 'cache-control', 'content-disposition', 'content-length', 'content-range', 'accept-ranges']) reply.removeHeader(h)
  if (err instanceof RangeNotSatisfiableError) void reply.header('content-range', `bytes */${err.size}`)
  if (status >= 500 && status !== 502 && status !== 503 && status !== 504) req.log.error({ err, url: req.url }, 'gateway request failed')
  return await reply.code(status).type('text/plain; charset=utf-8').send(`${err.message}\n`)
}
