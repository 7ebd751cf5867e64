// Holder-side repair: the upkeep of a spread root while its owner is away. A holder whose
// lease the owner has not renewed for a while (ownerAway) reads the root's stripe nodes (a
// tree's across its files, numbered as layout.ts numbers them), asks
// the root's providers HAS for the blocks of the stripes it holds a block of, and for each
// stripe that lost blocks but keeps at least k, the live holder closest to the stripe's key
// acts (every holder ranks the same peers the same way, so one does): it reads any k blocks
// of the stripe from the network (the missing data rebuilt from parity, the parity computed
// again, every block verified), stores what is gone, and places it on the closest holders
// with room that the stripe does not use (refillLost), under leases in the owner's name that
// end when the owner's does. The new holders pull the blocks from this node.
import type { Logger } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { CID } from 'multiformats/cid'
import { computeParity, readStripeChunks, type BlockSource } from '../files/exporter.js'
import type { Manifest, StripeNode } from '../files/format.js'
import { healthOf, type HealthReport } from './health.js'
import { treeStripes } from './layout.js'
import type { Lease, LeaseBook } from './leases.js'
import { mapLimited, type OfferingHolder, type OwnerComponents, type StorageOwner } from './owner.js'
import type { Pacer } from './pacer.js'
import { closestHolders, stripeKey } from './placement.js'
import { REPAIR_HOLD_BLOCKS } from './repair.js'
import { refillLost } from './spread.js'

export interface CaretakerComponents {
  /** This node's peer id. */
  self: string
  owner: StorageOwner
  leases: LeaseBook
  findProviders: OwnerComponents['findProviders']
  has: (cids: CID[]) => Promise<boolean[]>
  /** A root's blocks from the repo and, for what it lacks, the root's providers (verified, stored); closed after use. */
  open: (root: CID, options: { signal?: AbortSignal }) => BlockSource & { close: () => Promise<void> }
  /** Stores rebuilt blocks (each hashed and matched to its CID first). */
  store: (blocks: Array<{ cid: CID, bytes: Uint8Array }>, options: { signal?: AbortSignal }) => Promise<void>
  pacer: Pacer
  log: Logger
}

/** One holder-side upkeep of a root, as status shows it. */
export interface CareReport {
  at: number
  root: string
  owner: string
  /** Stripes this node holds a block of; those that lost blocks; those this node repaired; those below k. */
  watched: number
  degraded: number
  repaired: number
  lost: number
  /** Blocks placed anew, their bytes, and the bytes read to rebuild them. */
  blocks: number
  bytes: number
  read: number
}

/** Providers of a root asked HAS in one upkeep. */
const MAX_PEERS = 64

interface Watched { index: number, manifest: Manifest, node: StripeNode, blocks: string[] }

/** A root's stripes (those `watch` picks; a tree's across its files) and who has each of their blocks, from HAS queries. */
interface Survey { stripes: Watched[], where: Map<string, Set<string>> }

async function survey (c: CaretakerComponents, root: CID, source: BlockSource, watch: (blocks: string[]) => boolean, options: { signal?: AbortSignal }): Promise<Survey> {
  const stripes: Watched[] = []
  for await (const { index, manifest, node } of treeStripes(source, root, options)) {
    const blocks = [...node.data, ...node.parity].map(b => b.toString())
    if (watch(blocks)) stripes.push({ index, manifest, node, blocks })
  }
  return { stripes, where: await presence(c, root, stripes.flatMap(w => w.blocks), options) }
}

/**
 * How a root this node holds blocks of stands, as the owner's status shows it, from what
 * the root's providers say they have (the DAG nodes not counted).
 */
export async function heldHealth (c: CaretakerComponents, root: CID, expires: number, options: { signal?: AbortSignal } = {}): Promise<HealthReport> {
  const source = c.open(root, options)
  try {
    const found = await survey(c, root, source, () => true, options)
    const has = new Set<string>()
    for (const [cid, peers] of found.where) for (const p of peers) has.add(`${p}/${cid}`)
    const stripes = found.stripes.map(w => ({ blocks: w.blocks, sizes: [], holders: w.blocks.map(b => [...(found.where.get(b) ?? [''])][0]), k: w.node.data.length }))
    const report = healthOf({ root: root.toString(), stripes, nodes: [], lease: 0, expires }, { has, reachable: new Set([...found.where.values()].flatMap(p => [...p])) })
    for (const s of report.stripes) s.holders = s.holders.filter(h => h.peer !== '')
    return report
  } finally {
    await source.close()
  }
}

