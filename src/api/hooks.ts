// What every API call passes through before its route: the bearer token, then the
// AbortSignal the route hands to the node.
import { timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { ApiError, InvalidArgumentError } from '../errors.js'
import { MIN_TOKEN_LENGTH } from '../repo/repo.js'

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * What a route hands the node as `signal`: aborted when the caller goes away before its
     * reply is finished, or when the daemon stops.
     */
    callSignal: AbortSignal
  }
}

type OnRequest = (req: FastifyRequest, reply: FastifyReply) => Promise<void>

/** Answers 401 to a call without the repo's API token. */
export function bearerAuth (token: string): OnRequest {
  const expected = Buffer.from(token)
  // An empty token would let a request without one through: never serve with a short one.
  if (expected.length < MIN_TOKEN_LENGTH) throw new InvalidArgumentError(`the API token is ${expected.length} characters; at least ${MIN_TOKEN_LENGTH} are needed`)
  return async (req, reply) => {
    const auth = req.headers.authorization ?? ''
    const given = Buffer.from(auth.startsWith('Bearer ') ? auth.slice(7) : '')
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      await reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'Unauthorized', code: 'ERR_UNAUTHORIZED', message: 'missing or wrong API token (it is in the repo\'s api.token)', exitCode: ApiError.exitCode })
    }
  }
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
