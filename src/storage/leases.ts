// The holder's side of leases: which blocks it keeps for which owner and root, until when,
// and how many bytes that makes against its offer. Kept in <repo>/leases.json (written whole,
// so a crash leaves the old book or the new one) and opened with the repo, online or not, so
// a gc run without the daemon keeps leased blocks as the daemon would: each lease holds its
// blocks from garbage collection until it is released or expires.
import { join } from 'node:path'
import { CID } from 'multiformats/cid'
import { JsonList } from './json-list.js'

export interface Lease {
  /** The owner's peer id. */
  owner: string
  root: string
  /** Block CID → its size in bytes. */
  blocks: Record<string, number>
  /** What the blocks add up to, counted against the offer. */
  bytes: number
  /** When the lease ends, ms since the epoch. */
  expires: number
  /** When it was last granted or renewed (absent in books written before it was kept). */
  renewed?: number
}

/** What the book needs of the blockstore: holding blocks from gc. */
export interface HoldingStore { hold: (cids: CID[]) => () => void }

export const LEASES_FILE = 'leases.json'

export class LeaseBook {
  private readonly releases = new Map<string, () => void>()

  private constructor (private readonly file: JsonList<Lease>, private readonly store: HoldingStore, private readonly leases: Map<string, Lease>) {
    for (const [key, lease] of leases) this.holdBlocks(key, lease)
  }

  static async open (repo: string, store: HoldingStore): Promise<LeaseBook> {
    const { file, items } = await JsonList.open<Lease>(join(repo, LEASES_FILE), 'lease book')
    return new LeaseBook(file, store, new Map(items.map(l => [keyOf(l.owner, l.root), l])))
  }

  /** Bytes held for others, all leases together. */
  held (): number {
    let sum = 0
    for (const l of this.leases.values()) sum += l.bytes
    return sum
  }

  get size (): number { return this.leases.size }

  get (owner: string, root: string): Lease | undefined {
    return this.leases.get(keyOf(owner, root))
  }

  list (): Lease[] {
    return [...this.leases.values()]
  }

  /** The blocks of a root some lease keeps (whoever the owner). */
  blocksOf (root: string): Set<string> {
    return new Set(this.list().filter(l => l.root === root).flatMap(l => Object.keys(l.blocks)))
  }

  /** The roots some lease keeps, to announce. */
  roots (): CID[] {
    return [...new Set(this.list().map(l => l.root))].map(r => CID.parse(r))
  }

  /** Adds blocks to an owner's lease of a root (made if new) and sets its expiry. */
  async grant (owner: string, root: string, blocks: Record<string, number>, expires: number): Promise<Lease> {
    const key = keyOf(owner, root)
    const old = this.leases.get(key)
    const merged = { ...old?.blocks, ...blocks }
    const lease: Lease = { owner, root, blocks: merged, bytes: Object.values(merged).reduce((a, b) => a + b, 0), expires, renewed: Date.now() }
    this.leases.set(key, lease)
    this.holdBlocks(key, lease)
    await this.save()
    return lease
  }

  /** Holds blocks from gc until the returned release is called: those of a lease being taken. */
  holdWhile (cids: CID[]): () => void {
    return this.store.hold(cids)
  }

  /** Ends a lease (the owner released it); false when there was none. */
  async release (owner: string, root: string): Promise<boolean> {
    if (!this.drop(keyOf(owner, root))) return false
    await this.save()
    return true
  }

  /** Ends every lease past its expiry, so gc may take its blocks; returns them. */
  async expire (now = Date.now()): Promise<Lease[]> {
    const gone = this.list().filter(l => l.expires <= now)
    for (const l of gone) this.drop(keyOf(l.owner, l.root))
    if (gone.length > 0) await this.save()
    return gone
  }

  private drop (key: string): boolean {
    if (!this.leases.delete(key)) return false
    this.releases.get(key)?.()
    this.releases.delete(key)
    return true
  }

  private holdBlocks (key: string, lease: Lease): void {
    const release = this.store.hold(Object.keys(lease.blocks).map(c => CID.parse(c)))
    this.releases.get(key)?.()
    this.releases.set(key, release)
  }

  private async save (): Promise<void> {
    await this.file.save(this.list())
  }
}

/** The part of a lease's term after which, unrenewed, its owner counts as away (it renews at half). */
export const TAKE_OVER_AFTER = 2 / 3

/**
 * Whether a lease's owner looks away: `after` of its term has passed without a renewal, so
 * the holders may take over the upkeep of its stripes until it ends.
 */
export function ownerAway (lease: Lease, now = Date.now(), after = TAKE_OVER_AFTER): boolean {
  if (lease.renewed === undefined) return false
  return lease.expires > now && now - lease.renewed > (lease.expires - lease.renewed) * after
}

const keyOf = (owner: string, root: string): string => `${owner}/${root}`
