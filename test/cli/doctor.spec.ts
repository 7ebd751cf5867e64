// `peerlink doctor`, run as a user runs it: the installation, then the node on a real repo,
// without and with real daemons.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'chai'
import type { StatusOut } from '../../src/api/shapes.js'
import { networkChecks } from '../../src/cli/doctor-checks.js'
import { runCli, startDaemonProcess, stopDaemonProcess, type DaemonProcess } from '../helpers/cli.js'
import { randomFile, waitUntil } from '../helpers/network.js'
import { tempDir } from '../helpers/repo.js'

interface Check { name: string, verdict: 'ok' | 'warn' | 'fail', message: string, exitCode?: number }

/** The checks of a `doctor --json` run, by name. */
function checksOf (stdout: string): Record<string, Check> {
  return Object.fromEntries((JSON.parse(stdout).checks as Check[]).map(c => [c.name, c]))
}

describe('cli doctor', function () {
  this.timeout(60_000)
  let dir: { path: string, cleanup: () => Promise<void> }
  const daemons: DaemonProcess[] = []
  beforeEach(async () => { dir = await tempDir('peerlink-doctor-') })
  afterEach(async () => {
    for (const d of daemons.splice(0)) await stopDaemonProcess(d)
    await dir.cleanup()
  })
  const doctor = async (repo: string, json = true, env: NodeJS.ProcessEnv = {}): ReturnType<typeof runCli> =>
    await runCli(['--repo', repo, 'doctor', ...(json ? ['--json'] : [])], env)

  it('says behind a relay whether hole punching can make connections direct, from where peers saw the node', () => {
    const status: StatusOut = {
      peerId: 'self',
      listen: ['/ip4/10.0.0.2/tcp/4001'],
      announced: ['/ip4/203.0.113.1/tcp/4001/p2p/relay/p2p-circuit/p2p/self'],
      peers: 1,
      connections: [{ peer: 'relay', addrs: ['/ip4/203.0.113.1/tcp/4001'], via: 'direct' }],
      reachability: 'relayed',
      observed: [],
      dhtPeers: 1,
      usage: { bytes: 0, blocks: 0 },
      quota: 1,
      offer: 0,
      importPrivate: false
    }
    const punching = (s: StatusOut): unknown => networkChecks(s, undefined).find(c => c.name === 'hole punching')
    expect(punching({ ...status, observed: ['/ip4/198.51.100.7/tcp/4001'] })).to.deep.include({ verdict: 'ok' })
    expect(JSON.stringify(punching({ ...status, observed: ['/ip4/198.51.100.7/tcp/4001'] }))).to.include('198.51.100.7/tcp/4001')
    expect(punching(status)).to.deep.include({ verdict: 'warn' })
    expect(JSON.stringify(punching(status))).to.include('stay relayed')
    expect(punching({ ...status, reachability: 'public' })).to.equal(undefined)
  })

  it('reports the native core and the best SIMD level', async () => {
    const r = await doctor(join(dir.path, 'none'))
    expect(r.code, r.stderr).to.equal(0)
    const report = JSON.parse(r.stdout)
    expect(report.hash.core).to.equal('native')
    expect(report.hash.available).to.include('portable')
    expect(report.hash.simd).to.equal(report.hash.available.at(-1))
    expect(report.erasure.core).to.equal('native')
    expect(report.erasure.simd).to.equal(report.erasure.available.at(-1))
    const text = await doctor(join(dir.path, 'none'), false)
    expect(text.stdout).to.match(/simd\s+\w+/)
    expect(text.stdout).to.match(/^ok {4}hash core {4}native BLAKE3, \w+$/m)
  })

  it('honours PEERLINK_SIMD for a level the CPU has', async () => {
    const r = await doctor(join(dir.path, 'none'), true, { PEERLINK_SIMD: 'sse41' })
    expect(JSON.parse(r.stdout).hash.simd).to.equal('sse41')
  })

  it('falls back to WASM with a warning when the addon cannot load', async () => {
    const r = await doctor(join(dir.path, 'none'), true, { PEERLINK_ADDON_PATH: '/nonexistent/peerlink_native.node' })
    expect(r.code).to.equal(0)
    expect(JSON.parse(r.stdout).hash.core).to.equal('wasm')
    expect(r.stderr).to.match(/native addon did not load.*WASM/)
    expect(checksOf(r.stdout)['hash core']).to.include({ verdict: 'warn' })
  })

  it('fails clearly when the native core is demanded but missing', async () => {
    const r = await doctor(join(dir.path, 'none'), false, { PEERLINK_ADDON_PATH: '/nonexistent/x.node', PEERLINK_HASH_CORE: 'native' })
    expect(r.code).to.equal(5)
    expect(r.stderr).to.match(/native addon did not load/)
  })

  it('without a daemon checks the repo and its disk, and says the daemon is not running', async () => {
    const none = await doctor(join(dir.path, 'none'))
    expect(checksOf(none.stdout).repo).to.include({ verdict: 'warn' })
    expect(checksOf(none.stdout).repo.message).to.match(/no repo at .* yet: `peerlink init`/)
    expect(checksOf(none.stdout).disk).to.equal(undefined)

    const repo = join(dir.path, 'repo')
    await runCli(['--repo', repo, 'init', '--listen', '/ip4/127.0.0.1/tcp/0', '--api', '127.0.0.1:0'])
    const f = await randomFile(dir.path, 'f.bin', 3 * 1024 * 1024)
    expect((await runCli(['--repo', repo, 'add', '-q', f.path])).code).to.equal(0)
    const r = await doctor(repo)
    expect(r.code, r.stderr).to.equal(0)
    const c = checksOf(r.stdout)
    expect(c.repo).to.include({ verdict: 'ok', message: `${repo} is readable and writable, format version 1` })
    expect(c.daemon).to.include({ verdict: 'warn', message: 'not running: start it with `peerlink daemon`' })
    for (const name of ['addresses', 'peers', 'dht']) expect(c[name].message, name).to.match(/^daemon not running/)
    expect(c.disk.verdict).to.equal('ok')
    // 3 MiB and its parity: under one stripe, so k' = 10 chunks of 307 KiB and m' = 4 (1.4×).
    expect(c.disk.message).to.match(/ free on the repo's disk; the blockstore holds 4\.2 MiB, no quota$/)

    // A quota the blockstore has reached fails, with the status a refused add would have.
    await runCli(['--repo', repo, 'config', 'set', 'storage.quota', '1MiB'])
    const full = await doctor(repo)
    expect(full.code).to.equal(9)
    expect(checksOf(full.stdout).disk).to.include({ verdict: 'fail', exitCode: 9 })
    const text = await doctor(repo, false)
    expect(text.code).to.equal(9)
    expect(text.stdout).to.match(/^fail {2}disk {9}.* of a 1\.0 MiB quota: the quota is reached/m)
    expect(text.stdout).to.match(/^warn {2}daemon {7}not running/m)
  })

  it('with daemons reports their addresses, peers and DHT table, and fails when the API refuses the repo\'s token', async () => {
    const a = await startDaemonProcess(join(dir.path, 'a'))
    daemons.push(a)
    const lone = checksOf((await doctor(a.repo)).stdout)
    expect(lone.daemon).to.include({ verdict: 'ok' })
    expect(lone.daemon.message).to.include(`pid ${a.info.pid}, API at http://${a.info.address}`)
    expect(lone.addresses).to.include({ verdict: 'ok' })
    expect(lone.addresses.message).to.include(`announced ${a.dialable[0]}`)
    expect(lone.peers.verdict).to.equal('warn')
    expect(lone.peers.message).to.match(/no peer connected: add one with `peerlink connect <multiaddr>`/)
    expect(lone.dht.verdict).to.equal('warn')

    const b = await startDaemonProcess(join(dir.path, 'b'), { bootstrap: a.dialable })
    daemons.push(b)
    let c: Record<string, Check> = {}
    await waitUntil(async () => {
      c = checksOf((await doctor(b.repo)).stdout)
      return c.dht.verdict === 'ok'
    }, 20_000, 'b has a in its DHT routing table', 250)
    expect(c.peers).to.include({ verdict: 'ok', message: '1 connected (1 direct, 0 relayed)' })
    expect(c.dht).to.include({ verdict: 'ok', message: '1 peer in the routing table' })

    // A token that is not the one the daemon loaded: the daemon runs, its API refuses.
    await writeFile(join(b.repo, 'api.token'), 'x'.repeat(43) + '\n')
    const refused = await doctor(b.repo)
    expect(refused.code).to.equal(18)
    expect(checksOf(refused.stdout).daemon).to.include({ verdict: 'fail', exitCode: 18 })
    expect(checksOf(refused.stdout).daemon.message).to.match(/but its API failed: /)
  })
})
