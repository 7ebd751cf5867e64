// A CID as the user typed it, with an error that says what is wrong in PeerLink's words (the
// multiformats messages, "Unexpected end of data" and the like, say nothing to a user). Apart
// from tickets, which need libp2p's peer ids, so a CLI call can check a CID without loading libp2p.
import { CID } from 'multiformats/cid'
import { InvalidArgumentError, InvalidCidError, NotPeerLinkCidError } from '../errors.js'
import { keyFromText, keyToText } from '../files/cipher.js'
import type { Ticket } from './ticket.js'

/** What every share ticket's text starts with (tickets themselves: ticket.ts). */
export const TICKET_PREFIX = 'peerlink:'

/** What a valid one looks like, for the end of every message about a bad CID. */
export const CID_HINT = 'PeerLink CIDs start with bafy… (CIDv1, base32, lower case: 59 letters a-z and digits 2-7)'

const DAG_PB = 0x70

/** Most names a path inside a root may have (a bound on the walk, far past any real tree). */
export const MAX_PATH_NAMES = 256

/** A root and the names of a path inside it, empty for the root itself. */
export interface RootPath { root: CID, path: string[] }

export function isTicket (text: string): boolean {
  return text.trim().startsWith(TICKET_PREFIX)
}

/**
 * A CID, or InvalidCidError saying what is wrong with it. An upper-case base32 CID (as some
 * tools print them, or a copy through a case-folding channel) is the same CID and is accepted;
 * an IPFS CID (CIDv0 `Qm…` or any dag-pb one) is NotPeerLinkCidError, at once.
 */
export function parseCid (text: string): CID {
  const t = normalised(text.trim())
  if (t === '') throw new InvalidCidError(text, 'it is empty')
  let cid: CID
  try {
    cid = CID.parse(t)
  } catch {
    throw new InvalidCidError(text, `${whyNot(t)}; ${CID_HINT}`)
  }
  if (cid.version === 0 || cid.code === DAG_PB) {
    throw new NotPeerLinkCidError(text, `an IPFS CID (${cid.version === 0 ? 'CIDv0, ' : ''}dag-pb), not a PeerLink root; ${CID_HINT}`)
  }
  return cid
}

/**
 * `<cid>` or `<cid>/path/inside`: the root and the names under it. Empty names (a trailing or
 * doubled `/`) are skipped; `.` and `..` are refused, as no directory entry may have them.
 */
export function parseRootPath (text: string): RootPath {
  const t = text.trim()
  const slash = t.indexOf('/')
  if (slash < 0) return { root: parseCid(t), path: [] }
  return { root: parseCid(t.slice(0, slash)), path: splitPath(t.slice(slash + 1), text) }
}

/**
 * A link that is a root CID (with a path inside it, and a private root's key), split; undefined
 * for a share ticket's, which ticket.ts reads.
 */
export function parseRootLink (link: string): (RootPath & { key?: Uint8Array }) | undefined {
  const { text, key } = splitKey(link)
  if (isTicket(text)) return undefined
  return { ...parseRootPath(text), ...(key !== undefined ? { key } : {}) }
}

/**
 * A CID's or a ticket's text (with a path, and a key) read as a ticket: the ticket module,
 * whose peer ids need libp2p's key code, is loaded only for a ticket.
 */
export async function loadTarget (link: string): Promise<Ticket> {
  const plain = parseRootLink(link)
  return plain !== undefined ? { ...plain, addrs: [] } : (await import('./ticket.js')).parseTarget(link)
}

/** The names of a path inside a root (`a/b/c`), checked; `input` is what the user typed, for the message. */
export function splitPath (path: string, input: string): string[] {
  const names = path.split('/').filter(n => n !== '')
  for (const n of names) {
    if (n === '.' || n === '..') throw new InvalidArgumentError(`${input}: a path inside a root names each directory on the way; "${n}" is not allowed`)
  }
  if (names.length > MAX_PATH_NAMES) throw new InvalidArgumentError(`${input}: a path inside a root has at most ${MAX_PATH_NAMES} names, this one ${names.length}`)
  return names
}

/** The API request header a private root's key travels in (cat, stat, ls). */
export const KEY_HEADER = 'x-peerlink-key'

/** What follows `#` in a link to a private root: its key. */
const KEY_FRAGMENT = '#k='

/**
 * A link's text without its key, and the key: a private root's link is its CID or ticket
 * (with a path or not) followed by `#k=` and the key in base64url. A fragment, as in a URL:
 * what comes after `#` is not sent to a server nor written to its logs.
 */
export function splitKey (text: string): { text: string, key?: Uint8Array } {
  const t = text.trim()
  const hash = t.indexOf('#')
  if (hash < 0) return { text: t }
  if (!t.startsWith(KEY_FRAGMENT, hash)) throw new InvalidArgumentError(`what follows "#" in a link is a private root's key, as ${KEY_FRAGMENT}…; copy the whole link`)
  return { text: t.slice(0, hash), key: keyFromText(t.slice(hash + KEY_FRAGMENT.length)) }
}

/** A CID or ticket text with a private root's key after it. */
export function withKey (text: string, key: Uint8Array | undefined): string {
  return key === undefined ? text : text + KEY_FRAGMENT + keyToText(key)
}

/** `root/a/b` as text: how a path inside a root is shown and sent. */
export function formatRootPath (p: RootPath): string {
  return [p.root.toString(), ...p.path].join('/')
}

/** Base32 in either case, as lower case (the form CIDs are printed and compared in). */
function normalised (text: string): string {
  return /^[bB][a-zA-Z2-7]*$/.test(text) ? text.toLowerCase() : text
}

/** Why `text` (trimmed, normalised) does not parse as a CID. */
function whyNot (text: string): string {
  if (text.startsWith(TICKET_PREFIX)) return 'it is a share ticket, and this takes a root CID alone (`fetch`, `cat`, `stat` and `ls` take either)'
  if (text.toLowerCase().startsWith(TICKET_PREFIX.slice(0, -1))) return `it looks like a share ticket but does not start with "${TICKET_PREFIX}"`
  if (text.includes('/')) return 'it names a path inside a root, and this takes a root CID alone'
  if (/^Qm/.test(text)) return 'it looks like an IPFS CIDv0 (Qm…) but is not a valid one, and PeerLink does not use those'
  if (!text.startsWith('b')) return `it starts with "${text[0]}"`
  const bad = /[^a-z2-7]/.exec(text.slice(1))
  if (bad !== null) return `it has "${bad[0]}" at position ${bad.index + 2}`
  return `its ${text.length} characters do not spell a CID (cut short, or a character mistyped?)`
}
