// Share: pick or drop a file, watch it go in, get its link (with a copy button and a QR code).
import QRCode from 'qrcode'
import { useState } from 'preact/hooks'
import { upload, type AddOut } from './api.js'
import { bytes } from './format.js'
import { html } from './html.js'

type State =
  | { step: 'idle' }
  | { step: 'sending', name: string, size: number, sent: number }
  | { step: 'done', added: AddOut, qr: string }
  | { step: 'failed', message: string }

export function Share () {
  const [state, setState] = useState<State>({ step: 'idle' })
  const [over, setOver] = useState(false)

  async function share (file: File): Promise<void> {
    setState({ step: 'sending', name: file.name, size: file.size, sent: 0 })
    try {
      const added = await upload(file, (sent) => { setState({ step: 'sending', name: file.name, size: file.size, sent }) })
      const qr = added.ticket !== undefined ? await QRCode.toString(added.ticket, { type: 'svg', errorCorrectionLevel: 'L', margin: 2 }) : ''
      setState({ step: 'done', added, qr })
    } catch (err) {
      setState({ step: 'failed', message: (err as Error).message })
    }
  }

  const picked = (files: FileList | null | undefined): void => {
    const file = files?.[0]
    if (file !== undefined) void share(file)
  }

  return html`
    <section aria-labelledby="share-title">
      <h2 id="share-title">Share a file</h2>
      <label class=${`drop${over ? ' over' : ''}`}
        onDragOver=${(e: DragEvent) => { e.preventDefault(); setOver(true) }}
        onDragLeave=${() => { setOver(false) }}
        onDrop=${(e: DragEvent) => { e.preventDefault(); setOver(false); picked(e.dataTransfer?.files) }}>
        <span>Drop a file here, or choose one:</span>
        <input id="share-file" type="file" disabled=${state.step === 'sending'}
          onChange=${(e: Event) => { picked((e.target as HTMLInputElement).files) }} />
      </label>
      <${Progress} state=${state} />
      ${state.step === 'done' && html`<${ShareLink} added=${state.added} qr=${state.qr} />`}
      ${state.step === 'failed' && html`<p class="error" role="alert">Could not share: ${state.message}</p>`}
    </section>`
}

function Progress ({ state }: { state: State }) {
  if (state.step !== 'sending') return null
  return html`
    <div class="progress">
      <label for="share-progress">Adding ${state.name}: ${bytes(state.sent)} of ${bytes(state.size)}</label>
      <progress id="share-progress" max=${Math.max(state.size, 1)} value=${state.sent}></progress>
    </div>`
}

function ShareLink ({ added, qr }: { added: AddOut, qr: string }) {
  const [copied, setCopied] = useState(false)
  const link = added.ticket ?? added.cid
  const copy = async (): Promise<void> => {
    try {
      await navigator.clipboard.writeText(link)
      setCopied(true)
    } catch {
      // Without clipboard access (an insecure origin), the text is selected for Ctrl+C instead.
      (document.getElementById('share-link') as HTMLInputElement | null)?.select()
    }
  }
  return html`
    <div class="result" role="status">
      <p>Shared <strong>${added.name}</strong> (${bytes(added.size)}).</p>
      <label for="share-link">Share link</label>
      <div class="row">
        <input id="share-link" readonly value=${link} onFocus=${(e: Event) => { (e.target as HTMLInputElement).select() }} />
        <button type="button" onClick=${copy}>${copied ? 'Copied' : 'Copy'}</button>
      </div>
      ${qr !== '' && html`<figure class="qr"><div dangerouslySetInnerHTML=${{ __html: qr }}></div><figcaption>The share link as a QR code</figcaption></figure>`}
    </div>`
}
