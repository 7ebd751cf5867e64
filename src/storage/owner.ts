// The owner's side of the storage protocol: finding the peers that offer space (the DHT's
// providers of OFFER_KEY and the peers it is connected to, each asked what it has free),
// asking a holder to hold blocks under a lease, to release them, and which it has.
import type { Libp2p, PeerId, PeerInfo } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { CID } from 'multiformats/cid'
import { PeerLinkError, ProtocolError } from '../errors.js'
import { fromBitfield } from '../exchange/wire.js'
import type { Holder } from './placement.js'
import { HOLD_TIMEOUT, MAX_LEASE_CIDS, OFFER_KEY, QUERY_TIMEOUT } from './constants.js'
import { ask, StorageMessage } from './wire.js'

export interface OwnerComponents {
  libp2p: Pick<Libp2p, 'dialProtocol' | 'getPeers'> & { peerId: PeerId }
  findProviders: (cid: CID, options: { signal?: AbortSignal, timeout?: number, limit?: number }) => Promise<PeerInfo[]>
}

/** A peer that offers space, as placement ranks it, with the bytes it has free. */
export interface OfferingHolder extends Holder { free: number }

/** Most peers asked for their offer in one discovery. */
const MAX_CANDIDATES = 256

/** Offer queries in flight at once. */
const QUERY_CONCURRENCY = 16

export interface HoldOptions {
  signal?: AbortSignal
  /** The lease's owner (a peer id) when it is not this node: a holder repairing for it. */
  owner?: string
  /** Most blocks in one HOLD (MAX_LEASE_CIDS at most). */
  part?: number
  /** Waits before each HOLD goes, with the bytes it asks for (the repair rate). */
  pace?: (bytes: number, options: { signal?: AbortSignal }) => Promise<void>
}

/** How a HOLD went: held, or refused (or failed) with the holder's reason. */
export type HoldOutcome = { ok: true } | { ok: false, reason: string }

export class StorageOwner {
  constructor (private readonly c: OwnerComponents) {}

  /** The peers that offer space now, with how much each has free (none with nothing free). */
  async findHolders (options: { signal?: AbortSignal, timeout?: number } = {}): Promise<OfferingHolder[]> {
    const self = this.c.libp2p.peerId.toString()
    const candidates = new Map<string, PeerId>()
    for (const p of this.c.libp2p.getPeers()) candidates.set(p.toString(), p)
    const found = await this.c.findProviders(OFFER_KEY, { signal: options.signal, timeout: options.timeout ?? QUERY_TIMEOUT, limit: MAX_CANDIDATES }).catch(() => [])
    for (const p of found) candidates.set(p.id.toString(), p.id)
    candidates.delete(self)
    const peers = [...candidates.values()].slice(0, MAX_CANDIDATES)
    const offers = await mapLimited(peers, QUERY_CONCURRENCY, async (peer): Promise<OfferingHolder | undefined> => {
      const answer = await ask(this.c.libp2p, peer, { type: StorageMessage.Type.OFFER_QUERY }, { signal: options.signal, timeout: QUERY_TIMEOUT }).catch(() => undefined)
      if (answer?.type !== StorageMessage.Type.OFFER) return undefined
      return { id: peer.toString(), key: peer.toMultihash().bytes, free: Number(answer.free) }
    })
    options.signal?.throwIfAborted()
    return offers.filter((o): o is OfferingHolder => o !== undefined && o.free > 0)
  }

  /**
   * Asks a holder to hold blocks of a root until `expires`, in HOLDs of at most `part` blocks
   * (MAX_LEASE_CIDS), each paced by `pace` first; `owner` names the lease's owner when this
   * node repairs for it.
   */
  async hold (holder: string, root: CID, blocks: Array<{ cid: string, size: number }>, expires: number, options: HoldOptions = {}): Promise<HoldOutcome> {
    const peer = peerIdFromString(holder)
    const step = Math.min(options.part ?? MAX_LEASE_CIDS, MAX_LEASE_CIDS)
    for (let i = 0; i < blocks.length; i += step) {
      const part = blocks.slice(i, i + step)
      const bytes = part.reduce((a, b) => a + b.size, 0)
      const msg = {
        type: StorageMessage.Type.HOLD,
        root: root.bytes,
        cids: part.map(b => CID.parse(b.cid).bytes),
        bytes: BigInt(bytes),
        expires: BigInt(expires),
        owner: options.owner === undefined ? undefined : peerIdFromString(options.owner).toMultihash().bytes
      }
      await options.pace?.(bytes, options)
      let answer
      try {
        answer = await ask(this.c.libp2p, peer, msg, { signal: options.signal, timeout: HOLD_TIMEOUT })
      } catch (err) {
        if (!(err instanceof PeerLinkError)) throw err
        return { ok: false, reason: err.message }
      }
      if (answer.type === StorageMessage.Type.REFUSED) return { ok: false, reason: answer.reason }
      if (answer.type !== StorageMessage.Type.HELD) return { ok: false, reason: `answered ${answer.type} to a HOLD` }
    }
    return { ok: true }
  }

  /** Ends the lease a holder keeps for this node on a root (best effort: false if unreachable). */
  async release (holder: string, root: CID, options: { signal?: AbortSignal } = {}): Promise<boolean> {
    const answer = await ask(this.c.libp2p, peerIdFromString(holder), { type: StorageMessage.Type.RELEASE, root: root.bytes }, { signal: options.signal, timeout: QUERY_TIMEOUT }).catch(() => undefined)
    return answer?.type === StorageMessage.Type.RELEASED
  }

  /** Which of these blocks a holder has (HAS, no block sent); undefined when it cannot be asked. */
  async has (holder: string, root: CID, cids: string[], options: { signal?: AbortSignal } = {}): Promise<boolean[] | undefined> {
    const out: boolean[] = []
    for (let i = 0; i < cids.length; i += MAX_LEASE_CIDS) {
      const part = cids.slice(i, i + MAX_LEASE_CIDS)
      const answer = await ask(this.c.libp2p, peerIdFromString(holder), { type: StorageMessage.Type.HAS, root: root.bytes, cids: part.map(c => CID.parse(c).bytes) }, { signal: options.signal, timeout: QUERY_TIMEOUT }).catch(() => undefined)
      if (answer?.type !== StorageMessage.Type.HAVE) return undefined
      try {
        out.push(...fromBitfield(answer.bitfield, part.length))
      } catch (err) {
        if (err instanceof ProtocolError) return undefined
        throw err
      }
    }
    return out
  }
}

/** `fn` over `items` with at most `limit` running at once, results in order. */
export async function mapLimited<T, R> (items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i])
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return out
}
