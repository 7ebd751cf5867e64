// A CID as the user typed it, with an error that says what is wrong. Apart from tickets,
// which need libp2p's peer ids, so a CLI call can check a CID without loading libp2p.
import { CID } from 'multiformats/cid'
import { InvalidCidError } from '../errors.js'

export function parseCid (text: string): CID {
  const t = text.trim()
  if (t === '') throw new InvalidCidError(text, 'it is empty')
  try {
    return CID.parse(t)
  } catch (err) {
    throw new InvalidCidError(text, (err as Error).message)
  }
}
