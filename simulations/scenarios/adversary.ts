// adversary: a share of the providers lie, stall or break the protocol; every fetched file
// must still be byte-identical, and the time it costs is measured.
//
// All nodes in one process. Every provider adds each file (so the DHT names them all);
// then the adversaries turn: a corrupt node flips a byte in every data chunk it stores (it
// serves them as they are, failing verification), a staller's exchange handler takes
// streams and never answers, a hostile node answers every stream with a frame whose length
// is over the limit. Fresh nodes fetch each attacked file by CID and, for the time penalty,
// a control file of the same size that only honest nodes provide.
import { createHash } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CID } from 'multiformats/cid'
import { EXCHANGE_PROTOCOL } from '../../src/exchange/constants.js'
import type { PeerLinkNode } from '../../src/node/peerlink.js'
import { damageBlock, stripesOf } from '../lib/dag.js'
import { bootstrapFrom, startNode, waitForRoutingTables } from '../lib/network.js'
import { barChart } from '../lib/plot.js'
import type { Scenario, ScenarioContext, ScenarioResult } from '../lib/scenario.js'
import { median, round } from '../lib/stats.js'

const CORRUPT_SHARE = 0.3
const STALL_SHARE = 0.1
const HOSTILE_SHARE = 0.1
const CHUNK = 256 * 1024

export type Kind = 'honest' | 'corrupt' | 'stall' | 'hostile'

export interface Fetch { file: number, attacked: boolean, identical: boolean, ms: number, dropped: number, error?: string }

export const adversary: Scenario = {
  name: 'adversary',
  description: 'corrupt, stalling and hostile providers among honest ones',
  nodes: { default: 10, quick: 5, min: 4, max: 40 },
  timeLimit: { quick: 120_000, full: 900_000 },
  async run (ctx) {
    const n = ctx.nodes
    const kinds = planKinds(ctx)
    const nodes: PeerLinkNode[] = []
    ctx.defer(async () => { await Promise.all(nodes.map(async x => await x.stop().catch(() => {}))) })
    for (let i = 0; i < n; i++) {
      nodes.push(await startNode(join(ctx.dir, `node${i}`), bootstrapFrom(nodes, 2)))
      ctx.progress.update(`started ${nodes.length}/${n} nodes`)
    }
    await waitForRoutingTables(nodes, Math.min(n - 1, 3), 30_000)
    const files = ctx.quick ? 2 : 6
    const size = (ctx.quick ? 4 : 24) * 1024 * 1024
    const prepared: Prepared[] = []
    for (let f = 0; f < files; f++) {
      prepared.push(await prepare(ctx, nodes, kinds, f, size))
      ctx.progress.update(`prepared file ${f + 1}/${files}`)
    }
    await turn(nodes, kinds)
    const fetches: Fetch[] = []
    let fetchers = 0
    for (const [f, p] of prepared.entries()) {
      for (const attacked of [false, true]) {
        ctx.signal.throwIfAborted()
        const last = await fetchOne(ctx, nodes, p, attacked, f, fetchers++)
        fetches.push(last)
        ctx.progress.update(`file ${f + 1}/${files} ${attacked ? 'attacked' : 'control'}: ${last.identical ? 'identical' : 'NOT identical'} in ${last.ms.toFixed(0)} ms, ${last.dropped} providers dropped`, true)
      }
    }
    return report(kinds, fetches, size)
  }
}

/** Which node is which kind, from the seed: at least one of each adversary, and at least one honest node. */
function planKinds (ctx: ScenarioContext): Kind[] {
  const n = ctx.nodes
  const stall = Math.max(1, Math.floor(n * STALL_SHARE))
  const hostile = Math.max(1, Math.floor(n * HOSTILE_SHARE))
  const corrupt = Math.max(1, Math.min(n - stall - hostile - 1, Math.ceil(n * CORRUPT_SHARE)))
  return ctx.rng.sample([
    ...Array<Kind>(corrupt).fill('corrupt'), ...Array<Kind>(stall).fill('stall'), ...Array<Kind>(hostile).fill('hostile'),
    ...Array<Kind>(n - corrupt - stall - hostile).fill('honest')
  ], n)
}

interface Prepared { attacked: string, control: string, digests: string[] }

/** An attacked file every node adds (corrupt nodes then damage their chunks of it) and a control file only honest nodes add. */
async function prepare (ctx: ScenarioContext, nodes: PeerLinkNode[], kinds: Kind[], f: number, size: number): Promise<Prepared> {
  const paths = [join(ctx.dir, `attacked${f}.bin`), join(ctx.dir, `control${f}.bin`)]
  const digests: string[] = []
  for (const p of paths) {
    const bytes = ctx.rng.bytes(size)
    await writeFile(p, bytes)
    digests.push(createHash('sha256').update(bytes).digest('hex'))
  }
  const honest = nodes.filter((_, i) => kinds[i] === 'honest')
  const attacked = (await Promise.all(nodes.map(async x => (await x.add(paths[0], { chunkSize: CHUNK })).cid)))[0]
  const control = (await Promise.all(honest.map(async x => (await x.add(paths[1], { chunkSize: CHUNK })).cid)))[0]
  for (const [i, x] of nodes.entries()) {
    if (kinds[i] !== 'corrupt') continue
    for (const s of await stripesOf(x.blockstore, attacked)) {
      for (const cid of s.node.data) await damageBlock(x.blockstore, cid, 'flip', ctx.rng.int(CHUNK))
    }
  }
  return { attacked: attacked.toString(), control: control.toString(), digests }
}