/** One upkeep of a root this node holds blocks of for an away owner. */
export async function careFor (c: CaretakerComponents, lease: Lease, options: { signal?: AbortSignal } = {}): Promise<CareReport> {
  const root = CID.parse(lease.root)
  const report: CareReport = { at: Date.now(), root: lease.root, owner: lease.owner, watched: 0, degraded: 0, repaired: 0, lost: 0, blocks: 0, bytes: 0, read: 0 }
  const source = c.open(root, options)
  try {
    const found = await survey(c, root, source, blocks => blocks.some(b => lease.blocks[b] !== undefined), options)
    const { stripes: watched, where } = found
    report.watched = watched.length
    let offers: Promise<OfferingHolder[]> | undefined
    for (const w of watched) {
      const holdersOf = w.blocks.map(b => [...(where.get(b) ?? [])])
      const live = holdersOf.filter(h => h.length > 0).length
      if (live === w.blocks.length) continue
      report.degraded++
      if (live < w.node.data.length) {
        report.lost++
        c.log('stripe %d of %s keeps %d of its %d blocks, %d rebuild it: lost', w.index, lease.root, live, w.blocks.length, w.node.data.length)
        continue
      }
      const ids = [...new Set(holdersOf.flat())]
      const leader = closestHolders(stripeKey(root.bytes, w.index), ids.map(id => ({ id, key: peerIdFromString(id).toMultihash().bytes })))[0].id
      if (leader !== c.self) continue
      offers ??= c.owner.findHolders(options)
      await rebuildStripe(c, { root, lease, source, w, holdersOf, offers: await offers }, report, options)
    }
  } finally {
    await source.close()
  }
  return report
}

/** Who has each block: the root's providers (and this node) asked HAS. */
async function presence (c: CaretakerComponents, root: CID, cids: string[], options: { signal?: AbortSignal }): Promise<Map<string, Set<string>>> {
  const where = new Map<string, Set<string>>()
  const mark = (cid: string, peer: string): void => { where.set(cid, (where.get(cid) ?? new Set()).add(peer)) }
  // As a holder answers HAS: stored and leased (blocks rebuilt here to hand on do not count).
  const leased = c.leases.blocksOf(root.toString())
  const mine = await c.has(cids.map(b => CID.parse(b)))
  cids.forEach((b, i) => { if (mine[i] && leased.has(b)) mark(b, c.self) })
  const providers = await c.findProviders(root, { signal: options.signal, limit: MAX_PEERS }).catch(() => [])
  const peers = [...new Set(providers.map(p => p.id.toString()))].filter(p => p !== c.self)
  await mapLimited(peers, 8, async (peer) => {
    const has = await c.owner.has(peer, root, cids, options)
    has?.forEach((x, i) => { if (x) mark(cids[i], peer) })
  })
  return where
}

interface StripeJob {
  root: CID
  lease: Lease
  source: BlockSource
  w: Watched
  /** Per shard, the peers that have it (none: lost). */
  holdersOf: string[][]
  offers: OfferingHolder[]
}

async function rebuildStripe (c: CaretakerComponents, job: StripeJob, report: CareReport, options: { signal?: AbortSignal }): Promise<void> {
  const { root, lease, w } = job
  const manifest = w.manifest
  const k = w.node.data.length
  await c.pacer.take(k * w.node.shardSize, options)
  const { chunks } = await readStripeChunks(job.source, manifest, w.node, Array.from({ length: k }, (_, i) => i), options)
  const parity = await computeParity(manifest, w.node, chunks, options)
  const all = [...w.node.data.map((cid, i) => ({ cid, bytes: chunks.get(i) as Uint8Array })), ...parity]
  report.read += k * w.node.shardSize
  const missing = all.filter((_, j) => job.holdersOf[j].length === 0)
  // Kept from gc until the new holders have pulled them.
  const release = c.leases.holdWhile(missing.map(b => b.cid))
  try {
    await c.store(missing, options)
    const free = new Map(job.offers.map(h => [h.id, h.free]))
    const stripe = { blocks: w.blocks, sizes: all.map(b => b.bytes.byteLength), holders: job.holdersOf.map(h => h[0] ?? '') }
    const live = (size: number, not: string[]): OfferingHolder[] => job.offers.filter(h => !not.includes(h.id) && (free.get(h.id) ?? 0) >= size)
    const moved = new Map<string, Array<{ cid: string, size: number }>>()
    for (const [h, j] of refillLost(root, w.index, stripe, h => h === '', live)) {
      moved.set(h, [...(moved.get(h) ?? []), { cid: w.blocks[j], size: stripe.sizes[j] }])
      free.set(h, (free.get(h) ?? 0) - stripe.sizes[j])
    }
    const pace = async (bytes: number, o: { signal?: AbortSignal }): Promise<void> => { await c.pacer.take(bytes, o) }
    let placed = 0
    for (const [h, blocks] of moved) {
      const outcome = await c.owner.hold(h, root, blocks, lease.expires, { ...options, owner: lease.owner, part: REPAIR_HOLD_BLOCKS, pace })
      if (!outcome.ok) {
        c.log('%s refused %d blocks of stripe %d of %s: %s', h, blocks.length, w.index, lease.root, outcome.reason)
        continue
      }
      placed += blocks.length
      report.bytes += blocks.reduce((a, b) => a + b.size, 0)
    }
    report.blocks += placed
    if (placed === missing.length) report.repaired++
    c.log('stripe %d of %s (owner %s away): %d of its %d lost blocks placed anew', w.index, lease.root, lease.owner, placed, missing.length)
  } finally {
    release()
  }
}
