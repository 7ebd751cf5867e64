// Runs a simulation scenario: whole PeerLink networks on this machine.
//
//   npm run sim -- <scenario|all|list> [--nodes N] [--seed S] [--quick] [--out DIR]
//
// Each run writes simulations/results/<scenario>-<timestamp>/ (or DIR/<scenario>/ with
// --out): results.json, summary.md and SVG plots. Every node, process and namespace a
// scenario starts is stopped when it ends, fails or is interrupted.
import '../src/polyfill.js'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { renderSvg } from './lib/plot.js'
import { Progress } from './lib/progress.js'
import { Rng } from './lib/rng.js'
import type { Scenario, ScenarioResult } from './lib/scenario.js'
import { scenarios } from './scenarios/index.js'

const RESULTS = fileURLToPath(new URL('./results/', import.meta.url))

class UsageError extends Error {}

function usage (): string {
  const lines = ['usage: npm run sim -- <scenario|all|list> [--nodes N] [--seed S] [--quick] [--out DIR]', '', 'scenarios:']
  for (const s of scenarios) lines.push(`  ${s.name.padEnd(10)} ${s.description} (nodes ${s.nodes.min}..${s.nodes.max}, default ${s.nodes.default}, quick ${s.nodes.quick})`)
  return lines.join('\n')
}

function parseOptions (argv: string[]): { names: string[], nodes?: number, seed: number, quick: boolean, out?: string, quiet: boolean } {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        nodes: { type: 'string' },
        seed: { type: 'string', default: '1' },
        quick: { type: 'boolean', default: false },
        out: { type: 'string' },
        quiet: { type: 'boolean', default: false }
      }
    })
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  const { values, positionals } = parsed
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'name a scenario' : `one scenario at a time, not ${positionals.join(' ')}`)
  const name = positionals[0]
  const known = scenarios.map(s => s.name)
  if (name !== 'all' && name !== 'list' && !known.includes(name)) throw new UsageError(`unknown scenario "${name}"; valid: ${known.join(', ')}, all, list`)
  const seed = Number(values.seed)
  if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffffffff) throw new UsageError(`--seed must be an integer 0..4294967295, not ${values.seed}`)
  let nodes: number | undefined
  if (values.nodes !== undefined) {
    nodes = Number(values.nodes)
    if (name === 'all') throw new UsageError('--nodes applies to one scenario, not to all')
    const s = scenarios.find(x => x.name === name)
    if (s !== undefined && (!Number.isInteger(nodes) || nodes < s.nodes.min || nodes > s.nodes.max)) {
      throw new UsageError(`--nodes for ${name} must be an integer ${s.nodes.min}..${s.nodes.max}, not ${values.nodes}`)
    }
  }
  return { names: name === 'all' ? known : name === 'list' ? [] : [name], nodes, seed, quick: values.quick, out: values.out, quiet: values.quiet }
}