/** Stallers and hostile nodes replace their exchange handler. */
async function turn (nodes: PeerLinkNode[], kinds: Kind[]): Promise<void> {
  for (const [i, x] of nodes.entries()) {
    const host = x.network.host
    if (kinds[i] === 'stall') {
      await host.unhandle(EXCHANGE_PROTOCOL)
      await host.handle(EXCHANGE_PROTOCOL, (stream) => { stream.addEventListener('message', () => {}) }, { maxInboundStreams: 64 })
    } else if (kinds[i] === 'hostile') {
      await host.unhandle(EXCHANGE_PROTOCOL)
      // A varint length of 2^28 - 1: over the message limit before any byte of it arrives.
      await host.handle(EXCHANGE_PROTOCOL, (stream) => { stream.send(Uint8Array.of(0xff, 0xff, 0xff, 0x7f, 1, 2, 3)) }, { maxInboundStreams: 64 })
    }
  }
}

/** A fresh node fetches the attacked or the control file by CID. */
async function fetchOne (ctx: ScenarioContext, nodes: PeerLinkNode[], p: Prepared, attacked: boolean, f: number, index: number): Promise<Fetch> {
  const fetcher = await startNode(join(ctx.dir, `fetcher${index}`), bootstrapFrom(nodes, 2))
  try {
    await waitForRoutingTables([fetcher], Math.min(nodes.length, 3), 10_000)
    const out = join(ctx.dir, `out${index + 1}.bin`)
    const t0 = performance.now()
    try {
      const r = await fetcher.fetch({ root: CID.parse(attacked ? p.attacked : p.control), addrs: [] }, { output: out, signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(120_000)]) })
      const identical = createHash('sha256').update(await readFile(out)).digest('hex') === p.digests[attacked ? 0 : 1]
      return { file: f, attacked, identical, ms: performance.now() - t0, dropped: r.providers.filter(x => x.dropped).length }
    } catch (err) {
      if (ctx.signal.aborted) throw err
      return { file: f, attacked, identical: false, ms: performance.now() - t0, dropped: 0, error: `${(err as Error).name}: ${(err as Error).message.slice(0, 200)}` }
    }
  } finally {
    await fetcher.stop()
  }
}

/** The results, from the node kinds and the fetches alone (no I/O). */
export function report (kinds: Kind[], fetches: Fetch[], size: number): ScenarioResult {
  const n = kinds.length
  const count = (k: Kind): number => kinds.filter(x => x === k).length
  const [honest, corrupt, stall, hostile] = [count('honest'), count('corrupt'), count('stall'), count('hostile')]
  const att = fetches.filter(x => x.attacked)
  const ctl = fetches.filter(x => !x.attacked)
  const attMs = median(att.map(x => x.ms))
  const ctlMs = median(ctl.map(x => x.ms))
  return {
    headline: {
      providers: n,
      honest,
      corrupt,
      stalling: stall,
      hostile,
      corrupt_share: round(corrupt / n, 2),
      identical_fetches: `${att.filter(x => x.identical).length}/${att.length}`,
      median_ms_attacked: round(attMs),
      median_ms_control: round(ctlMs),
      time_penalty: round(attMs / ctlMs, 2)
    },
    targets: [
      { name: `with ${Math.round(corrupt / n * 100)} % corrupt providers every fetched file is identical`, ok: att.every(x => x.identical) && ctl.every(x => x.identical), detail: `${att.filter(x => x.identical).length}/${att.length} attacked, ${ctl.filter(x => x.identical).length}/${ctl.length} control` }
    ],
    data: { kinds, fetches, fileBytes: size },
    plots: [
      { name: 'fetch-time', title: 'Fetch time with and without adversaries', spec: barChart('fetch time per file', fetches.map(x => ({ file: `file ${x.file + 1}`, ms: round(x.ms), kind: x.attacked ? 'with adversaries' : 'honest only' })), { field: 'kind', title: '', type: 'nominal' }, { field: 'ms', title: 'ms' }, { field: 'file', title: 'file' }) }
    ],
    notes: [
      `${n} providers: ${honest} honest, ${corrupt} corrupt (a flipped byte in every stored data chunk), ${stall} stalling (take exchange streams, never answer), ${hostile} hostile (an over-limit frame on every stream). Files of ${size / 1024 / 1024} MiB in ${CHUNK / 1024} KiB chunks.`,
      'Each fetch is by CID from a fresh node; the control file of the same size is provided by the honest nodes only. All nodes share one process.'
    ]
  }
}
