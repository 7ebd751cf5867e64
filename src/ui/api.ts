// The page's calls to the daemon's API. The session cookie goes along by itself (same
// origin); every call that changes state carries the header the daemon demands of the page
// (see CSRF_HEADER in src/api/hooks.ts), which a cross-site form cannot send.
export const API = '/api/v1'
const CSRF = { 'x-peerlink-csrf': '1' }

/** A failed call, with the daemon's message and status (401: not logged in). */
export class CallError extends Error {
  constructor (message: string, readonly status: number) { super(message) }
}

export interface AddOut { cid: string, name: string, type: 'file' | 'directory', size: number, files: number, ticket?: string }
export interface FetchOut { cid: string, name: string, type: string, size: number, fetchedBytes: number, ms: number }
/** GET /status (src/api/shapes.ts StatusOut): what the page shows of it. */
export interface StatusOut {
  peerId: string
  announced: string[]
  connections: Array<{ peer: string, addrs: string[] }>
  dhtPeers: number
  usage: { blocks: number, bytes: number }
  /** The storage.offer config key (bytes offered to other peers), when the daemon has it. */
  offer?: number
  /** The import.private config key: whether the page's Private box starts ticked. */
  importPrivate?: boolean
}
/** GET /bandwidth (src/api/routes/bandwidth.ts). */
export interface BandwidthOut { intervalMs: number, sent: number[], received?: number[] }

/** Fired on `window` when a call finds no session (the daemon restarted, or the session ended). */
export const LOGGED_OUT = 'peerlink:logged-out'

function refused (message: string, status: number): CallError {
  if (status === 401) window.dispatchEvent(new Event(LOGGED_OUT))
  return new CallError(message, status)
}

async function failure (res: Response): Promise<CallError> {
  const body = await res.json().catch(() => ({ message: `HTTP ${res.status}` })) as { message?: string }
  return refused(body.message ?? `HTTP ${res.status}`, res.status)
}

export async function getJson<T> (path: string, signal?: AbortSignal, headers?: Record<string, string>): Promise<T> {
  const res = await fetch(API + path, { signal, credentials: 'same-origin', headers })
  if (!res.ok) throw await failure(res)
  return await res.json() as T
}

export async function postJson<T> (path: string, body: unknown, signal?: AbortSignal): Promise<T> {
  const res = await fetch(API + path, { method: 'POST', signal, credentials: 'same-origin', headers: { 'content-type': 'application/json', ...CSRF }, body: JSON.stringify(body) })
  if (!res.ok) throw await failure(res)
  return await res.json() as T
}

/**
 * POSTs JSON and reads the NDJSON reply line by line: progress lines to `onLine`, then the
 * result (or the error thrown). Bounded: one line may not exceed 1 MiB.
 */
export async function postNdjson<T, L> (path: string, body: unknown, onLine: (line: L) => void, signal?: AbortSignal): Promise<T> {
  const res = await fetch(API + path, { method: 'POST', signal, credentials: 'same-origin', headers: { 'content-type': 'application/json', ...CSRF }, body: JSON.stringify(body) })
  if (!res.ok || res.body === null) throw await failure(res)
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
  let buf = ''
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    buf += value
    if (buf.length > 1024 * 1024) throw new CallError('the daemon sent a progress line over 1 MiB', 502)
    let nl
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = JSON.parse(buf.slice(0, nl)) as { result?: T, error?: { message: string } }
      buf = buf.slice(nl + 1)
      if (line.error !== undefined) throw new CallError(line.error.message, 200)
      if ('result' in line) return line.result as T
      onLine(line as L)
    }
  }
  throw new CallError('the daemon ended the reply without a result (did it stop?)', 502)
}

/** What the Share tab sends: one file, or a folder's files with their paths inside it. */
export type Upload =
  | { kind: 'file', file: File }
  | { kind: 'folder', name: string, files: Array<{ path: string, file: File }> }

/** Bytes the upload's body holds (the progress bar's end). */
export function uploadSize (u: Upload): number {
  return u.kind === 'file' ? u.file.size : u.files.reduce((a, f) => a + f.file.size, 0)
}

/**
 * A folder's body as the daemon reads it (src/api/folder-upload.ts): per file a 4-byte
 * big-endian header length, the header `{ path, size }` as JSON, the bytes. A Blob of the
 * files themselves, so the browser streams them and the page never reads one.
 */
function folderBody (files: Array<{ path: string, file: File }>): Blob {
  const parts: BlobPart[] = []
  for (const { path, file } of files) {
    const header = new TextEncoder().encode(JSON.stringify({ path, size: file.size }))
    const len = new Uint8Array(4)
    new DataView(len.buffer).setUint32(0, header.byteLength)
    parts.push(len, header, file)
  }
  return new Blob(parts)
}

/** Sends a file or a folder (streamed by the browser, never read whole here) to be added and shared. */
export async function upload (u: Upload, priv: boolean, onSent: (bytes: number) => void): Promise<AddOut> {
  const [path, name, type, body] = u.kind === 'file'
    ? ['/upload', u.file.name, 'application/octet-stream', u.file]
    : ['/upload/folder', u.name, 'application/x-peerlink-folder', folderBody(u.files)]
  return await new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest()
    xhr.open('POST', `${API}${path}?name=${encodeURIComponent(name)}&private=${String(priv)}`)
    xhr.setRequestHeader('content-type', type)
    xhr.setRequestHeader('x-peerlink-csrf', '1')
    xhr.upload.onprogress = (e) => { onSent(e.loaded) }
    xhr.onload = () => {
      let body: { message?: string } & AddOut
      try { body = JSON.parse(xhr.responseText) } catch { body = { message: `HTTP ${xhr.status}` } as unknown as AddOut }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body)
      else reject(refused(body.message ?? `HTTP ${xhr.status}`, xhr.status))
    }
    xhr.onerror = () => { reject(new CallError('the upload broke off: is the daemon still running?', 0)) }
    xhr.send(body)
  })
}

/** A link that saves what `target` (the link pasted, a private one's key included) names, from the daemon's save links. */
export async function saveUrl (target: string, signal?: AbortSignal): Promise<string> {
  return (await postJson<{ url: string }>('/saves', { target }, signal)).url
}
