// The cores are chosen on first use, not at import; the fallback answers sync calls at once;
// a missing addon is one warning, however many cores fall back.
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { expect } from 'chai'

const PROBE = fileURLToPath(new URL('./fixtures/core-probe.ts', import.meta.url))
// 'peerlink' hashed with BLAKE3-256, as a raw CIDv1.
const CID = 'bafkr4ihntgji6t3pxwu6xkq7fifqeksztluekhja3372pxt4ww2hmxhiqm'

interface Step { step: string, addonLoaded: boolean, cid?: string, parity?: number[], hash?: { core: string, simd: string } }

async function probe (env: Record<string, string>): Promise<{ steps: Record<string, Step>, stderr: string }> {
  const base = { ...process.env }
  for (const name of ['PEERLINK_HASH_CORE', 'PEERLINK_ERASURE_CORE', 'PEERLINK_ADDON_PATH']) delete base[name]
  const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', PROBE], { env: { ...base, ...env } })
  const steps = Object.fromEntries(stdout.trim().split('\n').map(l => JSON.parse(l) as Step).map(s => [s.step, s]))
  return { steps, stderr }
}

describe('hash/core choice', function () {
  this.timeout(60_000)

  it('loads the native addon on the first hash, not at import', async () => {
    const { steps, stderr } = await probe({})
    expect(steps.imported.addonLoaded).to.equal(false)
    expect(steps.hashed.addonLoaded).to.equal(true)
    expect(steps.hashed.hash?.core).to.equal('native')
    expect(steps.hashed.cid).to.equal(CID)
    expect(stderr).to.not.match(/Warning/)
  })

  it('without the addon, hashes synchronously from the first call and warns once for every core', async () => {
    const { steps, stderr } = await probe({ PEERLINK_ADDON_PATH: '/nonexistent/peerlink_native.node' })
    expect(steps.hashed.cid).to.equal(CID)
    // The WASM instance cannot be up before the event loop turns: the pure-JavaScript BLAKE3 answered.
    expect(steps.hashed.hash).to.include({ core: 'wasm', simd: 'js' })
    expect(steps.coded.parity).to.have.length(2)
    expect(steps.ready.hash).to.include({ core: 'wasm', simd: 'wasm' })
    expect(steps.ready.cid).to.equal(CID)
    const warnings = stderr.split('\n').filter(l => /Warning/.test(l))
    expect(warnings, stderr).to.have.length(1)
    expect(warnings[0]).to.match(/native addon did not load.*WASM\/JS cores.*npm run build:native/)
  })

  it('takes the fallbacks without a warning when they are asked for', async () => {
    const { steps, stderr } = await probe({ PEERLINK_HASH_CORE: 'wasm', PEERLINK_ERASURE_CORE: 'js' })
    expect(steps.coded.addonLoaded).to.equal(false)
    expect(steps.ready.hash?.core).to.equal('wasm')
    expect(steps.ready.cid).to.equal(CID)
    expect(stderr).to.not.match(/Warning/)
  })
})
