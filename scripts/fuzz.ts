// Long fuzzing runs of the property tests in test/fuzz/: `npm run fuzz -- --runs 1000000
// [--seed N]`. `npm test` runs the same properties a few hundred times each.
import { spawnSync } from 'node:child_process'
import { parseArgs } from 'node:util'

const { values } = parseArgs({ options: { runs: { type: 'string', default: '100000' }, seed: { type: 'string' } } })
const runs = Number(values.runs)
if (!Number.isSafeInteger(runs) || runs < 1) {
  console.error(`--runs must be a whole number of cases per property, not "${values.runs}"`)
  process.exit(2)
}
const env = { ...process.env, PEERLINK_FUZZ_RUNS: String(runs), ...(values.seed !== undefined ? { PEERLINK_FUZZ_SEED: values.seed } : {}) }
const mocha = spawnSync('npx', ['mocha', '--timeout', '0', 'test/fuzz/*.spec.ts'], { stdio: 'inherit', env })
process.exit(mocha.status ?? 1)
