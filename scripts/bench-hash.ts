// Hash throughput against references measured in the same run.
//
//   npm run bench:hash -- [--json] [--rounds N] [--batch-mib N]
//
// Single thread, on 256 KiB and 1 MiB blocks: our BLAKE3 at each SIMD level this CPU has,
// node:crypto sha256 (the reference every ratio is taken against), the WASM fallback, and
// `b3sum --num-threads 1` when installed. Then batch verification of 1 GiB of 1 MiB blocks
// with one thread and with all, and the largest event-loop delay seen meanwhile.
// Each figure is the median of --rounds runs, the implementations interleaved per round
// so that a noisy neighbour slows them alike; a ratio is the median of the rounds' ratios.
import '../src/polyfill.js'
import { execFileSync, spawnSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { hashBlock, hashInfo, setSimdLevel, verifyDigests } from '../src/hash/index.js'
import { loadWasmCore } from '../src/hash/fallback.js'
import { median } from '../simulations/lib/stats.js'

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '15' },
    'batch-mib': { type: 'string', default: '1024' }
  }
})
const rounds = Number(args.rounds)
const batchMiB = Number(args['batch-mib'])
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 50) throw new Error('--rounds must be 1..50')
if (!Number.isInteger(batchMiB) || batchMiB < 16 || batchMiB > 8192) throw new Error('--batch-mib must be 16..8192')

const log = (s: string): void => { if (!args.json) process.stdout.write(s + '\n') }
const MiB = 1024 * 1024
// Hot: blocks in cache, as a block just received or read is, and as BLAKE3's own benchmarks
// measure. Cold: a working set far beyond the caches, reported beside it.
const WORKING_SET = MiB
const COLD_SET = 128 * MiB
const PER_RUN = 128 * MiB // bytes hashed per timed run

function gbps (fn: (b: Uint8Array) => unknown, blocks: Uint8Array[], bytes = PER_RUN): number {
  const n = Math.ceil(bytes / blocks[0].length)
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < n; i++) fn(blocks[i % blocks.length])
  const s = Number(process.hrtime.bigint() - t0) / 1e9
  return n * blocks[0].length / s / 1e9
}

const info = hashInfo()
const levels = info.available
const best = levels.at(-1) as string
const wasm = await loadWasmCore()
const sha256 = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest()

interface SizeResult { blake3: Record<string, number>, sha256: number, wasm: number, b3sum?: number, ratio: number }
const single: Record<string, SizeResult> = {}
for (const size of [256 * 1024, MiB]) {
  const blocks = Array.from({ length: WORKING_SET / size }, () => randomBytes(size))
  const runs: Record<string, number[]> = { sha256: [], wasm: [] }
  for (const l of levels) runs[l] = []
  for (let r = 0; r < rounds; r++) {
    runs.sha256.push(gbps(sha256, blocks))
    for (const l of levels) {
      setSimdLevel(l)
      // Slower paths hash less per run so the whole bench stays short.
      runs[l].push(gbps(hashBlock, blocks, l === 'portable' ? PER_RUN / 4 : PER_RUN))
    }
    runs.wasm.push(gbps(wasm.hashSync, blocks, PER_RUN / 4))
  }
  setSimdLevel(best)
  single[size === MiB ? '1MiB' : '256KiB'] = {
    blake3: Object.fromEntries(levels.map(l => [l, median(runs[l])])),
    sha256: median(runs.sha256),
    wasm: median(runs.wasm),
    // Each round's best level against that round's sha256.
    ratio: median(runs[best].map((g, r) => g / runs.sha256[r]))
  }
}

const cold = Array.from({ length: COLD_SET / MiB }, () => randomBytes(MiB))
const coldRuns: number[] = []
const coldSha: number[] = []
for (let r = 0; r < rounds; r++) {
  coldSha.push(gbps(sha256, cold))
  coldRuns.push(gbps(hashBlock, cold))
}

