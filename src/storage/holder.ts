// The holder's side of the storage protocol: answers what it offers, takes leases (pulling
// their blocks from the owner through the fetch machinery, so each is verified before it is
// stored), releases them, and says which blocks it has. A lease past the offer is refused with
// the reason; so is a malformed request, and one more HOLD than MAX_CONCURRENT_HOLDS at once.
import type { ComponentLogger, Libp2p, Logger, PeerId, Stream } from '@libp2p/interface'
import { peerIdFromMultihash } from '@libp2p/peer-id'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { OfferExceededError, PeerLinkError, ProtocolError } from '../errors.js'
import { toBitfield } from '../exchange/wire.js'
import { MAX_BLOCK_SIZE } from '../limits.js'
import { HOLD_TIMEOUT, MAX_CONCURRENT_HOLDS, MAX_LEASE, MAX_LEASES, MAX_STREAMS_PER_PEER, QUERY_TIMEOUT, STORAGE_PROTOCOL } from './constants.js'
import type { Lease, LeaseBook } from './leases.js'
import { frame, readOne, StorageMessage, type Outgoing } from './wire.js'

export interface HolderComponents {
  libp2p: Pick<Libp2p, 'handle' | 'unhandle'>
  leases: LeaseBook
  /** Bytes offered to others (storage.offer). */
  offer: number
  /** Fetches blocks of a root from a peer (the owner, or a holder repairing for it) into the repo, verified; their sizes by CID. */
  pull: (from: PeerId, root: CID, cids: CID[], options: { signal: AbortSignal }) => Promise<Record<string, number>>
  has: (cids: CID[]) => Promise<boolean[]>
  /** Announces a root the node now holds blocks of (best effort). */
  announce: (root: CID) => Promise<void>
  /** Stops announcing a root no lease keeps any more (unless the node pins it). */
  withdraw: (root: CID) => Promise<void>
  logger: ComponentLogger
}

export class StorageHolder {
  private readonly log: Logger
  private holding = 0
  /** Bytes promised to HOLDs still pulling, counted against the offer with what is held. */
  private reserved = 0
  private readonly stopping = new AbortController()

  constructor (private readonly c: HolderComponents) {
    this.log = c.logger.forComponent('peerlink:storage')
  }

  async start (): Promise<void> {
    await this.c.libp2p.handle(STORAGE_PROTOCOL, (stream, connection) => { void this.serve(stream, connection.remotePeer) }, {
      maxInboundStreams: MAX_STREAMS_PER_PEER,
      runOnLimitedConnection: false
    })
  }

  async stop (): Promise<void> {
    this.stopping.abort()
    await this.c.libp2p.unhandle(STORAGE_PROTOCOL)
  }

  /** The leases this node keeps for others. */
  leases (): Lease[] {
    return this.c.leases.list()
  }

  /** Bytes still free in the offer. */
  free (): number {
    return Math.max(0, this.c.offer - this.c.leases.held() - this.reserved)
  }

  private async serve (stream: Stream, peer: PeerId): Promise<void> {
    const timer = setTimeout(() => { stream.abort(new ProtocolError(`no storage request within ${QUERY_TIMEOUT / 1000} s`)) }, QUERY_TIMEOUT)
    try {
      const msg = await readOne(stream)
      clearTimeout(timer)
      const answer = await this.answer(msg, peer)
      stream.send(frame(answer))
      await stream.close({ signal: AbortSignal.timeout(QUERY_TIMEOUT) })
    } catch (err) {
      this.log('storage request from %p failed: %s', peer, (err as Error).message)
      stream.abort(err as Error)
    } finally {
      clearTimeout(timer)
    }
  }

  private async answer (msg: StorageMessage, peer: PeerId): Promise<Outgoing> {
    const T = StorageMessage.Type
    try {
      switch (msg.type) {
        case T.OFFER_QUERY: return { type: T.OFFER, offered: BigInt(this.c.offer), free: BigInt(this.free()) }
        case T.HOLD: return await this.hold(msg, peer)
        case T.RELEASE: return await this.release(msg, peer)
        case T.HAS: return { type: T.HAVE, bitfield: toBitfield(await this.holds(msg)) }
        default: throw new ProtocolError(`${String(msg.type)} is not a storage request`)
      }
    } catch (err) {
      if (!(err instanceof PeerLinkError)) throw err
      return { type: T.REFUSED, reason: err.message }
    }
  }

