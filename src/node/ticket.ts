// Share tickets: everything needed to fetch a file from its sharer without a DHT lookup:
// the root CID, the sharer's peer id and the addresses it listens on (dial hints).
// Text form: "peerlink:" + base32 (multibase) of a dag-cbor map { r: root, p: peer id, a: [multiaddr bytes] },
// optionally followed by a path inside the root ("peerlink:b…/photos/cat.jpg": base32 has no '/'),
// and for a private root by its key ("…#k=<base64url>", cid.ts: splitKey).
import * as dagCbor from '@ipld/dag-cbor'
import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { base32 } from 'multiformats/bases/base32'
import { CID } from 'multiformats/cid'
import { InvalidTicketError } from '../errors.js'
import { parseCid, parseRootLink, splitKey, splitPath, TICKET_PREFIX, withKey } from './cid.js'

const MAX_TICKET_ADDRS = 16

export interface Ticket {
  root: CID
  peer?: PeerId
  addrs: Multiaddr[]
  /** Names of a path inside the root: what to fetch is the file or directory they lead to. */
  path?: string[]
  /** A private root's key, from the link (never sent to a provider). */
  key?: Uint8Array
}

export function encodeTicket (t: { root: CID, peer: PeerId, addrs: Multiaddr[], key?: Uint8Array }): string {
  const body = dagCbor.encode({ r: t.root, p: t.peer.toString(), a: t.addrs.slice(0, MAX_TICKET_ADDRS).map(a => a.bytes) })
  return withKey(TICKET_PREFIX + base32.encode(body), t.key)
}

/** Said of a ticket whose bytes do not hold what a ticket holds: most likely a partial copy. */
const COPY = 'it is cut short or mistyped (copy the whole ticket, from "peerlink:" to its last character)'
const CUT = `its body does not decode: ${COPY}`

/**
 * A root CID or a share ticket, either followed by a path inside the root; InvalidCidError /
 * InvalidTicketError say what is wrong.
 */
export function parseTarget (link: string): Ticket {
  const plain = parseRootLink(link)
  if (plain !== undefined) return { ...plain, addrs: [] }
  const { text: input, key } = splitKey(link)
  const keyed = key !== undefined ? { key } : {}
  const trimmed = input.trim()
  const slash = trimmed.indexOf('/')
  const text = slash < 0 ? trimmed : trimmed.slice(0, slash)
  const path = slash < 0 ? [] : splitPath(trimmed.slice(slash + 1), input)
  const b = ticketBody(text)
  const root = CID.asCID(b.r)
  if (root === null || typeof b.p !== 'string') throw new InvalidTicketError(text, CUT)
  let peer: PeerId
  try {
    peer = peerIdFromString(b.p)
  } catch {
    throw new InvalidTicketError(text, `its peer id is not one; ${COPY}`)
  }
  if (!Array.isArray(b.a) || b.a.length > MAX_TICKET_ADDRS || !b.a.every(x => x instanceof Uint8Array)) throw new InvalidTicketError(text, `its address list is malformed; ${COPY}`)
  let addrs: Multiaddr[]
  try {
    addrs = b.a.map((x: Uint8Array) => multiaddr(x))
  } catch {
    throw new InvalidTicketError(text, `an address in it is not one; ${COPY}`)
  }
  // Refused here, as for a CID typed alone, rather than after a connection to the sharer.
  parseCid(root.toString())
  return { root, peer, addrs, path, ...keyed }
}

/** The decoded map of a ticket's text (the decoders' own messages are not the user's concern). */
function ticketBody (text: string): { r?: unknown, p?: unknown, a?: unknown } {
  const t = text.trim()
  let bytes: Uint8Array
  try {
    bytes = base32.decode(t.slice(TICKET_PREFIX.length))
  } catch {
    const body = t.slice(TICKET_PREFIX.length)
    if (!body.startsWith('b') || /[^a-z2-7]/.test(body.slice(1))) {
      throw new InvalidTicketError(text, 'its body is not valid base32 ("b" then the letters a-z and digits 2-7)')
    }
    throw new InvalidTicketError(text, CUT)
  }
  let body: unknown
  try {
    body = dagCbor.decode(bytes)
  } catch {
    throw new InvalidTicketError(text, CUT)
  }
  if (typeof body !== 'object' || body === null) throw new InvalidTicketError(text, CUT)
  return body
}
