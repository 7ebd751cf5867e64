// A CID as the user typed it, with an error that says what is wrong. Apart from tickets,
// which need libp2p's peer ids, so a CLI call can check a CID without loading libp2p.
import { CID } from 'multiformats/cid'
import { InvalidCidError } from '../errors.js'

/** What every share ticket's text starts with (tickets themselves: ticket.ts). */
export const TICKET_PREFIX = 'peerlink:'

export function isTicket (text: string): boolean {
  return text.trim().startsWith(TICKET_PREFIX)
}

export function parseCid (text: string): CID {
  const t = text.trim()
  if (t === '') throw new InvalidCidError(text, 'it is empty')
  try {
    return CID.parse(t)
  } catch (err) {
    throw new InvalidCidError(text, (err as Error).message)
  }
}
