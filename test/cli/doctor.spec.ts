// `peerlink doctor`, run as a user runs it.
import { expect } from 'chai'
import { runCli } from '../helpers/cli.js'

describe('cli doctor', () => {
  it('reports the native core and the best SIMD level', async () => {
    const r = await runCli(['doctor', '--json'])
    expect(r.code, r.stderr).to.equal(0)
    const report = JSON.parse(r.stdout)
    expect(report.hash.core).to.equal('native')
    expect(report.hash.available).to.include('portable')
    expect(report.hash.simd).to.equal(report.hash.available.at(-1))
    expect(report.erasure.core).to.equal('native')
    expect(report.erasure.simd).to.equal(report.erasure.available.at(-1))
    const text = await runCli(['doctor'])
    expect(text.stdout).to.match(/simd\s+\w+/)
  })

  it('honours PEERLINK_SIMD for a level the CPU has', async () => {
    const r = await runCli(['doctor', '--json'], { PEERLINK_SIMD: 'sse41' })
    expect(JSON.parse(r.stdout).hash.simd).to.equal('sse41')
  })

  it('falls back to WASM with a warning when the addon cannot load', async () => {
    const r = await runCli(['doctor', '--json'], { PEERLINK_ADDON_PATH: '/nonexistent/peerlink_native.node' })
    expect(r.code).to.equal(0)
    expect(JSON.parse(r.stdout).hash.core).to.equal('wasm')
    expect(r.stderr).to.match(/native addon did not load.*WASM/)
  })

  it('fails clearly when the native core is demanded but missing', async () => {
    const r = await runCli(['doctor'], { PEERLINK_ADDON_PATH: '/nonexistent/x.node', PEERLINK_HASH_CORE: 'native' })
    expect(r.code).to.equal(5)
    expect(r.stderr).to.match(/native addon did not load/)
  })
})