// b3sum (the BLAKE3 team's Rust tool, Debian package b3sum), one thread, on a file in the
// page cache; its start-up time, measured on an empty file, is taken off.
function b3sumGbps (): number | undefined {
  if (spawnSync('b3sum', ['--version']).status !== 0) return undefined
  const dir = mkdtempSync(join(tmpdir(), 'peerlink-bench-'))
  try {
    const file = join(dir, 'data')
    const empty = join(dir, 'empty')
    const size = 512 * MiB
    writeFileSync(empty, '')
    const chunk = randomBytes(MiB)
    writeFileSync(file, Buffer.concat(Array.from({ length: size / MiB }, () => chunk)))
    const time = (f: string): number => {
      const t0 = process.hrtime.bigint()
      execFileSync('b3sum', ['--num-threads', '1', f])
      return Number(process.hrtime.bigint() - t0) / 1e9
    }
    time(file) // warm the page cache
    const runs: number[] = []
    for (let r = 0; r < rounds; r++) runs.push(size / Math.max(1e-6, time(file) - time(empty)) / 1e9)
    return median(runs)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
single['1MiB'].b3sum = b3sumGbps()

// The reference BLAKE3 C library (with its AVX-512 assembly), when its sources are on the
// machine (Debian package librust-blake3-dev), built into a small timing harness of ours.
function referenceCGbps (): number | undefined {
  const roots = spawnSync('sh', ['-c', 'ls -d /usr/share/cargo/registry/blake3-*/c 2>/dev/null | tail -1'], { encoding: 'utf8' })
  const src = roots.stdout.trim()
  if (src === '' || spawnSync('gcc', ['--version']).status !== 0) return undefined
  const dir = mkdtempSync(join(tmpdir(), 'peerlink-b3ref-'))
  try {
    const exe = join(dir, 'b3ref')
    const harness = fileURLToPath(new URL('./lib/blake3-reference-bench.c', import.meta.url))
    const sources = ['blake3.c', 'blake3_dispatch.c', 'blake3_portable.c', 'blake3_sse2_x86-64_unix.S',
      'blake3_sse41_x86-64_unix.S', 'blake3_avx2_x86-64_unix.S', 'blake3_avx512_x86-64_unix.S'].map(f => join(src, f))
    execFileSync('gcc', ['-O3', '-o', exe, harness, ...sources, '-I', src])
    return Number(execFileSync(exe, [String(MiB), String(PER_RUN), String(rounds)], { encoding: 'utf8' }))
  } catch {
    return undefined
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
const referenceC = referenceCGbps()

// Batch verification: 1 GiB as 1 MiB blocks (a 64 MiB working set repeated, so the bench
// itself does not hold a gigabyte), against digests computed beforehand.
const distinct = Array.from({ length: 64 }, () => randomBytes(MiB))
const distinctDigests = distinct.map(b => hashBlock(b))
const batch = Array.from({ length: batchMiB }, (_, i) => distinct[i % distinct.length])
const expected = Array.from({ length: batchMiB }, (_, i) => distinctDigests[i % distinct.length])
async function batchRun (threads: number): Promise<{ gbps: number, maxDelayMs: number }> {
  const h = monitorEventLoopDelay({ resolution: 1 })
  h.enable()
  const t0 = process.hrtime.bigint()
  const ok = await verifyDigests(batch, expected, { threads })
  const s = Number(process.hrtime.bigint() - t0) / 1e9
  h.disable()
  if (!ok.every(Boolean)) throw new Error('batch verification failed on correct blocks')
  return { gbps: batch.length * MiB / s / 1e9, maxDelayMs: h.max / 1e6 }
}
const one: number[] = []
const all: number[] = []
const delays: number[] = []
for (let r = 0; r < Math.max(3, Math.ceil(rounds / 2)); r++) {
  one.push((await batchRun(1)).gbps)
  const a = await batchRun(info.threads)
  all.push(a.gbps)
  delays.push(a.maxDelayMs)
}

const m = single['1MiB']
const result = {
  simd: best,
  core: info.core,
  threads: info.threads,
  blake3_native_gbps: m.blake3[best],
  sha256_node_gbps: m.sha256,
  ratio_vs_sha256: m.ratio,
  blake3_native_cold_gbps: median(coldRuns),
  sha256_node_cold_gbps: median(coldSha),
  blake3_by_simd_1mib_gbps: m.blake3,
  blake3_by_simd_256kib_gbps: single['256KiB'].blake3,
  sha256_node_256kib_gbps: single['256KiB'].sha256,
  wasm_fallback_gbps: m.wasm,
  b3sum_1_thread_gbps: m.b3sum ?? null,
  ratio_vs_b3sum: m.b3sum !== undefined ? m.blake3[best] / m.b3sum : null,
  blake3_reference_c_gbps: referenceC ?? null,
  ratio_vs_reference_c: referenceC !== undefined ? m.blake3[best] / referenceC : null,
  batch_1_thread_gbps: median(one),
  batch_all_threads_gbps: median(all),
  batch_speedup_all_threads: median(all) / median(one),
  max_event_loop_delay_ms: Math.max(...delays),
  batch_mib: batchMiB,
  rounds
}

if (args.json) {
  process.stdout.write(JSON.stringify(result) + '\n')
} else {
  const f = (x: number): string => x.toFixed(2).padStart(6)
  log(`BLAKE3 core: ${info.core}, SIMD levels ${levels.join(', ')}; median of ${rounds} rounds\n`)
  log('single thread, GB/s        256 KiB    1 MiB')
  for (const l of levels) log(`  blake3 ${l.padEnd(18)} ${f(single['256KiB'].blake3[l])}   ${f(m.blake3[l])}`)
  log(`  sha256 (node:crypto)      ${f(single['256KiB'].sha256)}   ${f(m.sha256)}`)
  log(`  blake3 wasm fallback      ${f(single['256KiB'].wasm)}   ${f(m.wasm)}`)
  log(`  b3sum --num-threads 1              ${m.b3sum !== undefined ? f(m.b3sum) : '  (b3sum not installed)'}`)
  log(`  reference C library (1 MiB)        ${referenceC !== undefined ? f(referenceC) : '  (librust-blake3-dev sources not installed)'}`)
  log(`  cold (${COLD_SET / MiB} MiB working set): blake3 ${best} ${f(result.blake3_native_cold_gbps)}, sha256 ${f(result.sha256_node_cold_gbps)}`)
  log(`\n  ratio blake3 ${best} / sha256 (1 MiB): ${result.ratio_vs_sha256.toFixed(2)}x   (target >= 4)`)
  log(`\nbatch verify ${batchMiB} MiB of 1 MiB blocks: 1 thread ${f(result.batch_1_thread_gbps)} GB/s, ${info.threads} threads ${f(result.batch_all_threads_gbps)} GB/s`)
  log(`  speedup ${result.batch_speedup_all_threads.toFixed(2)}x (target >= 1.7); max event-loop delay ${result.max_event_loop_delay_ms.toFixed(1)} ms (target <= 20)`)
}
