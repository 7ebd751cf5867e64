// erasure: files whose blocks are spread over different nodes, with up to m + 1 blocks of
// every stripe held by nobody.
//
// An origin node adds each file; its DAG nodes are placed on every holder and each stripe's
// k + m blocks are dealt out over the holders in a seeded order, straight into their
// blockstores (in one process this is what an upload through the API would leave). For
// r = 0 … m + 1 the same file is placed again with r blocks of every stripe (a seeded mix of
// data and parity) left out; the holders provide the root and a fresh node fetches it by
// CID. Up to m missing blocks per stripe must give identical bytes, rebuilt from parity;
// m + 1 must fail with a DataLossError naming what is missing.
import { createHash } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { CID } from 'multiformats/cid'
import { PeerLinkNode } from '../../src/node/peerlink.js'
import { initRepo } from '../../src/repo/repo.js'
import { dagNodesOf, stripesOf } from '../lib/dag.js'
import { bootstrapFrom, startNode, waitForRoutingTables } from '../lib/network.js'
import { barChart } from '../lib/plot.js'
import type { Scenario, ScenarioContext, ScenarioResult } from '../lib/scenario.js'
import { median, round } from '../lib/stats.js'

const CHUNK = 64 * 1024
const K = 10
const M = 4

export interface Case { file: number, removed: number, ok: boolean, identical: boolean, parityUsed: number, rebuiltChunks: number, fetchedBlocks: number, ms: number, error?: string, namesMissing?: boolean }

export const erasure: Scenario = {
  name: 'erasure',
  description: 'files spread over holders, up to m + 1 blocks of every stripe gone',
  nodes: { default: 10, quick: 4, min: 3, max: 40 },
  timeLimit: { quick: 90_000, full: 900_000 },
  async run (ctx) {
    const nodes: PeerLinkNode[] = []
    ctx.defer(async () => { await Promise.all(nodes.map(async n => await n.stop().catch(() => {}))) })
    // The origin imports offline: it never provides, so only the holders can serve.
    await initRepo(join(ctx.dir, 'origin'))
    const origin = await PeerLinkNode.open(join(ctx.dir, 'origin'))
    ctx.defer(async () => { await origin.stop() })
    for (let i = 0; i < ctx.nodes; i++) {
      nodes.push(await startNode(join(ctx.dir, `node${i}`), bootstrapFrom(nodes, 2)))
      ctx.progress.update(`started ${nodes.length} nodes`)
    }
    await waitForRoutingTables(nodes, Math.min(nodes.length - 1, 3), 30_000)
    const holders = nodes
    const files = ctx.quick ? 1 : 4
    const cases: Case[] = []
    let fetchers = 0
    for (let f = 0; f < files; f++) {
      const stripes = 2 + ctx.rng.int(ctx.quick ? 2 : 5)
      const size = (stripes - 1) * K * CHUNK + 1 + ctx.rng.int(K * CHUNK)
      const path = join(ctx.dir, `file${f}.bin`)
      const bytes = ctx.rng.bytes(size)
      await writeFile(path, bytes)
      const digest = createHash('sha256').update(bytes).digest('hex')
      const added = await origin.add(path, { chunkSize: CHUNK, k: K, m: M })
      const root = added.cid
      const dag = await dagNodesOf(origin.blockstore, root)
      const stripeList = await stripesOf(origin.blockstore, root)
      const get = async (cid: CID): Promise<{ cid: CID, bytes: Uint8Array }> => ({ cid, bytes: await origin.blockstore.get(cid) })
      const dagBlocks = await Promise.all(dag.map(get))
      for (let removed = 0; removed <= M + 1; removed++) {
        ctx.signal.throwIfAborted()
        ctx.progress.update(`file ${f + 1}/${files}: ${stripes} stripes, ${removed} blocks of each stripe held by nobody`)
        // Place: every holder gets the DAG nodes; each stripe's blocks minus `removed` are dealt out.
        for (const h of holders) await h.blockstore.putMany(dagBlocks)
        const missing: string[] = []
        for (const { node } of stripeList) {
          const blocks = [...node.data, ...node.parity]
          const gone = new Set(ctx.rng.sample(blocks.map((_, i) => i), removed))
          const order = ctx.rng.sample(holders, holders.length)
          let next = 0
          for (let i = 0; i < blocks.length; i++) {
            if (gone.has(i)) { missing.push(blocks[i].toString()); continue }
            await order[next++ % order.length].blockstore.put(blocks[i], await origin.blockstore.get(blocks[i]))
          }
        }
        await Promise.all(holders.map(async h => await h.network.provide(root, { signal: ctx.signal })))
        cases.push(await fetchCase(ctx, nodes, { file: f, removed, root, digest, missing, fetcher: fetchers++ }))
        // Clear the holders for the next placement.
        for (const h of holders) {
          for (const { node } of stripeList) for (const c of [...node.data, ...node.parity]) await h.blockstore.delete(c).catch(() => {})
        }
        const last = cases.at(-1) as Case
        ctx.progress.update(`file ${f + 1}: ${removed} missing per stripe → ${last.ok ? `ok${last.identical ? ', identical' : ', DIFFERENT'}, ${last.parityUsed} parity used` : last.error ?? ''}`, true)
      }
    }
    return report(cases, files, holders.length)
  }
}

