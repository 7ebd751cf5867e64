// `peerlink config` and `daemon --listen/--api`, run as a user runs them: the real CLI on a real
// repo, and a real daemon.
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'chai'
import { runCli, startDaemonProcess, stopDaemonProcess, type DaemonProcess } from '../helpers/cli.js'
import { tempDir } from '../helpers/repo.js'

describe('cli config', function () {
  this.timeout(60_000)
  let dir: { path: string, cleanup: () => Promise<void> }
  let repo: string
  const daemons: DaemonProcess[] = []
  beforeEach(async () => {
    dir = await tempDir('peerlink-config-')
    repo = join(dir.path, 'repo')
    const init = await runCli(['--repo', repo, 'init', '--listen', '/ip4/127.0.0.1/tcp/0', '--api', '127.0.0.1:0'])
    expect(init.code, init.stderr).to.equal(0)
  })
  afterEach(async () => {
    for (const d of daemons.splice(0)) await stopDaemonProcess(d)
    await dir.cleanup()
  })

  const config = async (...args: string[]): ReturnType<typeof runCli> => await runCli(['--repo', repo, 'config', ...args])
  const configPath = (): string => join(repo, 'config.json')

  it('takes the space offered to other peers from init --offer, in units, and refuses a bad size before writing a repo', async () => {
    const offering = join(dir.path, 'offering')
    const init = await runCli(['--repo', offering, 'init', '--offer', '50GiB'])
    expect(init.code, init.stderr).to.equal(0)
    expect((await runCli(['--repo', offering, 'config', 'get', 'storage.offer'])).stdout.trim()).to.equal(String(50 * 2 ** 30))
    expect((await config('get', 'storage.offer')).stdout.trim()).to.equal('0')
    expect((await config('set', 'storage.offer', '2GiB')).stdout.trim()).to.equal('storage.offer = 2147483648 (2.0 GiB)')

    const bad = join(dir.path, 'bad')
    const refused = await runCli(['--repo', bad, 'init', '--offer', 'lots'])
    expect(refused.code).to.equal(2)
    expect(refused.stderr).to.match(/"lots" is not a size/)
    expect(await readdir(dir.path)).to.not.include('bad')
  })

  it('sets, gets, shows and unsets keys, keeping everything else config.json holds', async () => {
    const path = configPath()
    const written = JSON.parse(await readFile(path, 'utf8'))
    await writeFile(path, JSON.stringify({ ...written, note: 'kept as written' }, null, 2))

    const set = await config('set', 'storage.quota', '20GiB')
    expect(set.code, set.stderr).to.equal(0)
    expect(set.stdout.trim()).to.equal('storage.quota = 21474836480 (20.0 GiB)')
    expect((await config('get', 'storage.quota')).stdout.trim()).to.equal('21474836480')
    expect((await config('set', 'network.listen', '/ip4/127.0.0.1/tcp/4101, /ip4/127.0.0.1/tcp/4102')).code).to.equal(0)
    expect((await config('get', 'network.listen')).stdout.trim().split('\n')).to.deep.equal(['/ip4/127.0.0.1/tcp/4101', '/ip4/127.0.0.1/tcp/4102'])
    expect((await config('set', 'network.bootstrap', '["/ip4/127.0.0.1/tcp/4103/p2p/12D3KooWKgUf7bahfH9VCKkS4dxF28sSYmg4THW8hjqZivJ313xR"]')).code).to.equal(0)
    expect((await config('set', 'network.mdns', 'true')).code).to.equal(0)
    expect((await config('set', 'api.address', '/ip4/127.0.0.1/tcp/5101')).stdout.trim()).to.equal('api.address = "127.0.0.1:5101"')

    const shown = JSON.parse((await config('show')).stdout)
    expect(shown.storage.quota).to.equal(20 * 2 ** 30)
    expect(shown.network).to.include({ mdns: true, maxConnections: 300 })
    expect(shown.network.bootstrap).to.have.length(1)
    expect(shown.export.maxEntries).to.equal(1_000_000) // a default, filled in
    expect(JSON.parse((await config('get', 'network.listen', '--json')).stdout)).to.deep.equal(['/ip4/127.0.0.1/tcp/4101', '/ip4/127.0.0.1/tcp/4102'])
    expect(JSON.parse((await config('get', 'storage', '--json')).stdout)).to.deep.equal({ quota: 20 * 2 ** 30, offer: 0, repairInterval: 600_000, repairRate: 8 * 2 ** 20 })

    const unset = await config('unset', 'storage.quota')
    expect(unset.stdout.trim()).to.equal('storage.quota = 0 (the default)')
    const file = JSON.parse(await readFile(path, 'utf8'))
    expect(file.note).to.equal('kept as written')
    expect(file.storage?.quota).to.equal(undefined)
    expect(file.network.listen).to.deep.equal(['/ip4/127.0.0.1/tcp/4101', '/ip4/127.0.0.1/tcp/4102'])
    // Written whole through a temporary file that is gone once it is in place.
    expect((await readdir(repo)).filter(n => n.endsWith('.tmp'))).to.deep.equal([])
  })

  it('refuses a bad value or an unknown key with a clear message and leaves config.json as it was', async () => {
    const path = configPath()
    const before = await readFile(path, 'utf8')
    const cases: Array<[string[], RegExp]> = [
      [['set', 'storage.quota', '20 gigs'], /"20 gigs" is not a size \(try 1048576, 256KiB/],
      [['set', 'storage.quota', '1.5GiB'], /"1\.5GiB" is not a size/],
      [['set', 'storage.quot', '1GiB'], /unknown config key "storage.quot": did you mean storage\.quota\?/],
      [['get', 'quota'], /unknown config key "quota": did you mean storage\.quota\?/],
      [['set', 'network.listen', '/ip4/1.2.3/tcp/4101'], /network\.listen: "\/ip4\/1\.2\.3\/tcp\/4101" is not a multiaddr \(Invalid IPv4 address "1\.2\.3"\)/],
      [['set', 'network.bootstrap', '["/ip4/127.0.0.1/tcp/1", 7]'], /JSON array of multiaddrs/],
      [['set', 'network.mdns', 'yes'], /network\.mdns is true or false, not "yes"/],
      [['set', 'import.k', '300'], /k \(data chunks per stripe\) must be 1 to 128, not 300/],
      [['set', 'import.chunkSize', '1KiB'], /chunk size must be a whole number of bytes from 65536/],
      [['set', 'api.address', 'localhost'], /api\.address must be host:port, not "localhost"/],
      [['set', 'network', '[]'], /network is a section, not a key: set one of network\.listen/],
      [['unset', 'version'], /unknown config key "version"/]
    ]
    for (const [args, message] of cases) {
      const r = await config(...args)
      expect(r.code, args.join(' ')).to.equal(2)
      expect(r.stderr, args.join(' ')).to.match(message)
    }
    expect(await readFile(path, 'utf8')).to.equal(before)
  })

  it('opening the repo checks config.json as `config set` does', async () => {
    const path = configPath()
    const written = JSON.parse(await readFile(path, 'utf8'))
    await writeFile(path, JSON.stringify({ ...written, network: { ...written.network, bootstrap: ['/ip4/1.2.3/tcp/1'] } }))
    const r = await runCli(['--repo', repo, 'ls'])
    expect(r.code).to.equal(2)
    expect(r.stderr).to.match(/config\.json: network\.bootstrap: "\/ip4\/1\.2\.3\/tcp\/1" is not a multiaddr/)
    // init checks its options as well, before it makes anything.
    const other = join(dir.path, 'other')
    const init = await runCli(['--repo', other, 'init', '--listen', 'tcp:4021'])
    expect(init.code).to.equal(2)
    expect(init.stderr).to.match(/network\.listen: "tcp:4021" is not a multiaddr/)
    expect((await runCli(['--repo', other, 'config', 'show'])).code).to.equal(14)
  })

  it('daemon --listen and --api serve one run without changing config.json; config set says the daemon keeps its config', async () => {
    const before = await readFile(configPath(), 'utf8')
    const d = await startDaemonProcess(repo, { args: ['--listen', '/ip4/127.0.0.3/tcp/0', '--api', '/ip4/127.0.0.4/tcp/0'] })
    daemons.push(d)
    expect(d.info.addresses.length).to.be.greaterThan(0)
    for (const a of d.info.addresses) expect(a).to.match(/^\/ip4\/127\.0\.0\.3\/tcp\/\d+/)
    expect(d.info.address).to.match(/^127\.0\.0\.4:\d+$/)
    const id = await runCli(['--repo', repo, 'id', '--json'])
    expect(id.code, id.stderr).to.equal(0)
    expect(JSON.parse(id.stdout).addresses[0]).to.match(/^\/ip4\/127\.0\.0\.3\//)
    expect(await readFile(configPath(), 'utf8')).to.equal(before)

    const set = await config('set', 'network.maxConnections', '50')
    expect(set.code, set.stderr).to.equal(0)
    expect(set.stderr).to.match(new RegExp(`daemon running on this repo \\(pid ${d.info.pid}\\) keeps the config it loaded: restart it`))

    const bad = await runCli(['--repo', repo, 'daemon', '--listen', '/ip4/127.0.0.1/tcp/x'])
    expect(bad.code).to.equal(2)
    expect(bad.stderr).to.match(/--listen: network\.listen: "\/ip4\/127\.0\.0\.1\/tcp\/x" is not a multiaddr/)
  })
})
