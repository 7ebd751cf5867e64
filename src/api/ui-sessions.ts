// The web page's logins, kept in the daemon's memory only (a restart logs every page out).
// `peerlink ui` asks for a one-time login code with the API token; the page's login URL
// trades it for a session id that a cookie carries. Codes and ids are 32 random bytes, and
// both maps are bounded: the oldest entry makes room for a new one.
import { createHash, randomBytes } from 'node:crypto'

/** How long a login code can be used. */
export const LOGIN_CODE_TTL = 60_000
/** A session ends after this long without a call. */
export const SESSION_IDLE = 12 * 60 * 60 * 1000
const MAX_CODES = 16
const MAX_SESSIONS = 64

export interface LoginCode { code: string, expires: number }

export class UiSessions {
  // Keyed by a digest of the secret, so a lookup's timing says nothing about the secret itself.
  private readonly codes = new Map<string, number>()
  private readonly sessions = new Map<string, number>()

  constructor (private readonly now: () => number = Date.now) {}

  /** A new login code, good once within LOGIN_CODE_TTL. */
  issueCode (): LoginCode {
    const code = randomBytes(32).toString('base64url')
    const expires = this.now() + LOGIN_CODE_TTL
    bounded(this.codes, MAX_CODES).set(digest(code), expires)
    return { code, expires }
  }

  /** Trades a login code for a new session id; undefined for an unknown, used or expired code. */
  redeem (code: string): string | undefined {
    const key = digest(code)
    const expires = this.codes.get(key)
    this.codes.delete(key) // single use, even when it came too late
    if (expires === undefined || expires < this.now()) return undefined
    const id = randomBytes(32).toString('base64url')
    bounded(this.sessions, MAX_SESSIONS).set(digest(id), this.now())
    return id
  }

  /** Whether a session id is live; a live one's idle time starts again. */
  touch (id: string): boolean {
    const key = digest(id)
    const seen = this.sessions.get(key)
    if (seen === undefined) return false
    if (this.now() - seen > SESSION_IDLE) {
      this.sessions.delete(key)
      return false
    }
    // Re-inserted, so the map's order stays oldest-used first for `bounded`.
    this.sessions.delete(key)
    this.sessions.set(key, this.now())
    return true
  }
}

function digest (secret: string): string {
  return createHash('sha256').update(secret).digest('base64url')
}

/** The map with room for one more entry: the oldest go first. */
function bounded<V> (map: Map<string, V>, max: number): Map<string, V> {
  for (const key of map.keys()) {
    if (map.size < max) break
    map.delete(key)
  }
  return map
}
