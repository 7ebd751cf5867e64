// My shares: each pinned root with the peers that fetched it from this node, live from the
// daemon's event stream (GET /shares/events). The stream's first event is the whole list,
// so after any break (the daemon restarted, the stream was cut) the next connection puts the
// page back in step by itself: no reload, nothing asked twice, and the list shown meanwhile
// stays on screen marked as not live.
import { useEffect, useRef, useState } from 'preact/hooks'
import { API, getJson } from './api.js'
import { bytes, short } from './format.js'
import { html } from './html.js'

interface Receipt { bytes: number, blocks: number, started: number, completed: number }
interface Receiver { peer: string, state: 'fetching' | 'completed', sentBytes: number, sentBlocks: number, firstSent: number, lastSent: number, completedAt?: number, receipt?: Receipt }
interface ShareItem { cid: string, name: string, size: number, type: string, added: number, receivers: Receiver[] }
interface ReceiverEvent { root: string, receiver: Receiver }

/** Receivers shown per share (the daemon keeps at most 256). */
const MAX_SHOWN = 256

/** Wait before opening a new stream when the browser gave up on one (it retries network errors itself). */
const REOPEN_MS = 2000

/** The list after one receiver changed: the receiver replaced (or added, latest last); undefined for a root the list lacks. */
export function applyEvent (list: ShareItem[], e: ReceiverEvent): ShareItem[] | undefined {
  if (!list.some(s => s.cid === e.root)) return undefined
  return list.map(s => s.cid !== e.root
    ? s
    : { ...s, receivers: [...s.receivers.filter(r => r.peer !== e.receiver.peer), e.receiver].slice(-MAX_SHOWN) })
}

/** Reads the list again while shown (`active`): a share made since the stream began is not in its first event. */
export function Shares ({ active }: { active: boolean }) {
  const [shares, setShares] = useState<ShareItem[] | undefined>(undefined)
  const [live, setLive] = useState(false)
  const reload = useRef<() => void>(() => {})
  useEffect(() => {
    let source: EventSource | undefined
    let timer: ReturnType<typeof setTimeout> | undefined
    const ctl = new AbortController()
    reload.current = () => {
      getJson<ShareItem[]>('/shares', AbortSignal.any([ctl.signal, AbortSignal.timeout(10_000)])).then(setShares, () => {})
    }
    const open = (): void => {
      source = new EventSource(`${API}/shares/events`)
      source.addEventListener('shares', (e) => { setShares(JSON.parse((e as MessageEvent<string>).data)); setLive(true) })
      source.addEventListener('receiver', (e) => {
        const event = JSON.parse((e as MessageEvent<string>).data) as ReceiverEvent
        setShares((list) => {
          const next = applyEvent(list ?? [], event)
          // A root pinned after the list came: the whole list again, with its name and size.
          if (next === undefined) reload.current()
          return next ?? list
        })
      })
      source.onerror = () => {
        setLive(false)
        // CLOSED: the browser will not retry (an HTTP error such as a 401 or a 503); try again
        // later. An EventSource does not tell the status, so a call finds out whether the
        // session is gone (a 401 there tells the page, api.ts LOGGED_OUT).
        if (source?.readyState === EventSource.CLOSED) {
          getJson('/id', AbortSignal.any([ctl.signal, AbortSignal.timeout(10_000)])).catch(() => {})
          timer = setTimeout(open, REOPEN_MS)
        }
      }
    }
    open()
    return () => { clearTimeout(timer); ctl.abort(); source?.close() }
  }, [])
  useEffect(() => { if (active) reload.current() }, [active])
  return html`
    <section aria-labelledby="shares-title">
      <h2 id="shares-title">My shares</h2>
      <p id="shares-live" class=${live ? 'muted' : 'error'} role="status">${live ? 'Live' : 'Not connected: reconnecting…'}</p>
      ${shares === undefined
        ? html`<p>Loading…</p>`
        : shares.length === 0
          ? html`<p>Nothing shared yet.</p>`
          : html`<ul class="shares">${shares.map(s => html`<${ShareRow} key=${s.cid} share=${s} />`)}</ul>`}
    </section>`
}

function ShareRow ({ share }: { share: ShareItem }) {
  const done = share.receivers.filter(r => r.state === 'completed').length
  return html`
    <li class="share" data-cid=${share.cid}>
      <div><strong>${share.name !== '' ? share.name : short(share.cid)}</strong> <span class="muted">${bytes(share.size)}</span></div>
      <div class="muted">${share.receivers.length === 0 ? 'No receivers yet' : `${done} of ${share.receivers.length} receivers completed`}</div>
      ${share.receivers.length > 0 && html`<ul class="receivers">${share.receivers.map(r => html`<${ReceiverRow} key=${r.peer} r=${r} size=${share.size} />`)}</ul>`}
    </li>`
}

function ReceiverRow ({ r, size }: { r: Receiver, size: number }) {
  const at = r.completedAt !== undefined ? new Date(r.completedAt).toLocaleTimeString() : ''
  return html`
    <li class="receiver" data-peer=${r.peer} data-state=${r.state}>
      <span class="mono" title=${r.peer}>${short(r.peer)}</span>
      ${r.state === 'completed'
        ? html` <span class="state">completed at ${at}</span> <span class="muted">(${bytes(r.receipt?.bytes ?? r.sentBytes)} from this node)</span>`
        : html` <span class="state">fetching</span> <progress aria-label=${`${short(r.peer)} fetching`} max=${Math.max(size, 1)} value=${Math.min(r.sentBytes, size)}></progress> <span class="muted">${bytes(r.sentBytes)} sent</span>`}
    </li>`
}
