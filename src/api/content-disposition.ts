// The Content-Disposition that makes a browser save a reply under the file's own name.

/**
 * `attachment` with the name twice (RFC 6266): plain ASCII for old clients (anything else,
 * quotes and backslashes become '_'), and UTF-8 percent-encoded (RFC 8187) for the rest.
 */
export function attachment (name: string): string {
  if (name === '') name = 'download'
  const fallback = name.replace(/[^\x20-\x7e]|["\\%]/g, '_')
  const encoded = encodeURIComponent(name).replace(/['()*]/g, c => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`
}
