// What every API call passes through before its route: the bearer token (or the web page's
// session), then the AbortSignal the route hands to the node.
import { timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { ApiError, CrossSiteRequestError, InvalidArgumentError } from '../errors.js'
import { MIN_TOKEN_LENGTH } from '../repo/repo.js'
import type { UiSessions } from './ui-sessions.js'

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * What a route hands the node as `signal`: aborted when the caller goes away before its
     * reply is finished, or when the daemon stops.
     */
    callSignal: AbortSignal
    /** Whether the web page's session cookie (not the API token) authenticated the call. */
    viaSession: boolean
  }
}

type OnRequest = (req: FastifyRequest, reply: FastifyReply) => Promise<void>

/** Where the web page lives: its assets and its login hold no data, so they need no credentials. */
export const UI_PREFIX = '/ui'
/**
 * The header the page sends on every call that changes state. A cross-site form cannot send
 * a custom header, and a cross-site fetch() that does must ask first (CORS), which the API never allows.
 */
export const CSRF_HEADER = 'x-peerlink-csrf'
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/**
 * The session cookie's name, one per API port: browsers share cookies across the ports of a
 * host, and two daemons on one machine must not log each other's pages out.
 */
export function sessionCookie (req: FastifyRequest): string {
  return `peerlink-session-${req.socket.localPort ?? 0}`
}

/**
 * Answers 401 to a call with neither the repo's API token nor a live web-page session, and
 * 403 to a state-changing call that a session cookie alone authenticates but another site sent.
 * Routes under UI_PREFIX are public.
 */
export function bearerAuth (token: string, sessions?: UiSessions): OnRequest {
  const expected = Buffer.from(token)
  // An empty token would let a request without one through: never serve with a short one.
  if (expected.length < MIN_TOKEN_LENGTH) throw new InvalidArgumentError(`the API token is ${expected.length} characters; at least ${MIN_TOKEN_LENGTH} are needed`)
  return async (req, reply) => {
    const route = req.routeOptions.url
    if (route !== undefined && (route === UI_PREFIX || route.startsWith(UI_PREFIX + '/'))) return
    const auth = req.headers.authorization ?? ''
    const given = Buffer.from(auth.startsWith('Bearer ') ? auth.slice(7) : '')
    if (given.length === expected.length && timingSafeEqual(given, expected)) return
    const session = req.cookies?.[sessionCookie(req)]
    if (sessions !== undefined && auth === '' && session !== undefined && sessions.touch(session)) {
      req.viaSession = true
      if (!SAFE_METHODS.has(req.method) && !sentByThePage(req)) {
        throw new CrossSiteRequestError(`a ${req.method} with the page's session must come from the page itself (same-origin Origin and an ${CSRF_HEADER} header)`)
      }
      return
    }
    await reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'Unauthorized', code: 'ERR_UNAUTHORIZED', message: 'missing or wrong API token (it is in the repo\'s api.token), or no live web-page session (run `peerlink ui` for a login link)', exitCode: ApiError.exitCode })
  }
}

/** The page's own call: the custom header, and the browser's word that it is same-origin. */
function sentByThePage (req: FastifyRequest): boolean {
  if (req.headers[CSRF_HEADER] !== '1') return false
  const site = req.headers['sec-fetch-site']
  if (site !== undefined) return site === 'same-origin'
  const origin = req.headers.origin
  return origin !== undefined && req.headers.host !== undefined && origin === `http://${req.headers.host}`
}

/** Gives every call its `req.callSignal`. */
export function addCallSignal (app: FastifyInstance, daemon: AbortSignal): void {
  // Declared before any request (and set on each by the hook), so all requests share a shape.
  app.decorateRequest('callSignal', null as unknown as AbortSignal)
  app.addHook('onRequest', async (req, reply) => {
    const caller = new AbortController()
    reply.raw.once('close', () => { if (!reply.raw.writableFinished) caller.abort(new Error('the client went away')) })
    req.callSignal = AbortSignal.any([caller.signal, daemon])
  })
}
