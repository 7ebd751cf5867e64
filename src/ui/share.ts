// Share: pick or drop a file or a folder, choose whether it is private, watch it go in, get
// its link (with a copy button and a QR code). A private share's link holds its key.
import QRCode from 'qrcode'
import { useEffect, useState } from 'preact/hooks'
import { getJson, upload, uploadSize, type AddOut, type StatusOut, type Upload } from './api.js'
import { bytes, plural } from './format.js'
import { html } from './html.js'
import { fromDrop, fromInput } from './pick.js'

type State =
  | { step: 'idle' }
  | { step: 'sending', name: string, size: number, sent: number }
  | { step: 'done', added: AddOut, qr: string }
  | { step: 'failed', message: string }

export function Share () {
  const [state, setState] = useState<State>({ step: 'idle' })
  const [over, setOver] = useState(false)
  const [priv, setPriv] = useState(false)
  // The box starts as the daemon's import.private says.
  useEffect(() => { getJson<StatusOut>('/status').then((s) => { setPriv(s.importPrivate === true) }, () => {}) }, [])

  async function share (u: Upload): Promise<void> {
    const name = u.kind === 'file' ? u.file.name : u.name
    const size = uploadSize(u)
    setState({ step: 'sending', name, size, sent: 0 })
    try {
      const added = await upload(u, priv, (sent) => { setState({ step: 'sending', name, size, sent }) })
      const qr = added.ticket !== undefined ? await QRCode.toString(added.ticket, { type: 'svg', errorCorrectionLevel: 'L', margin: 2 }) : ''
      setState({ step: 'done', added, qr })
    } catch (err) {
      setState({ step: 'failed', message: (err as Error).message })
    }
  }

  // `get` runs at once, inside the event: a drop's data is gone once its event is over.
  const picked = (get: () => Upload | undefined | Promise<Upload | undefined>): void => {
    let u
    try { u = get() } catch (err) { u = Promise.reject(err) }
    Promise.resolve(u).then((u) => { if (u !== undefined) void share(u) }, (err: Error) => { setState({ step: 'failed', message: err.message }) })
  }
  const busy = state.step === 'sending'

  return html`
    <section aria-labelledby="share-title">
      <h2 id="share-title">Share a file or a folder</h2>
      <div class=${`drop${over ? ' over' : ''}`}
        onDragOver=${(e: DragEvent) => { e.preventDefault(); setOver(true) }}
        onDragLeave=${() => { setOver(false) }}
        onDrop=${(e: DragEvent) => { e.preventDefault(); setOver(false); picked(() => fromDrop(e.dataTransfer)) }}>
        <span>Drop a file or a folder here, or choose one:</span>
        <label for="share-file">A file</label>
        <input id="share-file" type="file" disabled=${busy} onChange=${(e: Event) => { picked(() => fromInput((e.target as HTMLInputElement).files)) }} />
        <label for="share-folder">A folder</label>
        <input id="share-folder" type="file" webkitdirectory disabled=${busy} onChange=${(e: Event) => { picked(() => fromInput((e.target as HTMLInputElement).files)) }} />
      </div>
      <label class="check"><input id="share-private" type="checkbox" checked=${priv} disabled=${busy}
        onChange=${(e: Event) => { setPriv((e.target as HTMLInputElement).checked) }} /> Private: encrypted, readable only with the link</label>
      <${Progress} state=${state} />
      ${state.step === 'done' && html`<${ShareLink} added=${state.added} qr=${state.qr} />`}
      ${state.step === 'failed' && html`<p class="error" role="alert">Could not share: ${state.message}</p>`}
    </section>`
}

function Progress ({ state }: { state: State }) {
  if (state.step !== 'sending') return null
  const sent = state.sent >= state.size && state.size > 0
  return html`
    <div class="progress">
      <label for="share-progress">${sent ? `Adding ${state.name}…` : `Sending ${state.name}: ${bytes(state.sent)} of ${bytes(state.size)}`}</label>
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
  const what = added.type === 'directory' ? `the folder ${added.name} (${plural(added.files, 'file')}, ${bytes(added.size)})` : `${added.name} (${bytes(added.size)})`
  return html`
    <div class="result" role="status">
      <p id="share-done">Shared <strong>${what}</strong>${link.includes('#k=') ? ', private' : ''}.</p>
      <label for="share-link">Share link</label>
      <div class="row">
        <input id="share-link" readonly value=${link} onFocus=${(e: Event) => { (e.target as HTMLInputElement).select() }} />
        <button type="button" onClick=${copy}>${copied ? 'Copied' : 'Copy'}</button>
      </div>
      ${link.includes('#k=') && html`<p class="muted" id="share-key-note">The link holds the key: whoever has it can read the ${added.type === 'directory' ? 'folder' : 'file'}; without it, peers see only ciphertext.</p>`}
      ${qr !== '' && html`<figure class="qr"><div dangerouslySetInnerHTML=${{ __html: qr }}></div><figcaption>The share link as a QR code</figcaption></figure>`}
    </div>`
}
