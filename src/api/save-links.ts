// The page's save links: a target (a root, a path, a private root's key) kept by the daemon
// under a random id for a while, so a plain link, which the browser streams to disk, can name
// it without the key in a URL (history, logs, Referer). Bounded in count and in time; the ids
// live in memory only, so a restarted daemon has none. The gateway keeps its private
// directories' links the same way (gateway-routes.ts, /private/<id>/).
import { randomBytes } from 'node:crypto'
import { SaveLinkGoneError } from '../errors.js'
import type { Ticket } from '../node/ticket.js'

/** How long a save link works. */
export const SAVE_LINK_TTL = 10 * 60_000

/** Save links kept at most; the oldest goes first. */
export const MAX_SAVE_LINKS = 64

export class SaveLinks {
  private readonly links = new Map<string, { target: Ticket, expires: number }>()

  /** `gone`: what an expired or unknown id says (SaveLinkGoneError's own text by default); `max`: ids kept. */
  constructor (private readonly now: () => number = Date.now, private readonly gone?: string, private readonly max = MAX_SAVE_LINKS) {}

  /** A new id for `target`. */
  keep (target: Ticket): string {
    const id = randomBytes(24).toString('base64url')
    this.links.set(id, { target, expires: this.now() + SAVE_LINK_TTL })
    for (const old of this.links.keys()) {
      if (this.links.size <= this.max) break
      this.links.delete(old)
    }
    return id
  }

  /** The target of a live id; SaveLinkGoneError for any other. */
  get (id: string): Ticket {
    const link = this.links.get(id)
    if (link === undefined || link.expires < this.now()) {
      this.links.delete(id)
      throw new SaveLinkGoneError(this.gone)
    }
    return link.target
  }
}
