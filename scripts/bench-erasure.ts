// Reed-Solomon throughput against references measured in the same run.
//
//   npm run bench:erasure -- [--json] [--rounds N]
//
// k = 10, m = 4, shards of 256 KiB and 1 MiB, one thread: our encode at each GF(2^8) level
// this CPU has (fresh parity buffers per call, as a caller without `into` gets), our encode
// and our rebuild of 4 lost data shards into reused buffers, @ronomon/reed-solomon's encode,
// and ISA-L's encode when libisal is installed (Debian libisal-dev, through a small C harness
// run once per round between ours, so both see the same load). The comparison with ISA-L is
// like for like: same k, m and shard size, one thread, the same parity buffers every call,
// the same bytes counted (k * shard of data per call), with the data in cache (one stripe)
// and not (a pool of COLD_BYTES of stripes, walked in turn). GB/s count data bytes.
import '../src/polyfill.js'
import { execFileSync, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { ReedSolomonCodec, erasureCore } from '../src/erasure/reed-solomon.js'
import { median } from '../simulations/lib/stats.js'

const { values: args } = parseArgs({
  options: { json: { type: 'boolean', default: false }, rounds: { type: 'string', default: '7' } }
})
const rounds = Number(args.rounds)
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 50) throw new Error('--rounds must be 1..50')

const K = 10
const M = 4
const PER_RUN = 512 * 1024 * 1024 // data bytes coded per timed run
const COLD_BYTES = 256 * 1024 * 1024 // the pool of stripes for "data not in cache": 64x L2 here

interface Ronomon {
  create (k: number, m: number): unknown
  encode (ctx: unknown, sources: number, targets: number, buffer: Buffer, bufferOffset: number, bufferSize: number,
    parity: Buffer, parityOffset: number, paritySize: number, cb: (err?: Error) => void): void
}
const ronomon = createRequire(import.meta.url)('@ronomon/reed-solomon') as Ronomon

async function timed (fn: (call: number) => Promise<unknown>, bytesPerCall: number): Promise<number> {
  const calls = Math.max(1, Math.round(PER_RUN / bytesPerCall))
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < calls; i++) await fn(i)
  return calls * bytesPerCall / (Number(process.hrtime.bigint() - t0) / 1e9) / 1e9
}

const core = erasureCore()
const levels = core.info().available
const best = levels.at(-1) as string
const codec = new ReedSolomonCodec(K, M)

/** Builds the ISA-L harness once; undefined when libisal-dev or gcc is missing. */
function buildIsal (dir: string): string | undefined {
  if (!existsSync('/usr/include/isa-l.h') || spawnSync('gcc', ['--version']).status !== 0) return undefined
  const exe = join(dir, 'isal')
  try {
    execFileSync('gcc', ['-O3', '-o', exe, fileURLToPath(new URL('./lib/isal-erasure-bench.c', import.meta.url)), '-lisal'])
    return exe
  } catch {
    return undefined
  }
}

function isalRun (exe: string | undefined, shard: number, stripes: number): number | undefined {
  if (exe === undefined) return undefined
  return Number(execFileSync(exe, [String(K), String(M), String(shard), String(PER_RUN), String(stripes)], { encoding: 'utf8' }))
}

const stripe = (shard: number): Uint8Array[] => Array.from({ length: K }, () => randomBytes(shard))
const medianOrNull = (xs: number[]): number | null => xs.length > 0 ? median(xs) : null

async function measure (shard: number, isal: string | undefined): Promise<Record<string, number | null>> {
  const data = stripe(shard)
  const pool = Array.from({ length: Math.max(2, Math.round(COLD_BYTES / (K * shard))) }, () => stripe(shard))
  const parity = await codec.encode(data)
  const lost: Array<Uint8Array | undefined> = [...data, ...parity]
  for (let i = 0; i < M; i++) lost[i] = undefined // the worst case: m data shards gone
  const into = Array.from({ length: M }, () => new Uint8Array(shard))
  const buffer = Buffer.concat(data)
  const ronomonParity = Buffer.alloc(shard * M)
  const ctx = ronomon.create(K, M)
  const sources = (1 << K) - 1
  const targets = ((1 << (K + M)) - 1) & ~sources
  const names = [...levels.map(l => `encode_${l}`), 'core_encode', 'core_rebuild', 'core_encode_cold', 'rebuild', 'ronomon', 'isal', 'isal_cold']
  const runs: Record<string, number[]> = Object.fromEntries(names.map(n => [n, []]))
  const bytes = K * shard
  for (const s of pool) await codec.encode(s, { into }) // the pool's pages, touched once untimed
  for (let r = 0; r < rounds; r++) {
    for (const l of levels) {
      core.setLevel(l)
      runs[`encode_${l}`].push(await timed(async () => await codec.encode(data), bytes))
    }
    core.setLevel(best)
    runs.core_encode.push(await timed(async () => await codec.encode(data, { into }), bytes))
    runs.core_rebuild.push(await timed(async () => await codec.reconstruct(lost, undefined, { into }), bytes))
    runs.core_encode_cold.push(await timed(async (i) => await codec.encode(pool[i % pool.length], { into }), bytes))
    runs.rebuild.push(await timed(async () => await codec.reconstruct(lost), bytes))
    runs.ronomon.push(await timed(async () => await new Promise<void>((resolve, reject) => {
      ronomon.encode(ctx, sources, targets, buffer, 0, buffer.length, ronomonParity, 0, ronomonParity.length, (err) => err != null ? reject(err) : resolve())
    }), bytes))
    const hot = isalRun(isal, shard, 1)
    const cold = isalRun(isal, shard, pool.length)
    if (hot !== undefined) runs.isal.push(hot)
    if (cold !== undefined) runs.isal_cold.push(cold)
  }
  return Object.fromEntries(names.map(n => [n, medianOrNull(runs[n])]))
}

