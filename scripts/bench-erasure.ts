// Reed-Solomon throughput against references measured in the same run.
//
//   npm run bench:erasure -- [--json] [--rounds N]
//
// k = 10, m = 4, shards of 256 KiB and 1 MiB, one thread: our encode at each GF(2^8) level
// this CPU has, our rebuild of 4 lost data shards, @ronomon/reed-solomon's encode (the
// reference every ratio is taken against), and ISA-L's encode when libisal is installed
// (Debian libisal-dev, through a small C harness). GB/s count data bytes (k * shard).
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

interface Ronomon {
  create (k: number, m: number): unknown
  encode (ctx: unknown, sources: number, targets: number, buffer: Buffer, bufferOffset: number, bufferSize: number,
    parity: Buffer, parityOffset: number, paritySize: number, cb: (err?: Error) => void): void
}
const ronomon = createRequire(import.meta.url)('@ronomon/reed-solomon') as Ronomon

async function timed (fn: () => Promise<unknown>, bytesPerCall: number): Promise<number> {
  const calls = Math.max(1, Math.round(PER_RUN / bytesPerCall))
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < calls; i++) await fn()
  return calls * bytesPerCall / (Number(process.hrtime.bigint() - t0) / 1e9) / 1e9
}

const core = erasureCore()
const levels = core.info().available
const best = levels.at(-1) as string
const codec = new ReedSolomonCodec(K, M)

function isalGbps (shard: number): number | undefined {
  if (!existsSync('/usr/include/isa-l.h') || spawnSync('gcc', ['--version']).status !== 0) return undefined
  const dir = mkdtempSync(join(tmpdir(), 'peerlink-isal-'))
  try {
    const exe = join(dir, 'isal')
    execFileSync('gcc', ['-O3', '-o', exe, fileURLToPath(new URL('./lib/isal-erasure-bench.c', import.meta.url)), '-lisal'])
    return Number(execFileSync(exe, [String(K), String(M), String(shard), String(PER_RUN), String(rounds)], { encoding: 'utf8' }))
  } catch {
    return undefined
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const sizes: Record<string, Record<string, number | null>> = {}
for (const shard of [256 * 1024, 1024 * 1024]) {
  const data = Array.from({ length: K }, () => randomBytes(shard))
  const parity = await codec.encode(data)
  const lost: Array<Uint8Array | undefined> = [...data, ...parity]
  for (let i = 0; i < M; i++) lost[i] = undefined // the worst case: m data shards gone
  const buffer = Buffer.concat(data)
  const ronomonParity = Buffer.alloc(shard * M)
  const ctx = ronomon.create(K, M)
  const sources = (1 << K) - 1
  const targets = ((1 << (K + M)) - 1) & ~sources
  const runs: Record<string, number[]> = { rebuild: [], ronomon: [] }
  for (const l of levels) runs[l] = []
  for (let r = 0; r < rounds; r++) {
    for (const l of levels) {
      core.setLevel(l)
      runs[l].push(await timed(async () => await codec.encode(data), K * shard))
    }
    core.setLevel(best)
    runs.rebuild.push(await timed(async () => await codec.reconstruct(lost), K * shard))
    runs.ronomon.push(await timed(async () => await new Promise<void>((resolve, reject) => {
      ronomon.encode(ctx, sources, targets, buffer, 0, buffer.length, ronomonParity, 0, ronomonParity.length, (err) => err != null ? reject(err) : resolve())
    }), K * shard))
  }
  const key = shard === 1024 * 1024 ? '1MiB' : '256KiB'
  sizes[key] = {
    ...Object.fromEntries(levels.map(l => [`encode_${l}`, median(runs[l])])),
    rebuild: median(runs.rebuild),
    ronomon: median(runs.ronomon),
    isal: isalGbps(shard) ?? null
  }
}

const m = sizes['1MiB']
const result = {
  simd: best,
  core: core.info().core,
  encode_gbps: m[`encode_${best}`] as number,
  rebuild_gbps: m.rebuild as number,
  ronomon_encode_gbps: m.ronomon as number,
  ratio_vs_ronomon: (m[`encode_${best}`] as number) / (m.ronomon as number),
  isal_encode_gbps: m.isal,
  ratio_vs_isal: m.isal !== null ? (m[`encode_${best}`] as number) / m.isal : null,
  by_shard_size: sizes,
  k: K,
  m: M,
  rounds
}
if (args.json) {
  process.stdout.write(JSON.stringify(result) + '\n')
} else {
  const f = (x: number | null | undefined): string => x == null ? '     -' : x.toFixed(2).padStart(6)
  process.stdout.write(`Reed-Solomon k=${K} m=${M}, one thread, GB/s of data; median of ${rounds} rounds\n\n`)
  process.stdout.write('                          256 KiB   1 MiB shards\n')
  for (const l of levels) process.stdout.write(`  encode ${l.padEnd(17)} ${f(sizes['256KiB'][`encode_${l}`])}  ${f(m[`encode_${l}`])}\n`)
  process.stdout.write(`  rebuild 4 data shards     ${f(sizes['256KiB'].rebuild)}  ${f(m.rebuild)}\n`)
  process.stdout.write(`  @ronomon/reed-solomon     ${f(sizes['256KiB'].ronomon)}  ${f(m.ronomon)}\n`)
  process.stdout.write(`  ISA-L ec_encode_data      ${f(sizes['256KiB'].isal)}  ${f(m.isal)}${m.isal === null ? '   (libisal-dev not installed)' : ''}\n`)
  process.stdout.write(`\n  ratio encode ${best} / ronomon (1 MiB): ${result.ratio_vs_ronomon.toFixed(2)}x (target >= 1.5)\n`)
}