  /**
   * A HOLD from the owner, or from a holder repairing the owner's stripes while it is away
   * (`msg.owner` names the owner): the lease is the owner's either way, so its renewal or
   * release reaches it, and the blocks come from the sender.
   */
  private async hold (msg: StorageMessage, sender: PeerId): Promise<Outgoing> {
    const root = cidOf(msg.root, 'the root')
    const owner = msg.owner.byteLength > 0 ? peerIdOf(msg.owner) : sender
    const cids = cidsOf(msg)
    const expires = Number(msg.expires)
    const declared = Number(msg.bytes)
    if (cids.length === 0) throw new ProtocolError('a HOLD names no blocks')
    if (!(expires > Date.now() && expires <= Date.now() + MAX_LEASE)) throw new ProtocolError(`a lease ends between now and ${MAX_LEASE / 86_400_000} days from now, not at ${expires}`)
    if (declared > cids.length * MAX_BLOCK_SIZE) throw new ProtocolError(`${cids.length} blocks cannot hold ${declared} bytes`)
    const lease = this.c.leases.get(owner.toString(), root.toString())
    if (lease === undefined && this.c.leases.size >= MAX_LEASES) throw new OfferExceededError(declared, this.c.offer, this.c.leases.held())
    const fresh = cids.filter(c => lease?.blocks[c.toString()] === undefined)
    // A renewal (every block leased already) needs no more room; otherwise the declared size counts whole.
    const needed = fresh.length === 0 ? 0 : declared
    if (needed > this.free()) throw new OfferExceededError(needed, this.c.offer, this.c.leases.held() + this.reserved)
    if (this.holding >= MAX_CONCURRENT_HOLDS) throw new ProtocolError(`busy: ${MAX_CONCURRENT_HOLDS} leases are being taken, ask again later`, 'flood')
    this.holding++
    this.reserved += needed
    // From the pull until the lease holds them, so a gc in between cannot take them.
    const release = this.c.leases.holdWhile(fresh)
    try {
      const signal = AbortSignal.any([this.stopping.signal, AbortSignal.timeout(HOLD_TIMEOUT)])
      const sizes = fresh.length === 0 ? {} : await this.c.pull(sender, root, fresh, { signal })
      const got = Object.values(sizes).reduce((a, b) => a + b, 0)
      if (got > needed) throw new ProtocolError(`the blocks hold ${got} bytes, not the ${declared} the HOLD declared`)
      const granted = await this.c.leases.grant(owner.toString(), root.toString(), sizes, expires)
      if (fresh.length > 0) await this.c.announce(root).catch((err: Error) => { this.log('cannot announce %c: %s', root, err.message) })
      return { type: StorageMessage.Type.HELD, bytes: BigInt(granted.bytes) }
    } finally {
      release()
      this.holding--
      this.reserved -= needed
    }
  }

  /**
   * Which blocks of a root it holds: stored and under some lease of the root, so the copies
   * a repair rebuilt here to hand on (not leased, gone at gc) do not count as a holder.
   */
  private async holds (msg: StorageMessage): Promise<boolean[]> {
    const leased = this.c.leases.blocksOf(cidOf(msg.root, 'the root').toString())
    const cids = cidsOf(msg)
    const stored = await this.c.has(cids)
    return cids.map((c, i) => stored[i] && leased.has(c.toString()))
  }

  private async release (msg: StorageMessage, owner: PeerId): Promise<Outgoing> {
    const root = cidOf(msg.root, 'the root')
    await this.c.leases.release(owner.toString(), root.toString())
    if (!this.c.leases.list().some(l => l.root === root.toString())) await this.c.withdraw(root).catch(() => {})
    return { type: StorageMessage.Type.RELEASED }
  }
}

function cidOf (bytes: Uint8Array, what: string): CID {
  try {
    return CID.decode(bytes)
  } catch (err) {
    throw new ProtocolError(`${what} is not a CID: ${(err as Error).message}`)
  }
}

function peerIdOf (bytes: Uint8Array): PeerId {
  try {
    return peerIdFromMultihash(Digest.decode(bytes))
  } catch (err) {
    throw new ProtocolError(`the owner is not a peer id: ${(err as Error).message}`)
  }
}

function cidsOf (msg: StorageMessage): CID[] {
  return msg.cids.map((c, i) => cidOf(c, `block ${i}`))
}
