#!/usr/bin/env node
// The checks `npm test` runs before the specs: lint beside the build chain (tsc's dist/, which
// also typechecks src; the tests, scripts and simulations; the page; the page's bundle). The
// two chains share no files, and on two cores both end about when the longer one does, where
// run one after the other they took the sum. Each chain's output is printed whole when it
// ends, so the two never interleave; the exit code is the first failure's.
//
//   node scripts/check.mjs
import { spawn } from 'node:child_process'

const CHAINS = [
  ['lint'],
  ['build:ts', 'typecheck:rest', 'build:ui']
]
// A chain still running past this is stopped: the whole suite's CI run must fit in its time.
const BOUND_MS = 15 * 60_000

/** Runs `npm run <script>` to its end: its exit code and everything it printed. */
function npmRun (script, signal) {
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', script], { stdio: ['ignore', 'pipe', 'pipe'], signal, killSignal: 'SIGKILL' })
    let output = ''
    child.stdout.on('data', (d) => { output += d })
    child.stderr.on('data', (d) => { output += d })
    child.on('error', (err) => { output += `\n${err.message}\n` })
    child.on('close', (code) => { resolve({ code: code ?? 1, output }) })
  })
}

/** Runs a chain's scripts in order, stopping at the first that fails. */
async function runChain (scripts, signal) {
  let output = ''
  for (const script of scripts) {
    const r = await npmRun(script, signal)
    output += r.output
    if (r.code !== 0) return { code: r.code, output: `${output}\nnpm run ${script} failed (exit ${r.code})\n` }
  }
  return { code: 0, output }
}

const signal = AbortSignal.timeout(BOUND_MS)
const results = await Promise.all(CHAINS.map(async (chain) => {
  const r = await runChain(chain, signal)
  process.stdout.write(r.output)
  return r
}))
process.exitCode = results.find(r => r.code !== 0)?.code ?? 0
