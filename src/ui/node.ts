// Node: this daemon's identity, addresses, peers, DHT and storage, refreshed every 2 s, and
// what it served over the last minutes as a sparkline.
import { useEffect, useState } from 'preact/hooks'
import { getJson, type BandwidthOut, type StatusOut } from './api.js'
import { bytes, plural, rate, short } from './format.js'
import { html } from './html.js'

const REFRESH = 2000

/** Polls only while shown (`active`). */
export function NodeInfo ({ active }: { active: boolean }) {
  const [status, setStatus] = useState<StatusOut | undefined>(undefined)
  const [bandwidth, setBandwidth] = useState<BandwidthOut | undefined>(undefined)
  const [error, setError] = useState('')
  useEffect(() => {
    if (!active) return
    const ctl = new AbortController()
    const load = (): void => {
      const signal = AbortSignal.any([ctl.signal, AbortSignal.timeout(REFRESH * 2)])
      getJson<StatusOut>('/status', signal)
        .then((s) => { setStatus(s); setError('') }, (err: Error) => { if (!ctl.signal.aborted) setError(err.message) })
      getJson<BandwidthOut>('/bandwidth', signal).then(setBandwidth, () => {})
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
        ${status.offer !== undefined && status.offer > 0 && html`<dt>Offered to peers</dt><dd>${bytes(status.offer)}</dd>`}
      </dl>
      ${bandwidth !== undefined && html`<${Sparkline} b=${bandwidth} />`}
      <h3>Addresses</h3>
      <ul class="mono">${status.announced.map(a => html`<li key=${a}>${a}</li>`)}</ul>
      <h3>Peers</h3>
      ${status.connections.length === 0 ? html`<p>None connected.</p>` : html`<ul class="mono">${status.connections.map(p => html`<li key=${p.peer} title=${p.addrs.join('\n')}>${short(p.peer)}</li>`)}</ul>`}
    </section>`
}

/** Bytes served per interval as a line, the latest at the right; the numbers in its label and caption. */
function Sparkline ({ b }: { b: BandwidthOut }) {
  const w = 300
  const h = 40
  const max = Math.max(1, ...b.sent)
  const step = b.sent.length > 1 ? w / (b.sent.length - 1) : w
  const points = b.sent.map((v, i) => `${(i * step).toFixed(1)},${(h - 2 - v / max * (h - 4)).toFixed(1)}`).join(' ')
  const total = b.sent.reduce((a, v) => a + v, 0)
  const seconds = Math.round(b.sent.length * b.intervalMs / 1000)
  const span = seconds < 60 ? `${seconds} s` : `${Math.round(seconds / 60)} min`
  const now = rate((b.sent.at(-1) ?? 0) / (b.intervalMs / 1000))
  const label = `Served ${bytes(total)} in the last ${span}; now ${now}`
  return html`
    <figure class="spark" id="node-bandwidth">
      <svg viewBox=${`0 0 ${w} ${h}`} preserveAspectRatio="none" role="img" aria-label=${label}>
        ${b.sent.length > 0 && html`<polyline points=${points} fill="none" stroke="currentColor" stroke-width="1.5" vector-effect="non-scaling-stroke" />`}
      </svg>
      <figcaption>${b.sent.length === 0 ? 'Bandwidth: no sample yet (one every 5 s)' : label}</figcaption>
    </figure>`
}
