// Long operations (add with progress, fetch) answer in NDJSON: progress lines, then one line
// with the result or the error.
import { PassThrough } from 'node:stream'
import type { FastifyReply } from 'fastify'
import { errorBody } from './error-handler.js'

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
  void run(emit).then((result) => { finish({ result }) }, (err: Error) => { finish({ error: errorBody(err) }) })
  return await reply.type('application/x-ndjson').send(out)
}

function bigintSafe (_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value
}
