// A directory as the gateway shows it: an HTML page of its entries (name as a link, size,
// CID). Every name is escaped for HTML and percent-encoded in its link: a name is the
// sharer's text, and a name such as `<script>` must stay a name.
import type { ListEntry, StatResult } from '../node/peerlink.js'

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

export function escapeHtml (text: string): string {
  return text.replace(/[&<>"']/g, c => ESCAPES[c])
}

/** The listing of the directory at `base` (the request's path, percent-encoded, no trailing slash). */
export function directoryListing (base: string, dir: StatResult, entries: ListEntry[]): string {
  const rows = entries.map(e => {
    const href = `${base}/${encodeURIComponent(e.name)}`
    const name = escapeHtml(e.name) + (e.type === 'directory' ? '/' : '')
    return `<tr><td><a href="${escapeHtml(href)}">${name}</a></td><td>${e.size}</td><td><code>${escapeHtml(e.cid)}</code></td></tr>`
  })
  const title = escapeHtml(decodeURIComponentSafe(base))
  return [
    '<!doctype html>',
    '<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">',
    `<title>${title}</title>`,
    '<style>body{font-family:system-ui,sans-serif;margin:1rem}td{padding:.2rem .8rem}code{font-size:.8em}</style>',
    `</head><body><h1>${title}</h1><p>${entries.length} entries, ${dir.size} bytes, <code>${escapeHtml(dir.cid)}</code></p>`,
    '<table><thead><tr><th>name</th><th>bytes</th><th>CID</th></tr></thead><tbody>',
    ...rows,
    '</tbody></table></body></html>',
    ''
  ].join('\n')
}

function decodeURIComponentSafe (text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}
