// Share tickets: everything needed to fetch a file from its sharer without a DHT lookup:
// the root CID, the sharer's peer id and the addresses it listens on (dial hints).
// Text form: "peerlink:" + base32 (multibase) of a dag-cbor map { r: root, p: peer id, a: [multiaddr bytes] }.
import * as dagCbor from '@ipld/dag-cbor'
import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { base32 } from 'multiformats/bases/base32'
import { CID } from 'multiformats/cid'
import { InvalidTicketError } from '../errors.js'
import { isTicket, parseCid, TICKET_PREFIX } from './cid.js'

const MAX_TICKET_ADDRS = 16

export interface Ticket { root: CID, peer?: PeerId, addrs: Multiaddr[] }

export function encodeTicket (t: { root: CID, peer: PeerId, addrs: Multiaddr[] }): string {
  const body = dagCbor.encode({ r: t.root, p: t.peer.toString(), a: t.addrs.slice(0, MAX_TICKET_ADDRS).map(a => a.bytes) })
  return TICKET_PREFIX + base32.encode(body)
}

/** A root CID or a share ticket; InvalidCidError / InvalidTicketError say what is wrong. */
export function parseTarget (text: string): Ticket {
  if (!isTicket(text)) return { root: parseCid(text), addrs: [] }
  const t = text.trim()
  let body: unknown
  let bytes: Uint8Array
  try {
    bytes = base32.decode(t.slice(TICKET_PREFIX.length))
  } catch {
    // The decoder's own message repeats the whole input; the ticket is already quoted, cut.
    throw new InvalidTicketError(text, 'its body is not valid base32 ("b" then the letters a-z and digits 2-7)')
  }
  try {
    body = dagCbor.decode(bytes)
  } catch (err) {
    throw new InvalidTicketError(text, `its body does not decode (${(err as Error).message})`)
  }
  const b = body as { r?: unknown, p?: unknown, a?: unknown }
  const root = CID.asCID(b.r)
  if (root === null) throw new InvalidTicketError(text, 'it holds no root CID')
  if (typeof b.p !== 'string') throw new InvalidTicketError(text, 'it holds no peer id')
  let peer: PeerId
  try {
    peer = peerIdFromString(b.p)
  } catch (err) {
    throw new InvalidTicketError(text, `its peer id is invalid (${(err as Error).message})`)
  }
  if (!Array.isArray(b.a) || b.a.length > MAX_TICKET_ADDRS || !b.a.every(x => x instanceof Uint8Array)) throw new InvalidTicketError(text, 'its address list is malformed')
  let addrs: Multiaddr[]
  try {
    addrs = b.a.map((x: Uint8Array) => multiaddr(x))
  } catch (err) {
    throw new InvalidTicketError(text, `an address is invalid (${(err as Error).message})`)
  }
  return { root, peer, addrs }
}
