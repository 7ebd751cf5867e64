// Receive: paste a link (or a CID), watch the fetch (providers, bytes, rate, time left,
// peers), then save the file, or each file of a folder: the daemon's save link, so the
// browser streams it to disk, and a private root's key never goes in a URL.
import { useRef, useState } from 'preact/hooks'
import { postNdjson, type FetchOut } from './api.js'
import { bytes, eta, plural, rate, short } from './format.js'
import { html } from './html.js'
import { Folder, SaveButton } from './save.js'

interface Progress { name: string, size: number, bytes: number, started: number, providers: string[] }
interface Line { event: string, detail: { name?: string, size?: number, bytes?: number, peer?: string, status?: string } }

type State =
  | { step: 'idle' }
  | { step: 'fetching', p: Progress }
  | { step: 'done', result: FetchOut, link: string }
  | { step: 'failed', message: string }

/** A fetch's progress after one more NDJSON line. */
function advance (p: Progress, line: Line): Progress {
  const d = line.detail
  if (line.event === 'fetch:start') return { ...p, name: d.name ?? '', size: d.size ?? 0, started: Date.now() }
  if (line.event === 'files:export:progress') return { ...p, bytes: d.bytes ?? p.bytes }
  if (line.event === 'exchange:session:provider' && d.peer !== undefined) {
    const others = p.providers.filter(x => x !== d.peer)
    return { ...p, providers: d.status === 'joined' ? [...others, d.peer] : others }
  }
  return p
}

export function Receive () {
  const [target, setTarget] = useState('')
  const [state, setState] = useState<State>({ step: 'idle' })
  const running = useRef<AbortController | undefined>(undefined)

  async function receive (e: Event): Promise<void> {
    e.preventDefault()
    const link = target.trim()
    if (link === '') return
    running.current?.abort()
    const ctl = new AbortController()
    running.current = ctl
    let p: Progress = { name: '', size: 0, bytes: 0, started: Date.now(), providers: [] }
    setState({ step: 'fetching', p })
    try {
      const result = await postNdjson<FetchOut, Line>('/fetch', { target: link }, (line) => {
        p = advance(p, line)
        setState({ step: 'fetching', p })
      }, ctl.signal)
      setState({ step: 'done', result, link })
    } catch (err) {
      if (!ctl.signal.aborted) setState({ step: 'failed', message: (err as Error).message })
    }
  }

  return html`
    <section aria-labelledby="receive-title">
      <h2 id="receive-title">Receive a file</h2>
      <form onSubmit=${receive}>
        <label for="receive-link">Share link or CID</label>
        <div class="row">
          <input id="receive-link" required placeholder="peerlink:…" value=${target}
            onInput=${(e: Event) => { setTarget((e.target as HTMLInputElement).value) }} />
          <button type="submit" disabled=${state.step === 'fetching'}>Fetch</button>
        </div>
      </form>
      ${state.step === 'fetching' && html`<${Fetching} p=${state.p} />`}
      ${state.step === 'done' && html`
        <div class="result" role="status">
          <p id="receive-done" data-cid=${state.result.cid}>Received <strong>${state.result.name}</strong> (${bytes(state.result.size)}) in ${(state.result.ms / 1000).toFixed(1)} s.</p>
          ${state.result.type === 'file'
            ? html`<${SaveButton} id="receive-save" target=${state.link} name=${state.result.name} />`
            : html`<${Folder} link=${state.link} root=${state.result.cid} />`}
        </div>`}
      ${state.step === 'failed' && html`<p class="error" role="alert">Could not receive: ${state.message}</p>`}
    </section>`
}

function Fetching ({ p }: { p: Progress }) {
  const seconds = (Date.now() - p.started) / 1000
  const speed = seconds > 0 ? p.bytes / seconds : 0
  const left = eta(p.size - p.bytes, speed)
  return html`
    <div class="progress" aria-live="polite">
      <label for="receive-progress">${p.name === '' ? 'Looking for providers…' : `Fetching ${p.name}: ${bytes(p.bytes)} of ${bytes(p.size)}`}</label>
      <progress id="receive-progress" max=${Math.max(p.size, 1)} value=${p.bytes}></progress>
      <p>${rate(speed)}${left !== '' ? `, ${left} left` : ''}, ${plural(p.providers.length, 'peer')}</p>
      ${p.providers.length > 0 && html`<ul class="peers">${p.providers.map(id => html`<li key=${id} title=${id}>${short(id)}</li>`)}</ul>`}
    </div>`
}
