// A config value as typed on the command line (`config set`, `daemon --listen/--api`), read by
// its key's type into what config.json holds. Only the reading is here: whether the value is
// acceptable is the repo's one check of a whole config (repo/config.ts).
import { InvalidArgumentError } from '../errors.js'
import { configKey } from '../repo/config.js'
import { parseIntArg, parseSize } from './arguments.js'

export function parseConfigValue (key: string, text: string): unknown {
  const { type } = configKey(key)
  switch (type) {
    case 'size': return parseSize(text)
    case 'count': return parseIntArg(key)(text)
    case 'boolean': return parseBoolean(key, text)
    case 'multiaddrs': return parseList(key, text)
    case 'address': return parseAddress(key, text)
  }
}

function parseBoolean (key: string, text: string): boolean {
  const t = text.trim().toLowerCase()
  if (t === 'true' || t === 'false') return t === 'true'
  throw new InvalidArgumentError(`${key} is true or false, not "${text}"`)
}

/** A JSON array of strings, or strings separated by commas; an empty text is an empty list. */
function parseList (key: string, text: string): string[] {
  const t = text.trim()
  if (!t.startsWith('[')) return t.split(',').map(s => s.trim()).filter(s => s !== '')
  let list: unknown
  try {
    list = JSON.parse(t)
  } catch {
    list = undefined
  }
  if (!Array.isArray(list) || list.some(a => typeof a !== 'string')) {
    throw new InvalidArgumentError(`${key} takes a JSON array of multiaddrs or multiaddrs separated by commas, not ${JSON.stringify(text)}`)
  }
  return list as string[]
}

/** host:port, or a multiaddr naming one (/ip4/127.0.0.1/tcp/5021). */
function parseAddress (key: string, text: string): string {
  const t = text.trim()
  if (!t.startsWith('/')) return t
  const m = /^\/(ip4|dns|dns4|dns6)\/([^/]+)\/tcp\/(\d+)\/?$/.exec(t)
  if (m === null) throw new InvalidArgumentError(`${key} is host:port or /ip4/<host>/tcp/<port>, not ${JSON.stringify(text)}`)
  return `${m[2]}:${m[3]}`
}
