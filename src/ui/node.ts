// Node: this daemon's identity, addresses, peers, DHT and storage, refreshed every 2 s, and
// what it served and fetched over the last minutes as a sparkline.
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

/** One series as an SVG polyline's points, scaled to `max`. */
function line (values: number[], max: number, w: number, h: number): string {
  const step = values.length > 1 ? w / (values.length - 1) : w
  return values.map((v, i) => `${(i * step).toFixed(1)},${(h - 2 - v / max * (h - 4)).toFixed(1)}`).join(' ')
}

/** "12 KiB in the last 5 min; now 3 KiB/s" for one series. */
function summary (values: number[], intervalMs: number): string {
  const total = values.reduce((a, v) => a + v, 0)
  const seconds = Math.round(values.length * intervalMs / 1000)
  const span = seconds < 60 ? `${seconds} s` : `${Math.round(seconds / 60)} min`
  return `${bytes(total)} in the last ${span}; now ${rate((values.at(-1) ?? 0) / (intervalMs / 1000))}`
}

/** Bytes served and fetched per interval as two lines on one scale, the latest at the right; the numbers in the label and caption. */
function Sparkline ({ b }: { b: BandwidthOut }) {
  const w = 300
  const h = 40
  const received = b.received ?? []
  const max = Math.max(1, ...b.sent, ...received)
  const label = `Served ${summary(b.sent, b.intervalMs)}. Fetched ${summary(received, b.intervalMs)}`
  return html`
    <figure class="spark" id="node-bandwidth">
      <svg viewBox=${`0 0 ${w} ${h}`} preserveAspectRatio="none" role="img" aria-label=${label}>
        ${b.sent.length > 0 && html`<polyline class="sent" points=${line(b.sent, max, w, h)} fill="none" stroke="currentColor" stroke-width="1.5" vector-effect="non-scaling-stroke" />`}
        ${received.length > 0 && html`<polyline class="received" points=${line(received, max, w, h)} fill="none" stroke-dasharray="4 3" stroke-width="1.5" vector-effect="non-scaling-stroke" />`}
      </svg>
      ${b.sent.length === 0
        ? html`<figcaption>Bandwidth: no sample yet (one every 5 s)</figcaption>`
        : html`<figcaption><span class="key sent">━ Served</span> ${summary(b.sent, b.intervalMs)}<br /><span class="key received">┅ Fetched</span> ${summary(received, b.intervalMs)}</figcaption>`}
    </figure>`
}
