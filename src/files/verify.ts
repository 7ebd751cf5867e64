// Verify: re-hash every block of a file or directory tree, report damage, and rebuild from
// parity what can be rebuilt. DAG nodes (manifest, index, stripe, directory) carry no
// parity: damage there is reported as unrecoverable.
import type { CID } from 'multiformats/cid'
import { CustomProgressEvent, type ProgressEvent } from 'progress-events'
import type { Block } from '../blockstore/blockstore.js'
import { ReedSolomonCodec } from '../erasure/reed-solomon.js'
import { BlockNotFoundError } from '../errors.js'
import { verifyBlock } from '../hash/index.js'
import { chunkLength, toShard, type Manifest, type StripeNode } from './format.js'
import { readNode, readVerified, StripeLocator, type BlockSource } from './exporter.js'

export interface RepairTarget extends BlockSource {
  replaceMany (blocks: Block[], options?: { signal?: AbortSignal }): Promise<void>
}

export interface Damage { cid: string, what: string, reason: 'missing' | 'corrupt' | 'invalid' }

export interface VerifyReport {
  blocks: number
  damaged: Damage[]
  repaired: Damage[]
  unrecoverable: Damage[]
  ok: boolean
}

export type VerifyProgressEvents = ProgressEvent<'files:verify:stripe', { stripe: number, stripes: number, name: string }>

export interface VerifyOptions {
  /**
   * Rebuild damaged or missing blocks from parity and store them again.
   * @default true
   */
  repair?: boolean
  signal?: AbortSignal
  onProgress?: (event: VerifyProgressEvents) => void
}

function reasonOf (err: unknown): Damage['reason'] {
  if (err instanceof BlockNotFoundError) return 'missing'
  if ((err as Error).name === 'HashMismatchError') return 'corrupt'
  return 'invalid'
}

export async function verifyTree (store: RepairTarget, root: CID, options: VerifyOptions = {}): Promise<VerifyReport> {
  const report: VerifyReport = { blocks: 0, damaged: [], repaired: [], unrecoverable: [], ok: true }
  await walk(store, root, 'root', report, options)
  report.ok = report.unrecoverable.length === 0
  return report
}

async function walk (store: RepairTarget, cid: CID, what: string, report: VerifyReport, options: VerifyOptions): Promise<void> {
  let node
  try {
    node = await readNode(store, cid, { signal: options.signal })
    report.blocks++
  } catch (err) {
    const d: Damage = { cid: cid.toString(), what, reason: reasonOf(err) }
    report.damaged.push(d)
    report.unrecoverable.push(d)
    return
  }
  if (node.type === 'directory') {
    for (const e of node.entries) await walk(store, e.cid, `${what === 'root' ? '' : what + '/'}${e.name}`, report, options)
  } else if (node.type === 'file') {
    await verifyFile(store, node, what, report, options)
  }
}

async function verifyFile (store: RepairTarget, manifest: Manifest, what: string, report: VerifyReport, options: VerifyOptions): Promise<void> {
  const locator = new StripeLocator(store, manifest)
  const signal = { signal: options.signal }
  for (let s = 0; s < manifest.stripeCount; s++) {
    options.signal?.throwIfAborted()
    options.onProgress?.(new CustomProgressEvent('files:verify:stripe', { stripe: s, stripes: manifest.stripeCount, name: manifest.name }))
    let node: StripeNode
    try {
      node = await locator.node(s, signal)
      report.blocks++
    } catch (err) {
      const cid = await locator.cid(s, signal).then(c => c.toString(), () => 'index')
      const d: Damage = { cid, what: `${what}: stripe ${s} node`, reason: reasonOf(err) }
      report.damaged.push(d)
      report.unrecoverable.push(d)
      continue
    }
    await verifyStripe(store, manifest, node, what, report, options)
  }
}

async function verifyStripe (store: RepairTarget, manifest: Manifest, node: StripeNode, what: string, report: VerifyReport, opts: VerifyOptions): Promise<void> {
  const options = { signal: opts.signal }
  const kk = node.data.length
  const first = node.index * manifest.erasure.k
  const all = [...node.data, ...node.parity]
  const label = (i: number): string => i < kk ? `${what}: chunk ${first + i}` : `${what}: stripe ${node.index} parity ${i - kk}`
  const read = await readVerified(store, all, options)
  const shards: Array<Uint8Array | undefined> = new Array(all.length).fill(undefined)
  const bad: Damage[] = []
  const badIdx: number[] = []
  read.forEach((r, i) => {
    if (r.bytes === undefined) {
      bad.push({ cid: all[i].toString(), what: label(i), reason: r.reason })
      badIdx.push(i)
      return
    }
    report.blocks++
    shards[i] = toShard(r.bytes, node.shardSize)
  })
  if (bad.length === 0) return
  report.damaged.push(...bad)
  if (kk + node.parity.length - bad.length < kk) {
    report.unrecoverable.push(...bad)
    return
  }
  if (opts.repair === false) return
  const rebuilt = await new ReedSolomonCodec(kk, node.parity.length).reconstruct(shards, badIdx, options)
  const fixed: Block[] = []
  for (const [n, i] of badIdx.entries()) {
    const bytes = (rebuilt.get(i) as Uint8Array).subarray(0, i < kk ? chunkLength(manifest, first + i) : node.shardSize)
    try {
      await verifyBlock(all[i], bytes, options)
      fixed.push({ cid: all[i], bytes })
      report.repaired.push(bad[n])
    } catch {
      report.unrecoverable.push(bad[n])
    }
  }
  await store.replaceMany(fixed, options)
}
