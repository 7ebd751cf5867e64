// The Content-Disposition that names a reply's file: `attachment` makes a browser save it,
// `inline` shows it (the gateway's default) under that name when saved.

/** `attachment` with the name: a browser saves the reply under it. */
export function attachment (name: string): string {
  return disposition('attachment', name)
}

/**
 * The name twice (RFC 6266): plain ASCII for old clients (anything else, quotes and
 * backslashes become '_'), and UTF-8 percent-encoded (RFC 8187) for the rest.
 */
export function disposition (kind: 'attachment' | 'inline', name: string): string {
  if (name === '') name = 'download'
  const fallback = name.replace(/[^\x20-\x7e]|["\\%]/g, '_')
  const encoded = encodeURIComponent(name).replace(/['()*]/g, c => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
  return `${kind}; filename="${fallback}"; filename*=UTF-8''${encoded}`
}
