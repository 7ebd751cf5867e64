// The API's one error handler. Every failure leaves as { error, code, message, exitCode }
// with the HTTP status its error class declares (errors.ts); the CLI reads exitCode from the
// body, so it reports a daemon's failure exactly as it would report its own.
import type { FastifyError, FastifyReply, FastifyRequest, FastifySchemaValidationError } from 'fastify'
import { ApiError, InvalidArgumentError, PeerLinkError } from '../errors.js'
import type { ErrorBody } from './shapes.js'

export type { ErrorBody }

/** A PeerLinkError's own name, code and exit status; anything else is the daemon's fault. */
export function errorBody (err: Error): ErrorBody {
  return err instanceof PeerLinkError
    ? { error: err.name, code: err.code, message: err.message, exitCode: err.exitCode }
    : { error: err.name, code: 'ERR_INTERNAL', message: err.message, exitCode: 1 }
}

export async function handleApiError (err: FastifyError, req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  if (err.validation !== undefined) return await sendError(reply, invalidInput(err.validation, err.validationContext))
  if (err instanceof PeerLinkError) return await sendError(reply, err)
  // Fastify's own refusals: a body that is no JSON, too large, of a media type it does not read.
  if (err.statusCode !== undefined && err.statusCode < 500) {
    return await reply.code(err.statusCode).send({ error: 'BadRequest', code: 'ERR_BAD_REQUEST', message: err.message, exitCode: InvalidArgumentError.exitCode })
  }
  // A call whose client went away is no failure of the daemon's.
  if (req.callSignal.aborted) {
    req.log.info({ url: req.url, reason: err.message }, 'API call ended early')
    return await reply.code(499).send({ ...errorBody(err), code: 'ERR_CLIENT_GONE' })
  }
  req.log.error({ err }, 'API call failed')
  return await reply.code(500).send(errorBody(err))
}

/**
 * A streamed reply's source, its failure logged: once the first bytes are out, the error
 * handler no longer sees it. A client that went away is no failure of the daemon's.
 */
export async function * loggingFailure<T> (req: FastifyRequest, source: AsyncIterable<T>): AsyncGenerator<T> {
  try {
    yield * source
  } catch (err) {
    if (req.callSignal.aborted) req.log.info({ url: req.url, reason: (err as Error).message }, 'API call ended early')
    else req.log.error({ err, url: req.url }, 'API call failed after its reply began')
    throw err
  }
}

/** A route that does not exist (a CLI newer than its daemon, say): the same error body. */
export async function handleNoRoute (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  return await reply.code(404).send({ error: 'NotFound', code: 'ERR_NO_ROUTE', message: `the daemon has no route ${req.method} ${req.url}`, exitCode: ApiError.exitCode })
}

async function sendError (reply: FastifyReply, err: PeerLinkError): Promise<FastifyReply> {
  return await reply.code(err.httpStatus).send(errorBody(err))
}

const COUNT = 'must be a non-negative whole number'
/** What a schema's refusal means, by the keyword that refused (by the type, for `type`). */
const MEANING: Record<string, string> = { required: 'is required', minLength: 'is required', minItems: 'is required', pattern: COUNT, minimum: COUNT, maximum: COUNT }
const TYPE_MEANING: Record<string, string> = { string: 'is required', array: 'is required', boolean: 'must be true or false', 'integer,string,null': COUNT }

/** A schema's refusal as the InvalidArgumentError a handler checking by hand would raise. */
export function invalidInput (errors: FastifySchemaValidationError[], part = 'body'): InvalidArgumentError {
  const [e] = errors
  const path = e.instancePath.split('/').slice(1)
  if (e.keyword === 'required') path.push(String(e.params.missingProperty))
  if (path.length === 0) return new InvalidArgumentError(`the request's ${part} must be a JSON object`)
  const name = path.reduce((n, p) => /^\d+$/.test(p) ? `${n}[${p}]` : n === '' ? p : `${n}.${p}`, '')
  const meaning = e.keyword === 'type' ? TYPE_MEANING[String(e.params.type)] : MEANING[e.keyword]
  return new InvalidArgumentError(`${name} ${meaning ?? e.message ?? 'is not valid'}`)
}
