// Saving what was received: a button per file that asks the daemon for a save link (POST
// /saves) and follows it, so the browser streams the file to disk; a folder as the list of its
// files, each with its button. A private root's key stays in the target the daemon is handed.
import { useEffect, useState } from 'preact/hooks'
import { getJson, saveUrl } from './api.js'
import { bytes } from './format.js'
import { html } from './html.js'

interface Entry { name: string, size: number, type: 'file' | 'directory' }

/** Files listed of one folder at most: past them, the command line saves the rest. */
const MAX_LISTED = 500

export function SaveButton ({ id, target, name }: { id?: string, target: string, name: string }) {
  const [error, setError] = useState('')
  const save = async (): Promise<void> => {
    try {
      setError('')
      location.assign(await saveUrl(target))
    } catch (err) {
      setError((err as Error).message)
    }
  }
  return html`<button type="button" id=${id} class="save" onClick=${save}>Save ${name}</button>${error !== '' && html` <span class="error" role="alert">${error}</span>`}`
}

/** `root/path` with the link's key after it, as the daemon takes a target. */
function targetOf (root: string, path: string[], key: string): string {
  return [root, ...path].join('/') + key
}

/** The folder's files (depth first, at most MAX_LISTED), read from the daemon's copy. */
async function listFiles (root: string, key: string): Promise<{ files: Array<{ path: string[], size: number }>, more: boolean }> {
  const files: Array<{ path: string[], size: number }> = []
  const headers = key !== '' ? { 'x-peerlink-key': key.slice('#k='.length) } : undefined
  const walk = async (path: string[]): Promise<boolean> => {
    const url = `/ls/${[root, ...path].map(encodeURIComponent).join('/')}?local=true`
    for (const e of await getJson<Entry[]>(url, undefined, headers)) {
      if (files.length >= MAX_LISTED) return true
      if (e.type === 'directory') { if (await walk([...path, e.name])) return true } else files.push({ path: [...path, e.name], size: e.size })
    }
    return false
  }
  const more = await walk([])
  return { files, more }
}

export function Folder ({ link, root }: { link: string, root: string }) {
  const hash = link.indexOf('#')
  const key = hash < 0 ? '' : link.slice(hash)
  const [list, setList] = useState<{ files: Array<{ path: string[], size: number }>, more: boolean } | undefined>(undefined)
  const [error, setError] = useState('')
  useEffect(() => { listFiles(root, key).then(setList, (err: Error) => { setError(err.message) }) }, [root, key])
  if (error !== '') return html`<p class="error" role="alert">Could not list the folder: ${error}</p>`
  if (list === undefined) return html`<p>Listing the folder…</p>`
  return html`
    <ul class="files" id="receive-files">
      ${list.files.map(f => html`<li key=${f.path.join('/')}><${SaveButton} target=${targetOf(root, f.path, key)} name=${f.path.join('/')} /> <span class="muted">${bytes(f.size)}</span></li>`)}
    </ul>
    ${list.more && html`<p>More files than shown here: save the whole folder with <code>peerlink fetch ${root} -o DIR</code>.</p>`}`
}