/** Runs one scenario to its results directory; returns where it wrote. */
export async function runScenario (s: Scenario, o: { nodes?: number, seed: number, quick: boolean, out?: string, quiet?: boolean }, outer?: AbortSignal): Promise<{ dir: string, result: ScenarioResult }> {
  const nodes = o.nodes ?? (o.quick ? s.nodes.quick : s.nodes.default)
  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  const dir = o.out !== undefined ? join(o.out, s.name) : join(RESULTS, `${s.name}-${stamp}`)
  const scratch = await mkdtemp(join(tmpdir(), `peerlink-sim-${s.name}-`))
  const limit = o.quick ? s.timeLimit.quick : s.timeLimit.full
  const signal = AbortSignal.any([AbortSignal.timeout(limit), ...(outer !== undefined ? [outer] : [])])
  const cleanups: Array<() => Promise<void> | void> = []
  const progress = new Progress(s.name, o.quiet === true)
  const started = Date.now()
  let result: ScenarioResult
  try {
    progress.update(`starting ${nodes} nodes, seed ${o.seed}${o.quick ? ', quick' : ''}`, true)
    result = await Promise.race([
      s.run({ nodes, seed: o.seed, quick: o.quick, rng: new Rng(o.seed), progress, signal, dir: scratch, defer: fn => { cleanups.push(fn) } }),
      new Promise<never>((_resolve, reject) => {
        const onAbort = (): void => { reject(signal.reason instanceof Error && signal.reason.name === 'TimeoutError' ? new Error(`${s.name} ran past its time limit of ${limit / 1000} s`) : signal.reason) }
        if (signal.aborted) onAbort()
        else signal.addEventListener('abort', onAbort, { once: true })
      })
    ])
  } finally {
    for (const fn of cleanups.reverse()) {
      try { await fn() } catch (err) { process.stderr.write(`clean-up in ${s.name} failed: ${(err as Error).message}\n`) }
    }
    await rm(scratch, { recursive: true, force: true })
  }
  const durationMs = Date.now() - started
  await mkdir(dir, { recursive: true })
  const plots: string[] = []
  for (const p of result.plots) {
    const file = `${p.name}.svg`
    await writeFile(join(dir, file), await renderSvg(p.spec))
    plots.push(file)
  }
  const json = { scenario: s.name, description: s.description, nodes, seed: o.seed, quick: o.quick, finishedAt: new Date().toISOString(), durationMs, skipped: result.skipped, headline: result.headline, targets: result.targets, data: result.data, plots }
  await writeFile(join(dir, 'results.json'), JSON.stringify(json, null, 2) + '\n')
  await writeFile(join(dir, 'summary.md'), summary(s, nodes, o, durationMs, result, plots))
  progress.done(result.skipped !== undefined ? `skipped: ${result.skipped}` : `done in ${(durationMs / 1000).toFixed(1)} s; ${result.targets.filter(t => t.ok).length}/${result.targets.length} targets met; results in ${dir}`)
  return { dir, result }
}

function summary (s: Scenario, nodes: number, o: { seed: number, quick: boolean }, ms: number, r: ScenarioResult, plots: string[]): string {
  const lines = [`# ${s.name}: ${s.description}`, '', `${nodes} nodes, seed ${o.seed}${o.quick ? ', quick run' : ''}, ${(ms / 1000).toFixed(1)} s.`, '']
  if (r.skipped !== undefined) lines.push(`**Skipped:** ${r.skipped}`, '')
  if (Object.keys(r.headline).length > 0) {
    lines.push('| figure | value |', '|---|---|')
    for (const [k, v] of Object.entries(r.headline)) lines.push(`| ${k} | ${String(v)} |`)
    lines.push('')
  }
  if (r.targets.length > 0) {
    lines.push('| target | met | measured |', '|---|---|---|')
    for (const t of r.targets) lines.push(`| ${t.name} | ${t.ok ? 'yes' : 'NO'} | ${t.detail} |`)
    lines.push('')
  }
  lines.push(...r.notes.map(n => `- ${n}`))
  if (r.notes.length > 0) lines.push('')
  for (const p of plots) lines.push(`![${p}](${p})`, '')
  return lines.join('\n')
}

async function main (): Promise<number> {
  let o
  try {
    o = parseOptions(process.argv.slice(2))
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    process.stderr.write(`${err.message}\n\n${usage()}\n`)
    return 2
  }
  if (o.names.length === 0) { process.stdout.write(usage() + '\n'); return 0 }
  const interrupt = new AbortController()
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => { interrupt.abort(new Error(`interrupted by ${sig}`)) })
  let failed = 0
  for (const name of o.names) {
    const s = scenarios.find(x => x.name === name) as Scenario
    try {
      await runScenario(s, o, interrupt.signal)
    } catch (err) {
      failed++
      process.stderr.write(`\n${name} failed: ${(err as Error).message}\n`)
      if (interrupt.signal.aborted) break
    }
  }
  return failed > 0 ? 1 : 0
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = await main()
}
