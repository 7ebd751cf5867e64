// Every simulation scenario, run small (--quick), end to end: it must finish, meet its
// targets (or say why it was skipped) and leave results a person can read.
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { expect } from 'chai'
import { runScenario } from '../../simulations/run.js'
import { scenarios } from '../../simulations/scenarios/index.js'
import { tempDir } from '../helpers/repo.js'

const RUN = fileURLToPath(new URL('../../simulations/run.ts', import.meta.url))

describe('simulations (quick runs)', function () {
  let dir: { path: string, cleanup: () => Promise<void> }
  before(async () => { dir = await tempDir('peerlink-sim-test-') })
  after(async () => { await dir.cleanup() })

  for (const s of scenarios) {
    it(`${s.name}: runs to the end, meets its targets and writes results.json, summary.md and plots`, async function () {
      this.timeout(s.timeLimit.quick + 30_000)
      const { dir: out, result } = await runScenario(s, { seed: 7, quick: true, out: dir.path, quiet: true })
      const json = JSON.parse(await readFile(join(out, 'results.json'), 'utf8')) as { scenario: string, plots: string[], targets: Array<{ name: string, ok: boolean, detail: string }>, skipped?: string }
      expect(json.scenario).to.equal(s.name)
      expect(await readFile(join(out, 'summary.md'), 'utf8')).to.include(`# ${s.name}`)
      if (result.skipped !== undefined) {
        this.test!.title += ` (skipped here: ${result.skipped})`
        return
      }
      expect(json.targets.length).to.be.greaterThan(0)
      for (const t of json.targets) expect(t.ok, `${t.name}: ${t.detail}`).to.equal(true)
      expect(json.plots.length).to.be.greaterThan(0)
      for (const p of json.plots) expect(await readFile(join(out, p), 'utf8')).to.match(/^<svg[^>]*>[\s\S]*<\/svg>$/)
    })
  }

  it('refuses unknown scenarios and out-of-range options with the list of valid ones', () => {
    const run = (...args: string[]): { status: number | null, stderr: string } => spawnSync(process.execPath, ['--import', 'tsx', RUN, ...args], { encoding: 'utf8', timeout: 30_000 })
    const unknown = run('nosuch')
    expect(unknown.status).to.equal(2)
    expect(unknown.stderr).to.include('unknown scenario "nosuch"')
    for (const s of scenarios) expect(unknown.stderr).to.include(s.name)
    const tooMany = run('lookup', '--nodes', '100000')
    expect(tooMany.status).to.equal(2)
    expect(tooMany.stderr).to.match(/--nodes for lookup must be an integer \d+\.\.\d+/)
    const badSeed = run('erasure', '--seed', '-3')
    expect(badSeed.status).to.equal(2)
    expect(badSeed.stderr).to.include('--seed')
    expect(existsSync(join(dir.path, 'nosuch'))).to.equal(false)
  })
})
