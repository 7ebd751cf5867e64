// The daemon's HTTP API: JSON over HTTP on 127.0.0.1 (beyond loopback only when the config
// says so), every route behind the repo's bearer token or the web page's session (the page
// itself, under /ui/, is public: it holds no data). Errors come back as
// { error: name, code, message, exitCode } with the status their class declares, so the CLI
// can report them exactly as it would locally. Long operations (fetch, add with progress)
// stream progress as NDJSON lines ending with a result (or error) line.
import fastifyCookie from '@fastify/cookie'
import Fastify, { LogController, type FastifyBaseLogger } from 'fastify'
import type { Logger } from 'pino'
import type { PeerLinkNode } from '../node/peerlink.js'
import { handleApiError, handleNoRoute } from './error-handler.js'
import { addCallSignal, bearerAuth } from './hooks.js'
import { bandwidthRoutes } from './routes/bandwidth.js'
import { fileRoutes } from './routes/files.js'
import { storageRoutes } from './routes/storage.js'
import { metricsRoutes } from './routes/metrics.js'
import { networkRoutes } from './routes/network.js'
import { repoRoutes } from './routes/repo.js'
import { shareRoutes } from './routes/shares.js'
import { uiRoutes } from './routes/ui.js'
import { DEFAULT_UPLOAD_LIMIT, uploadRoutes } from './routes/upload.js'
import { API_PREFIX } from './shapes.js'
import { UiSessions } from './ui-sessions.js'

export interface ApiServerOptions {
  node: PeerLinkNode
  token: string
  /** host:port */
  address: string
  logger: Logger
  /** Aborted when the daemon stops: in-flight operations end with it. */
  signal: AbortSignal
  /** Most bytes one upload (POST /upload) may hold. @default DEFAULT_UPLOAD_LIMIT */
  uploadLimit?: number
}

export interface ApiServer {
  /** The address actually bound (port 0 becomes a real port). */
  address: string
  close: () => Promise<void>
}

export async function startApi (o: ApiServerOptions): Promise<ApiServer> {
  const [host, port] = splitAddress(o.address)
  const sessions = new UiSessions()
  const auth = bearerAuth(o.token, sessions)
  const app = Fastify({
    // As Fastify's own logger type, which the route plugins are written against.
    loggerInstance: o.logger.child({ component: 'api' }) as FastifyBaseLogger,
    bodyLimit: 1024 * 1024,
    logController: new LogController({ disableRequestLogging: true }),
    // Input is taken as typed, not coerced (5 is no path, "yes" no flag): a schema that
    // takes strings too, as query strings need, says so itself.
    ajv: { customOptions: { coerceTypes: false, allowUnionTypes: true } }
  })
  await app.register(fastifyCookie)
  app.decorateRequest('viaSession', false)
  app.addHook('onRequest', auth)
  addCallSignal(app, o.signal)
  app.setErrorHandler(handleApiError)
  app.setNotFoundHandler(handleNoRoute)

  const deps = { node: o.node, prefix: API_PREFIX }
  await app.register(fileRoutes, deps)
  await app.register(networkRoutes, deps)
  await app.register(repoRoutes, deps)
  await app.register(shareRoutes, deps)
  await app.register(storageRoutes, deps)
  await app.register(bandwidthRoutes, deps)
  await app.register(uploadRoutes, { ...deps, limit: o.uploadLimit ?? DEFAULT_UPLOAD_LIMIT })
  await app.register(uiRoutes, { node: o.node, sessions })
  await app.register(metricsRoutes, { ...deps, prefix: '' })

  await app.listen({ host, port: Number(port) })
  const bound = app.server.address()
  const address = typeof bound === 'object' && bound !== null ? `${bound.address}:${bound.port}` : o.address
  return { address, close: async () => { await app.close() } }
}

export function splitAddress (address: string): [string, string] {
  const i = address.lastIndexOf(':')
  return [address.slice(0, i), address.slice(i + 1)]
}
