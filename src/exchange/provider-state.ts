// What a fetch session knows of one provider: its channel, which blocks it holds, what is in
// flight to it, and what it has served.
import type { PeerId } from '@libp2p/interface'
import type { ExchangeChannel } from './channel.js'

export interface Inflight { id: bigint, started: number }

export interface ProviderState {
  peer: PeerId
  key: string
  channel?: ExchangeChannel
  connecting?: Promise<void>
  dropped: boolean
  reason?: string
  /** How it failed, when it was dropped. */
  failure?: ProviderFailure
  /** What the provider said it holds (HAVE) or showed it lacks (DONT_HAVE). */
  known: Map<string, boolean>
  /** CIDs asked about in a HAVE not yet answered. */
  asking: Set<string>
  inflight: Map<string, Inflight>
  blocks: number
  bytes: number
  /** Moving average of one block's time, ms. */
  blockMs: number
  /** Id of the newest request the provider has answered (ids grow with each request). */
  answeredUpTo: bigint
  /** Blocks it said it held (HAVE), then answered DONT_HAVE for. */
  refused: number
  /** The first block it sent that failed its CID, when it did. */
  lie?: Lie
}

/**
 * Why a provider was dropped: never reached, went away (stream closed, reset or silent) after
 * it had joined, sent a block that failed its CID, or refused for earlier offences.
 */
export type ProviderFailure = 'unreachable' | 'went-away' | 'lied' | 'banned'

/** A block a provider sent that did not hash to its CID. */
export interface Lie { cid: string, actual: string }

/** A provider with an open channel, not dropped. */
export type LiveProvider = ProviderState & { channel: ExchangeChannel }

export interface ProviderStats {
  peer: string
  blocks: number
  bytes: number
  dropped: boolean
  /** Why the session gave up on the provider, when it did. */
  reason?: string
  failure?: ProviderFailure
  /** The first block it lied about, when it did. */
  lie?: Lie
}

export function newProvider (peer: PeerId): ProviderState {
  return { peer, key: peer.toString(), dropped: false, known: new Map(), asking: new Set(), inflight: new Map(), blocks: 0, bytes: 0, blockMs: 0, answeredUpTo: 0n, refused: 0 }
}

export function isLive (p: ProviderState): p is LiveProvider {
  return !p.dropped && p.channel !== undefined && p.channel.open
}

/** Counts a block the provider served in `ms`. */
export function recordBlock (p: ProviderState, bytes: number, ms: number): void {
  p.blockMs = p.blockMs === 0 ? ms : 0.8 * p.blockMs + 0.2 * ms
  p.blocks++
  p.bytes += bytes
}

export function providerStats (p: ProviderState): ProviderStats {
  // A provider that served nothing says why, even when it was not dropped.
  const reason = p.reason ?? (p.blocks === 0 && p.refused > 0 ? `said it held ${p.refused} block${p.refused === 1 ? '' : 's'}, then answered DONT_HAVE for each` : undefined)
  return {
    peer: p.key,
    blocks: p.blocks,
    bytes: p.bytes,
    dropped: p.dropped,
    ...(reason !== undefined ? { reason } : {}),
    ...(p.failure !== undefined ? { failure: p.failure } : {}),
    ...(p.lie !== undefined ? { lie: p.lie } : {})
  }
}

/**
 * The request that has waited longest at another live provider and that `p` could race: one
 * `p` holds and has not been asked for, older than three of that provider's block times.
 */
export function oldestStraggler (p: LiveProvider, live: LiveProvider[], wanted: (key: string) => boolean, now: number): string | undefined {
  let oldest: { key: string, age: number } | undefined
  for (const q of live) {
    if (q === p) continue
    for (const [key, f] of q.inflight) {
      if (!wanted(key) || p.inflight.has(key) || p.known.get(key) !== true) continue
      const age = now - f.started
      const expected = Math.max(50, 3 * (q.blockMs || p.blockMs || 50))
      if (age > expected && (oldest === undefined || age > oldest.age)) oldest = { key, age }
    }
  }
  return oldest?.key
}
