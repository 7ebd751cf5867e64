// What must hold in a repo whose daemon was killed (kill -9) at any moment, checked with the
// daemon down and through the open path the daemon itself takes:
//   - the repo opens (a LOCK file left by the dead process does not block it);
//   - every block the index names reads back whole and hashes to its CID (a kill leaves at
//     most unindexed files), and the usage record counts exactly the indexed blocks;
//   - every pin's tree is complete or repairable from parity (no half-made pin);
//   - roots whose add or fetch finished before the kill are pinned;
//   - after a gc that finished, no file is left in blocks/data/ that the index does not name,
//     and no pack in blocks/packs/ that no index entry is in.
// It also counts, per root asked about, how many of given blocks are indexed: what a resumed
// fetch must not bring again.
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { CID } from 'multiformats/cid'
import { verifyBlocks } from '../../src/hash/index.js'
import { PeerLinkNode } from '../../src/node/peerlink.js'

export interface RepoExpectations {
  /** Blocks damaged or deleted on purpose and not yet repaired: their hash may fail, their file be gone. */
  damaged: ReadonlySet<string>
  /** Roots whose add or fetch had finished before the kill. */
  pinned: readonly string[]
  /** Blocks to count per root (resume checks). */
  count: ReadonlyMap<string, readonly CID[]>
  /** A gc finished last: no block file (nor temporary) may be left that the index does not name. */
  collected?: boolean
}

export interface RepoCheck {
  /** What does not hold, one sentence each; empty when the repo is sound. */
  problems: string[]
  pins: string[]
  /** Per root of `count`, how many of its blocks the index holds. */
  held: Map<string, number>
}

/** Blocks read and hashed at a time while the whole index is checked. */
const SLICE = 64

export async function checkRepo (repo: string, expected: RepoExpectations, options: { signal?: AbortSignal } = {}): Promise<RepoCheck> {
  const out: RepoCheck = { problems: [], pins: [], held: new Map() }
  let node: PeerLinkNode
  try {
    node = await PeerLinkNode.open(repo)
  } catch (err) {
    out.problems.push(`the repo does not open: ${(err as Error).name}: ${(err as Error).message}`)
    return out
  }
  try {
    out.problems.push(...await checkIndex(node, expected.damaged, options))
    out.problems.push(...await checkPins(node, expected.pinned, options))
    if (expected.collected === true) {
      const left = await unindexedFiles(node, join(repo, 'blocks', 'data'))
      if (left.length > 0) out.problems.push(`gc finished but left ${left.length} files the index does not name (${left.slice(0, 3).join(', ')})`)
      const used = await node.blockstore.packsInUse()
      const packs = (await readdir(join(repo, 'blocks', 'packs')).catch(() => [] as string[])).filter(n => !used.has(n))
      if (packs.length > 0) out.problems.push(`gc finished but left ${packs.length} packs no index entry is in (${packs.slice(0, 3).join(', ')})`)
    }
    out.pins = (await node.ls()).map(p => p.cid.toString())
    for (const [root, cids] of expected.count) {
      out.held.set(root, (await node.blockstore.hasMany([...cids], options)).filter(Boolean).length)
    }
  } finally {
    await node.stop()
  }
  return out
}

/** Every indexed block whole and matching its CID; the usage record equal to what is indexed. */
async function checkIndex (node: PeerLinkNode, damaged: ReadonlySet<string>, options: { signal?: AbortSignal }): Promise<string[]> {
  const problems: string[] = []
  let blocks = 0
  let bytes = 0
  let unread = 0 // files deleted on purpose: their size is not known here
  const check = async (slice: CID[]): Promise<void> => {
    const read: Array<{ cid: CID, bytes: Uint8Array }> = []
    for await (const b of node.blockstore.getMany(slice, options)) {
      if (b.bytes === undefined) {
        if (!damaged.has(b.cid.toString())) problems.push(`the index names ${b.cid.toString()} but its file is missing`)
        unread++
      } else read.push({ cid: b.cid, bytes: b.bytes })
    }
    blocks += slice.length
    bytes += read.reduce((n, b) => n + b.bytes.byteLength, 0)
    for (const r of await verifyBlocks(read, options)) {
      if (!r.ok && !damaged.has(r.cid.toString())) problems.push(`indexed block ${r.cid.toString()} is damaged: ${r.error.message}`)
    }
  }
  let slice: CID[] = []
  for await (const cid of node.blockstore.cids(options)) {
    slice.push(cid)
    if (slice.length === SLICE) { await check(slice); slice = [] }
  }
  await check(slice)
  const usage = await node.usage()
  if (usage.blocks !== blocks) problems.push(`the usage record counts ${usage.blocks} blocks, the index holds ${blocks}`)
  else if (unread === 0 && usage.bytes !== bytes) problems.push(`the usage record counts ${usage.bytes} bytes, the indexed blocks hold ${bytes}`)
  return problems
}

/** Files under the blocks' data directory that name no indexed block. */
async function unindexedFiles (node: PeerLinkNode, dataDir: string): Promise<string[]> {
  const left: string[] = []
  for (const shard of await readdir(dataDir)) {
    const named: Array<{ name: string, cid: CID }> = []
    for (const name of await readdir(join(dataDir, shard))) {
      try { named.push({ name, cid: CID.parse(name) }) } catch { left.push(name) } // a temporary
    }
    const indexed = await node.blockstore.hasMany(named.map(n => n.cid))
    left.push(...named.filter((_, i) => !indexed[i]).map(n => n.name))
  }
  return left
}

/** Every pin complete or repairable; the roots that must be pinned are. */
async function checkPins (node: PeerLinkNode, mustBePinned: readonly string[], options: { signal?: AbortSignal }): Promise<string[]> {
  const problems: string[] = []
  const pins = await node.ls()
  for (const pin of pins) {
    const report = await node.verify(pin.cid, { repair: false, signal: options.signal })
    if (!report.ok) {
      const lost = report.unrecoverable.slice(0, 3).map(d => `${d.what} ${d.reason}`).join(', ')
      problems.push(`pin ${pin.cid.toString()} (${pin.name}) is half-made: ${report.unrecoverable.length} blocks beyond repair (${lost})`)
    }
  }
  const pinned = new Set(pins.map(p => p.cid.toString()))
  for (const root of mustBePinned) if (!pinned.has(root)) problems.push(`${root} finished before the kill but is not pinned`)
  return problems
}