/** A fresh node fetches the placed file by CID; the case says whether it came back whole, and how. */
async function fetchCase (ctx: ScenarioContext, nodes: PeerLinkNode[], c: { file: number, removed: number, root: CID, digest: string, missing: string[], fetcher: number }): Promise<Case> {
  const fetcher = await startNode(join(ctx.dir, `fetcher${c.fetcher}`), bootstrapFrom(nodes, 2))
  const out = join(ctx.dir, `out-${c.file}-${c.removed}.bin`)
  let parityUsed = 0
  try {
    await waitForRoutingTables([fetcher], Math.min(nodes.length, 3), 10_000)
    const t0 = performance.now()
    try {
      const r = await fetcher.fetch({ root: c.root, addrs: [] }, {
        output: out,
        signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(60_000)]),
        onProgress: (e) => { if (e.type === 'files:export:repaired') parityUsed += (e.detail as { parityUsed: number }).parityUsed }
      })
      const identical = createHash('sha256').update(await readFile(out)).digest('hex') === c.digest
      return { file: c.file, removed: c.removed, ok: true, identical, parityUsed, rebuiltChunks: r.rebuiltChunks, fetchedBlocks: r.fetchedBlocks, ms: performance.now() - t0 }
    } catch (err) {
      const e = err as Error
      if (ctx.signal.aborted) throw err
      return { file: c.file, removed: c.removed, ok: false, identical: false, parityUsed, rebuiltChunks: 0, fetchedBlocks: 0, ms: performance.now() - t0, error: `${e.name}: ${e.message.slice(0, 300)}`, namesMissing: e.name === 'DataLossError' && c.missing.some(m => e.message.includes(m)) }
    }
  } finally {
    await fetcher.stop()
  }
}

/** The results, from the fetches alone (no I/O). */
export function report (cases: Case[], files: number, holders: number): ScenarioResult {
  const within = cases.filter(c => c.removed <= M)
  const beyond = cases.filter(c => c.removed > M)
  const byRemoved = Array.from({ length: M + 2 }, (_, r) => {
    const at = cases.filter(c => c.removed === r)
    return { removed: r, success: round(at.filter(c => c.ok && c.identical).length / at.length, 3), parity_used: round(median(at.map(c => c.parityUsed)), 1), fetch_ms: round(median(at.map(c => c.ms))) }
  })
  return {
    headline: {
      files,
      k: K,
      m: M,
      fetched_identical_up_to_m: within.every(c => c.ok && c.identical),
      failed_clearly_past_m: beyond.every(c => !c.ok && c.namesMissing === true),
      parity_used_at_m: byRemoved[M].parity_used
    },
    targets: [
      { name: `up to m = ${M} blocks of every stripe gone: identical bytes`, ok: within.every(c => c.ok && c.identical), detail: `${within.filter(c => c.ok && c.identical).length}/${within.length} fetches` },
      { name: 'm + 1 gone: DataLossError naming a missing block', ok: beyond.every(c => !c.ok && c.namesMissing === true), detail: beyond.map(c => c.error?.split(':')[0] ?? 'fetched').join(', ') }
    ],
    data: { cases, byRemoved },
    plots: [
      { name: 'parity-used', title: 'Parity blocks used per stripe loss', spec: barChart('parity blocks fetched to rebuild (median per file)', byRemoved, { field: 'removed', title: 'blocks of every stripe held by nobody' }, { field: 'parity_used', title: 'parity blocks used' }) },
      { name: 'success', title: 'Fetch success per stripe loss', spec: barChart('identical fetches', byRemoved, { field: 'removed', title: 'blocks of every stripe held by nobody' }, { field: 'success', title: 'fraction identical' }) }
    ],
    notes: [
      `${holders} holders, chunks of ${CHUNK / 1024} KiB, k = ${K}, m = ${M}; each stripe's blocks dealt over the holders in a seeded order, DAG nodes on every holder.`,
      'Every fetch is by CID from a fresh node that finds the holders through the DHT; a fetch that fails leaves the fetcher stopped.'
    ]
  }
}
