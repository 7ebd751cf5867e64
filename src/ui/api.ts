// The page's calls to the daemon's API. The session cookie goes along by itself (same
// origin); every call that changes state carries the header the daemon demands of the page
// (see CSRF_HEADER in src/api/hooks.ts), which a cross-site form cannot send.
export const API = '/api/v1'
const CSRF = { 'x-peerlink-csrf': '1' }

/** A failed call, with the daemon's message and status (401: not logged in). */
export class CallError extends Error {
  constructor (message: string, readonly status: number) { super(message) }
}

export interface AddOut { cid: string, name: string, size: number, ticket?: string }
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
}
/** GET /bandwidth (src/api/routes/bandwidth.ts). */
export interface BandwidthOut { intervalMs: number, sent: number[] }

async function failure (res: Response): Promise<CallError> {
  const body = await res.json().catch(() => ({ message: `HTTP ${res.status}` })) as { message?: string }
  return new CallError(body.message ?? `HTTP ${res.status}`, res.status)
}

export async function getJson<T> (path: string, signal?: AbortSignal): Promise<T> {
  const res = await fetch(API + path, { signal, credentials: 'same-origin' })
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

/** Sends a file's bytes (streamed by the browser, never read whole here) to be added and shared. */
export async function upload (file: File, onSent: (bytes: number) => void): Promise<AddOut> {
  return await new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest()
    xhr.open('POST', `${API}/upload?name=${encodeURIComponent(file.name)}`)
    xhr.setRequestHeader('content-type', 'application/octet-stream')
    xhr.setRequestHeader('x-peerlink-csrf', '1')
    xhr.upload.onprogress = (e) => { onSent(e.loaded) }
    xhr.onload = () => {
      let body: { message?: string } & AddOut
      try { body = JSON.parse(xhr.responseText) } catch { body = { message: `HTTP ${xhr.status}` } as unknown as AddOut }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body)
      else reject(new CallError(body.message ?? `HTTP ${xhr.status}`, xhr.status))
    }
    xhr.onerror = () => { reject(new CallError('the upload broke off: is the daemon still running?', 0)) }
    xhr.send(file)
  })
}

/** Where the daemon streams a file's bytes with a name to save them under. */
export function downloadUrl (cid: string): string {
  return `${API}/cat/${encodeURIComponent(cid)}?download=1`
}
