// A fetch's providers: the ticket's sharer and whoever the DHT names, each handed to the
// session as it is found, so blocks flow from the first providers while the lookup goes on.
import type { PeerId } from '@libp2p/interface'
import { setTimeout as delay } from 'node:timers/promises'
import { CustomProgressEvent, type ProgressEvent } from 'progress-events'
import type { FetchSession } from '../exchange/session.js'
import type { Routing } from '../routing/routing.js'
import type { Discovery } from './fetch-failure.js'
import type { PeerLinkHost } from './host.js'
import type { Ticket } from './ticket.js'

/**
 * The provider lookup (`searching`, then `found` for each distinct provider with the count so
 * far, then `done` with the total when the first lookup ends). A later lookup may still add
 * `found` events after `done`.
 */
export type ProviderLookupEvents =
  ProgressEvent<'fetch:providers:searching', { root: string }> |
  ProgressEvent<'fetch:providers:found', { peer: string, count: number }> |
  ProgressEvent<'fetch:providers:done', { count: number }>

/**
 * Providers one lookup asks the DHT for. Records outlive their nodes (a fetcher that left is
 * named for the records' validity), and the DHT hands them out in no useful order: with 20,
 * a fetch in the capped scenario, after a dozen fetchers had come and gone, missed one or two
 * of its 8 live providers. A record naming a node that is gone costs one refused dial.
 */
export const LOOKUP_LIMIT = 64

/**
 * Waits before each lookup after the first, while the fetch goes on and fewer providers than
 * LOOKUP_LIMIT were found. A provider's record may reach the closest peers after the first
 * lookup passed them, and on a loaded machine a lookup's queries time out: one lookup found 4
 * of 8 capped providers, and the fetch ran on half the uplinks it could have had. In the
 * capped scenario a fresh fetcher's first lookup found 1 of 8 and the second the other 7,
 * 1.3 s after it began: the second starts soon after the first, the later ones back off.
 */
export const RELOOKUP_WAITS = [250, 1_000, 2_000, 4_000, 8_000]

export interface DiscoveryComponents {
  host: Pick<PeerLinkHost, 'peerId' | 'peerStore'>
  routing: Pick<Routing, 'findProviders'>
}

/** Starts looking up `ticket`'s providers for `session`; ends with `signal` (the fetch's end). */
export function discoverProviders (c: DiscoveryComponents, ticket: Ticket, session: FetchSession, options: { signal: AbortSignal, timeout?: number, onProgress?: (event: ProviderLookupEvents) => void }): Discovery {
  const discovery: Discovery = { done: Promise.resolve(), seen: new Set() }
  const { onProgress, signal } = options
  const addProvider = async (peer: PeerId, addrs: Parameters<PeerLinkHost['peerStore']['merge']>[1]['multiaddrs']): Promise<void> => {
    if (peer.equals(c.host.peerId)) return
    if (addrs !== undefined && addrs.length > 0) await c.host.peerStore.merge(peer, { multiaddrs: addrs }).catch(() => {})
    const id = peer.toString()
    if (!discovery.seen.has(id)) {
      discovery.seen.add(id)
      onProgress?.(new CustomProgressEvent('fetch:providers:found', { peer: id, count: discovery.seen.size }))
    }
    session.addProvider(peer)
  }
  // Each provider is handed on as it comes, not after those before it: its addresses go into
  // the peer store first, a write that took tens of ms each on a busy fetcher, so one answer
  // naming 8 providers had them join one by one over a third of a second.
  const lookUp = async (): Promise<void> => {
    const adding: Array<Promise<void>> = []
    try {
      for await (const p of c.routing.findProviders(ticket.root, { signal, timeout: options.timeout, limit: LOOKUP_LIMIT })) adding.push(addProvider(p.id, p.multiaddrs))
    } finally {
      await Promise.all(adding)
    }
  }
  discovery.done = (async () => {
    onProgress?.(new CustomProgressEvent('fetch:providers:searching', { root: ticket.root.toString() }))
    try {
      if (ticket.peer !== undefined) await addProvider(ticket.peer, ticket.addrs)
      await lookUp()
    } catch (err) {
      discovery.lookupError = err as Error
    } finally {
      // What a block every provider found so far lacks is decided now, not after the later lookups.
      session.providersComplete()
      onProgress?.(new CustomProgressEvent('fetch:providers:done', { count: discovery.seen.size }))
    }
  })()
  void discovery.done.then(async () => { await lookUpAgain(discovery, lookUp, signal) })
  return discovery
}

/** The lookups after the first (RELOOKUP_WAITS); never throws. */
async function lookUpAgain (discovery: Discovery, lookUp: () => Promise<void>, signal: AbortSignal): Promise<void> {
  for (const wait of RELOOKUP_WAITS) {
    if (discovery.seen.size >= LOOKUP_LIMIT || signal.aborted) return
    try {
      await delay(wait, undefined, { signal })
      await lookUp()
    } catch {
      // Aborted (the fetch ended) or the lookup failed: the providers found stay.
    }
  }
}