const dir = mkdtempSync(join(tmpdir(), 'peerlink-isal-'))
const sizes: Record<string, Record<string, number | null>> = {}
try {
  const isal = buildIsal(dir)
  for (const shard of [256 * 1024, 1024 * 1024]) sizes[shard === 1024 * 1024 ? '1MiB' : '256KiB'] = await measure(shard, isal)
} finally {
  rmSync(dir, { recursive: true, force: true })
}

const ratio = (a: number | null, b: number | null): number | null => a !== null && b !== null ? a / b : null
const m = sizes['1MiB']
// The contract figure: the slower of our encode and rebuild, into reused buffers as ISA-L's
// harness writes, against ISA-L's encode (its rebuild is the same kernel with other
// coefficients), 1 MiB shards, data in cache.
const coreWorst = Math.min(m.core_encode as number, m.core_rebuild as number)
const result = {
  simd: best,
  core: core.info().core,
  encode_gbps: m[`encode_${best}`] as number,
  rebuild_gbps: m.rebuild as number,
  core_encode_gbps: m.core_encode as number,
  core_rebuild_gbps: m.core_rebuild as number,
  core_encode_cold_gbps: m.core_encode_cold as number,
  ronomon_encode_gbps: m.ronomon as number,
  ratio_vs_ronomon: (m[`encode_${best}`] as number) / (m.ronomon as number),
  isal_encode_gbps: m.isal,
  isal_encode_cold_gbps: m.isal_cold,
  ratio_vs_isal: ratio(coreWorst, m.isal),
  ratio_vs_isal_cold: ratio(m.core_encode_cold, m.isal_cold),
  ratio_vs_isal_fresh_buffers: ratio(m[`encode_${best}`], m.isal),
  by_shard_size: sizes,
  k: K,
  m: M,
  cold_pool_bytes: COLD_BYTES,
  rounds
}
if (args.json) {
  process.stdout.write(JSON.stringify(result) + '\n')
} else {
  const f = (x: number | null | undefined): string => x == null ? '     -' : x.toFixed(2).padStart(6)
  const row = (label: string, key: string, note = ''): void => {
    process.stdout.write(`  ${label.padEnd(34)} ${f(sizes['256KiB'][key])}  ${f(m[key])}${note}\n`)
  }
  process.stdout.write(`Reed-Solomon k=${K} m=${M}, one thread, GB/s of data; median of ${rounds} rounds\n\n`)
  process.stdout.write(`${' '.repeat(36)} 256 KiB   1 MiB shards\n`)
  for (const l of levels) row(`encode ${l}, fresh parity`, `encode_${l}`)
  row('rebuild 4 data shards, fresh', 'rebuild')
  row(`encode ${best}, reused parity`, 'core_encode')
  row('rebuild 4 data shards, reused', 'core_rebuild')
  row(`encode ${best}, reused, not in cache`, 'core_encode_cold')
  row('@ronomon/reed-solomon', 'ronomon')
  row('ISA-L ec_encode_data', 'isal', m.isal === null ? '   (libisal-dev not installed)' : '')
  row('ISA-L ec_encode_data, not in cache', 'isal_cold')
  const x = (v: number | null): string => v === null ? '-' : `${v.toFixed(2)}x`
  process.stdout.write(`\n  ratio encode ${best} / ronomon (1 MiB): ${x(result.ratio_vs_ronomon)} (target >= 1.5)\n`)
  process.stdout.write(`  ratio min(encode, rebuild) / ISA-L (1 MiB, reused buffers): ${x(result.ratio_vs_isal)} (target >= 0.8); not in cache ${x(result.ratio_vs_isal_cold)}\n`)
}
