// The page: four tabs (Share, Receive, My shares, Node) over the daemon's API, behind the session that
// `peerlink ui`'s login link opened. Without one, it says how to get one; when a call finds
// the session gone (the daemon restarted: sessions live in its memory), it says so. Every tab stays
// mounted (hidden when not shown), so a share or a fetch under way keeps going across tabs.
import { render } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { CallError, getJson, LOGGED_OUT } from './api.js'
import { html } from './html.js'
import { NodeInfo } from './node.js'
import { Receive } from './receive.js'
import { Share } from './share.js'
import { Shares } from './shares.js'

const TABS = [
  { id: 'share', label: 'Share', view: Share },
  { id: 'receive', label: 'Receive', view: Receive },
  { id: 'shares', label: 'My shares', view: Shares },
  { id: 'node', label: 'Node', view: NodeInfo }
] as const

/** `lost`: logged in, then a call found the session gone. */
type Login = 'checking' | 'in' | 'out' | 'lost'

const LOGIN_HOW = html`run <code>peerlink ui</code> on the machine of the daemon and open the link it prints (good once, for 60 seconds).`

function App () {
  const [tab, setTab] = useState<string>(location.hash.slice(1) || 'share')
  const [login, setLogin] = useState<Login>('checking')
  useEffect(() => {
    const lost = (): void => { setLogin(l => l === 'checking' ? 'out' : 'lost') }
    window.addEventListener(LOGGED_OUT, lost)
    getJson('/id').then(() => { setLogin('in') }, (err: Error) => { setLogin(err instanceof CallError && err.status === 401 ? 'out' : 'in') })
    return () => { window.removeEventListener(LOGGED_OUT, lost) }
  }, [])
  useEffect(() => { history.replaceState(null, '', `#${tab}`) }, [tab])
  if (login === 'out') return html`<main><h1>PeerLink</h1><p role="alert" id="login-needed">Not logged in: ${LOGIN_HOW}</p></main>`
  if (login === 'lost') {
    return html`<main><h1>PeerLink</h1><p role="alert" id="login-lost">Logged out: the daemon no longer knows this page's session (it restarted, or the session went unused for 12 hours). To log in again, ${LOGIN_HOW}</p></main>`
  }
  const current = TABS.find(t => t.id === tab) ?? TABS[0]
  // Arrow keys move between tabs, as in the WAI-ARIA tabs pattern.
  const onKey = (e: KeyboardEvent): void => {
    const i = TABS.findIndex(t => t.id === current.id)
    const next = e.key === 'ArrowRight' ? i + 1 : e.key === 'ArrowLeft' ? i - 1 : undefined
    if (next === undefined) return
    const t = TABS[(next + TABS.length) % TABS.length]
    setTab(t.id)
    document.getElementById(`tab-${t.id}`)?.focus()
  }
  return html`
    <header><h1>PeerLink</h1>
      <nav role="tablist" aria-label="Sections" onKeyDown=${onKey}>
        ${TABS.map(t => html`<button type="button" role="tab" id=${`tab-${t.id}`} key=${t.id} aria-selected=${t.id === current.id}
          aria-controls=${`panel-${t.id}`} tabIndex=${t.id === current.id ? 0 : -1} onClick=${() => { setTab(t.id) }}>${t.label}</button>`)}
      </nav>
    </header>
    ${login === 'checking' && html`<main><p>Connecting…</p></main>`}
    ${login === 'in' && TABS.map(t => html`
      <main key=${t.id} id=${`panel-${t.id}`} role="tabpanel" aria-labelledby=${`tab-${t.id}`} hidden=${t.id !== current.id}>
        <${t.view} active=${t.id === current.id} />
      </main>`)}`
}

render(html`<${App} />`, document.getElementById('app') as HTMLElement)
