// The request schemas routes share. Fastify checks input against them before a handler runs
// (a refusal reads as an InvalidArgumentError, see error-handler.ts), and they say what each
// route takes.
import type { PeerLinkNode } from '../node/peerlink.js'

/** What each group of routes is registered with. */
export interface RouteDeps { node: PeerLinkNode }

/** A string that must be there and not be empty: a path, a CID, an address. */
export const text = { type: 'string', minLength: 1 } as const

export const flag = { type: 'boolean' } as const

/**
 * An optional non-negative whole number: a JSON number, or digits in a string (all a query
 * string has); null and '' mean "not given", as an absent field does.
 */
export const count = { type: ['integer', 'string', 'null'], minimum: 0, maximum: Number.MAX_SAFE_INTEGER, pattern: '^[0-9]{0,15}$' } as const
export type Count = number | string | null

/** The number a `count` field holds, or undefined when it holds none. */
export function countOf (value: Count | undefined): number | undefined {
  return value === undefined || value === null || value === '' ? undefined : Number(value)
}

/** An object with these properties, the `required` ones among them. */
export function object (properties: Record<string, object>, required: string[] = []): object {
  return { type: 'object', properties, required }
}

export const cidParams = object({ cid: text }, ['cid'])
export interface CidParams { cid: string }
