// Node: this daemon's identity, addresses, peers, DHT and storage, refreshed every 2 s.
import { useEffect, useState } from 'preact/hooks'
import { getJson, type StatusOut } from './api.js'
import { bytes, plural, short } from './format.js'
import { html } from './html.js'

const REFRESH = 2000

/** Polls only while shown (`active`). */
export function NodeInfo ({ active }: { active: boolean }) {
  const [status, setStatus] = useState<StatusOut | undefined>(undefined)
  const [error, setError] = useState('')
  useEffect(() => {
    if (!active) return
    const ctl = new AbortController()
    const load = (): void => {
      getJson<StatusOut>('/status', AbortSignal.any([ctl.signal, AbortSignal.timeout(REFRESH * 2)]))
        .then((s) => { setStatus(s); setError('') }, (err: Error) => { if (!ctl.signal.aborted) setError(err.message) })
    }
    load()
    const timer = setInterval(load, REFRESH)
    return () => { clearInterval(timer); ctl.abort() }
  }, [active])
  if (status === undefined) return html`<section><h2>This node</h2><p>${error !== '' ? error : 'Loading…'}</p></section>`
  return html`
    <section aria-labelledby="node-title">
      <h2 id="node-title">This node</h2>
      ${error !== '' && html`<p class="error" role="alert">Not updated: ${error}</p>`}
      <dl>
        <dt>Peer id</dt><dd><code id="node-peer-id">${status.peerId}</code></dd>
        <dt>Connected peers</dt><dd>${status.connections.length}</dd>
        <dt>DHT routing table</dt><dd>${plural(status.dhtPeers, 'peer')}</dd>
        <dt>Stored</dt><dd>${bytes(status.usage.bytes)} in ${status.usage.blocks} blocks</dd>
      </dl>
      <h3>Addresses</h3>
      <ul class="mono">${status.announced.map(a => html`<li key=${a}>${a}</li>`)}</ul>
      <h3>Peers</h3>
      ${status.connections.length === 0 ? html`<p>None connected.</p>` : html`<ul class="mono">${status.connections.map(p => html`<li key=${p.peer} title=${p.addrs.join('\n')}>${short(p.peer)}</li>`)}</ul>`}
    </section>`
}
