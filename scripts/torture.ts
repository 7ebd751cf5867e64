// Crash torture: `npm run torture -- [--kills 50] [--seed S] [--max-seconds 900] [--json]`.
// Kills a daemon with SIGKILL at random moments of add, fetch, gc and verify and checks the
// repo after each kill (scripts/lib/torture.ts says what is checked). Prints the kills per
// operation and every failure with its seed and round; exits 1 when any check failed.
// Build dist/ first (`npx tsc -p tsconfig.json`): the daemons are the built CLI.
import '../src/polyfill.js'
import { parseArgs } from 'node:util'
import { OPERATIONS, runTorture, type TortureReport } from './lib/torture.js'

const { values } = parseArgs({
  options: {
    kills: { type: 'string', default: '50' },
    seed: { type: 'string', default: String(Date.now() % 1_000_000) },
    'max-seconds': { type: 'string', default: '900' },
    json: { type: 'boolean', default: false }
  }
})

function whole (name: string, text: string, max: number): number {
  const n = Number(text)
  if (!Number.isSafeInteger(n) || n < 1 || n > max) {
    console.error(`--${name} must be a whole number from 1 to ${max}, not "${text}"`)
    process.exit(2)
  }
  return n
}

const kills = whole('kills', values.kills, 10_000)
const seed = whole('seed', values.seed, 2 ** 32 - 1)
const maxSeconds = whole('max-seconds', values['max-seconds'], 86_400)

const stop = new AbortController()
// Ctrl-C ends the run after its round; every daemon and temporary directory is still removed.
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => { stop.abort() })

function print (r: TortureReport): void {
  console.log(`torture seed ${r.seed}: ${r.kills} kills in ${r.rounds} rounds, ${r.seconds} s${r.stopped !== undefined ? ` (stopped: ${r.stopped})` : ''}`)
  for (const op of OPERATIONS) {
    const c = r.by_operation[op]
    console.log(`  ${op.padEnd(7)} ${String(c.kills).padStart(4)} kills (${c.interrupted} mid-way, ${c.finished} after it finished)`)
  }
  console.log(r.failures.length === 0 ? 'no failures' : `${r.failures.length} failures:`)
  for (const f of r.failures) console.log(`  seed ${f.seed} round ${f.round} (${f.operation}): ${f.problem}`)
}

const report = await runTorture({
  kills,
  seed,
  maxSeconds,
  signal: stop.signal,
  log: values.json ? undefined : (line) => { console.error(line) }
})
if (values.json) console.log(JSON.stringify(report, null, 2))
else print(report)
process.exit(report.failures.length > 0 ? 1 : 0)
