// Import and export of a large file through the real CLI, each in its own process.
//
//   npm run bench:files -- [--json] [--size MiB] [--rounds N]
//
// Measures `peerlink add` (read, chunk, hash, parity, LevelDB) and `peerlink fetch`
// (walk, verify, write) of one file, default 1 GiB, with each child's peak RSS, against
// `cp` of the same file on the same disk in the same run. The output is checked
// byte-for-byte (BLAKE3 of both files). Then the storage overhead of small files: what
// `add -r` stores for a directory of 1,000 files of 4 KiB, against their size.
import '../src/polyfill.js'
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { CLI } from '../simulations/lib/cli.js'
import { fileBenchArgs } from './lib/args.js'
import { blake3File, writeRandomFile } from './lib/input.js'
import { median } from '../simulations/lib/stats.js'

const args = fileBenchArgs({ rounds: 3, maxSizeMiB: 65536, maxRounds: 20 })
const { sizeMiB, rounds } = args

const RSS = fileURLToPath(new URL('./lib/report-rss.cjs', import.meta.url))
const MiB = 1024 * 1024
const SMALL_FILES = 1000
const SMALL_FILE_BYTES = 4096
const log = (s: string): void => { if (!args.json) process.stderr.write(s + '\n') }

const dir = mkdtempSync(join(tmpdir(), 'peerlink-bench-files-'))
try {
  const input = join(dir, 'input.bin')
  writeRandomFile(input, sizeMiB * MiB)
  const bytes = statSync(input).size

  const run = (argv: string[]): { seconds: number, rss: number, stdout: string } => {
    const rssFile = join(dir, 'rss')
    const t0 = process.hrtime.bigint()
    const r = spawnSync(process.execPath, ['--require', RSS, CLI, ...argv], { env: { ...process.env, PEERLINK_RSS_FILE: rssFile }, encoding: 'utf8', maxBuffer: 16 * MiB })
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9
    if (r.status !== 0) throw new Error(`peerlink ${argv.join(' ')} failed: ${r.stderr}`)
    return { seconds, rss: Number(readFileSync(rssFile, 'utf8')), stdout: r.stdout }
  }
  const inputHash = await blake3File(input)

  const imp: number[] = []
  const exp: number[] = []
  const cp: number[] = []
  let importRss = 0
  let exportRss = 0
  for (let r = 0; r < rounds; r++) {
    const repo = join(dir, `repo-${r}`)
    run(['--repo', repo, 'init'])
    const a = run(['--repo', repo, 'add', '-q', input])
    imp.push(bytes / a.seconds / 1e6)
    importRss = Math.max(importRss, a.rss)
    const cid = a.stdout.trim()
    const out = join(dir, `out-${r}.bin`)
    const f = run(['--repo', repo, 'fetch', cid, '-o', out])
    exp.push(bytes / f.seconds / 1e6)
    exportRss = Math.max(exportRss, f.rss)
    if (await blake3File(out) !== inputHash) throw new Error('fetched file differs from the input')
    const t0 = process.hrtime.bigint()
    execFileSync('cp', [input, join(dir, `cp-${r}.bin`)])
    execFileSync('sync')
    cp.push(bytes / (Number(process.hrtime.bigint() - t0) / 1e9) / 1e6)
    rmSync(repo, { recursive: true, force: true })
    rmSync(out, { force: true })
    rmSync(join(dir, `cp-${r}.bin`), { force: true })
    log(`round ${r + 1}: add ${imp.at(-1)?.toFixed(0)} MB/s, fetch ${exp.at(-1)?.toFixed(0)} MB/s, cp ${cp.at(-1)?.toFixed(0)} MB/s`)
  }

  // Small files: what the repo holds for the directory's root (add's own count) and the
  // repo's blocks directory on disk (LevelDB's index with its log, for context), each over
  // the bytes of the files.
  const tree = join(dir, 'small')
  mkdirSync(tree)
  for (let i = 0; i < SMALL_FILES; i++) writeFileSync(join(tree, `f${String(i).padStart(4, '0')}`), randomBytes(SMALL_FILE_BYTES))
  const smallRepo = join(dir, 'repo-small')
  run(['--repo', smallRepo, 'init'])
  const [small] = JSON.parse(run(['--repo', smallRepo, 'add', '-r', '--json', tree]).stdout) as Array<{ size: number, stored: number }>
  const smallOnDisk = Number(execFileSync('du', ['-sb', join(smallRepo, 'blocks')]).toString().split('\t')[0])
  log(`small files: ${SMALL_FILES} of ${SMALL_FILE_BYTES} bytes stored in ${small.stored} bytes, ${smallOnDisk} on disk`)

  const result = {
    size_mb: bytes / 1e6,
    import_mbps: median(imp),
    export_mbps: median(exp),
    import_peak_rss_mb: importRss / 1e6,
    export_peak_rss_mb: exportRss / 1e6,
    cp_mbps: median(cp),
    import_ratio_vs_cp: median(imp) / median(cp),
    export_ratio_vs_cp: median(exp) / median(cp),
    rounds,
    small_files_overhead: small.stored / small.size,
    small_files_disk_overhead: smallOnDisk / small.size
  }
  if (args.json) process.stdout.write(JSON.stringify(result) + '\n')
  else {
    process.stdout.write(`${sizeMiB} MiB file, median of ${rounds} rounds, each step in its own process\n`)
    process.stdout.write(`  add    ${result.import_mbps.toFixed(0).padStart(6)} MB/s  peak RSS ${result.import_peak_rss_mb.toFixed(0)} MB   (targets: >= 400 MB/s, <= 300 MB)\n`)
    process.stdout.write(`  fetch  ${result.export_mbps.toFixed(0).padStart(6)} MB/s  peak RSS ${result.export_peak_rss_mb.toFixed(0)} MB   (targets: >= 600 MB/s, <= 300 MB)\n`)
    process.stdout.write(`  cp     ${result.cp_mbps.toFixed(0).padStart(6)} MB/s  (reference: the same bytes copied on the same disk)\n`)
    process.stdout.write(`  small  ${result.small_files_overhead.toFixed(2).padStart(6)}×     stored for ${SMALL_FILES} files of ${SMALL_FILE_BYTES / 1024} KiB, ${result.small_files_disk_overhead.toFixed(2)}× on disk (target: <= 2×)\n`)
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}
