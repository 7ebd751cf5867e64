// The CLI's way to a running daemon: api.json in the repo says where it listens, api.token
// authenticates. A stale api.json (its process is gone, or nothing listens where it says) is
// ignored.
//
// Requests go through node:http, one connection each (closed after the reply), not the
// global fetch: fetch's HTTP parser is WebAssembly, which V8 compiles again in the background
// once a request has run, and a process waits for that compilation before it exits (about
// 0.2 s, the larger part of a short command's time).
import { readFile } from 'node:fs/promises'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { connect } from 'node:net'
import { ApiError } from '../errors.js'
import { decodeFrames, FRAMES_TYPE } from '../api/frames.js'
import { API_PREFIX, type ErrorBody } from '../api/shapes.js'
import type { DaemonInfo } from '../api/daemon.js'
import { processAlive } from '../files/fs.js'
import { readToken, repoPaths } from '../repo/repo.js'

export async function findDaemon (repo: string): Promise<DaemonClient | undefined> {
  let info: DaemonInfo
  try {
    info = JSON.parse(await readFile(repoPaths(repo).api, 'utf8'))
  } catch {
    return undefined
  }
  // Its process gone, or its pid taken by another process after a crash: nothing listens.
  if (!processAlive(info.pid) || !await listening(info.address)) return undefined
  return new DaemonClient(info, await readToken(repo))
}

/** Whether a TCP connection to host:port is accepted (refused at once when nobody listens). */
async function listening (address: string): Promise<boolean> {
  const i = address.lastIndexOf(':')
  return await new Promise<boolean>((resolve) => {
    const socket = connect({ host: address.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(address.slice(i + 1)), timeout: 2000 })
    const done = (ok: boolean): void => { socket.destroy(); resolve(ok) }
    socket.once('connect', () => { done(true) })
    socket.once('timeout', () => { done(true) }) // slow to accept is not gone: let the call say what is wrong
    socket.once('error', () => { done(false) })
  })
}

export class DaemonClient {
  private readonly base: string
  /** Ends every request still open: the daemon sees its caller go and aborts the work. */
  private readonly requests = new AbortController()
  constructor (readonly info: DaemonInfo, private readonly token: string) {
    const [host, port] = [info.address.slice(0, info.address.lastIndexOf(':')), info.address.slice(info.address.lastIndexOf(':') + 1)]
    this.base = `http://${host.includes(':') ? `[${host}]` : host}:${port}${API_PREFIX}`
  }

  async call<T> (method: 'GET' | 'POST', path: string, body?: unknown, signal?: AbortSignal, headers?: Record<string, string>): Promise<T> {
    const res = await this.request(method, path, body, signal, headers)
    const text = await replyText(res)
    try {
      return JSON.parse(text) as T
    } catch (err) {
      throw new ApiError(`the daemon's reply is not JSON: ${(err as Error).message}`)
    }
  }

  /** A raw response, for streamed bodies; throws the daemon's error on a failure status. */
  /** `headers`: more to send (a private root's key goes in one, never in the URL). */
  async request (method: 'GET' | 'POST', path: string, body?: unknown, signal?: AbortSignal, headers?: Record<string, string>): Promise<IncomingMessage> {
    const data = body !== undefined ? JSON.stringify(body) : undefined
    let res: IncomingMessage
    try {
      res = await new Promise<IncomingMessage>((resolve, reject) => {
        const req = httpRequest(this.base + path, {
          method,
          // A connection of its own, closed after the reply: none is left open to keep the process.
          agent: false,
          // Frames wherever a route offers them: replyBody reads them, so a failure after a
          // streamed reply began arrives as the daemon's own error.
          headers: { authorization: `Bearer ${this.token}`, accept: `${FRAMES_TYPE}, */*`, ...(data !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {}), ...headers },
          // Aborted by the caller, or with every request when the CLI is interrupted (abort()).
          signal: signal !== undefined ? AbortSignal.any([signal, this.requests.signal]) : this.requests.signal
        }, resolve)
        req.once('error', reject)
        req.end(data)
      })
    } catch (err) {
      throw new ApiError(`cannot reach the daemon at ${this.info.address}: ${(err as Error).message}`)
    }
    const status = res.statusCode ?? 0
    if (status < 200 || status > 299) {
      const text = await replyText(res)
      let error: ErrorBody
      try {
        error = JSON.parse(text) as ErrorBody
      } catch {
        error = { error: 'ApiError', code: 'ERR_API', message: `HTTP ${status}`, exitCode: ApiError.exitCode }
      }
      throw toError(error)
    }
    return res
  }

  /** Aborts the requests under way (a Ctrl-C): a fetch stops at the daemon, its blocks stay. */
  abort (): void {
    this.requests.abort(new Error('interrupted'))
  }

  /** Reads an NDJSON stream: progress lines to `onLine`, then the result (or the error thrown). */
  async stream<T, L> (path: string, body: unknown, onLine: (line: L) => void): Promise<T> {
    const res = await this.request('POST', path, body)
    const decoder = new TextDecoder()
    let buf = ''
    for await (const chunk of replyBody(res)) {
      buf += decoder.decode(chunk, { stream: true })
      let nl
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = JSON.parse(buf.slice(0, nl))
        buf = buf.slice(nl + 1)
        if ('result' in line) return line.result as T
        if ('error' in line) throw toError(line.error as ErrorBody)
        onLine(line as L)
      }
    }
    throw new ApiError('the daemon ended the reply without a result (did it stop?)')
  }
}

/**
 * A reply's body, for every reader of one (JSON, NDJSON, a file's bytes); a connection closed
 * mid-reply is an ApiError that says so (fetch itself says only "terminated"). A framed body
 * yields its data, and its error frame is thrown as the daemon's error.
 */
export async function * replyBody (res: IncomingMessage): AsyncGenerator<Uint8Array> {
  if (res.headers['content-type']?.startsWith(FRAMES_TYPE) === true) {
    yield * decodeFrames(rawBody(res), toError)
    return
  }
  yield * rawBody(res)
}

/** A whole reply's body as text (JSON: a result, or the daemon's error). */
async function replyText (res: IncomingMessage): Promise<string> {
  const decoder = new TextDecoder()
  let text = ''
  for await (const chunk of replyBody(res)) text += decoder.decode(chunk, { stream: true })
  return text + decoder.decode()
}

async function * rawBody (res: IncomingMessage): AsyncGenerator<Buffer> {
  try {
    yield * res as AsyncIterable<Buffer>
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    // Node names a connection closed before the reply's end "aborted" (ECONNRESET).
    const how = e.code === 'ECONNRESET' ? 'the connection closed before its end' : e.message
    throw new ApiError(`the daemon's reply broke off: ${how}${e.code !== undefined ? ` (${e.code})` : ''}`)
  }
}

function toError (b: ErrorBody): ApiError {
  return new ApiError(b.message, b.error, b.exitCode, b.code)
}
