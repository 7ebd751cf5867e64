// GET /metrics: Prometheus text that a parser reads, behind the API token, whose counters move
// as a fetch runs: the fetcher's fetches, bytes and DHT lookups, the provider's served bytes,
// libp2p's own metrics beside PeerLink's.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'chai'
import parsePrometheus from 'parse-prometheus-text-format'
import { RELOOKUP_WAITS } from '../../src/node/discovery.js'
import { runCli, startDaemonProcess, stopDaemonProcess, type DaemonProcess } from '../helpers/cli.js'
import { randomFile } from '../helpers/network.js'
import { tempDir } from '../helpers/repo.js'

type Families = ReturnType<typeof parsePrometheus>

async function scrape (d: DaemonProcess, token?: string): Promise<{ status: number, type: string, families: Families }> {
  const res = await fetch(`http://${d.info.address}/metrics`, {
    headers: { authorization: `Bearer ${token ?? (await readFile(join(d.repo, 'api.token'), 'utf8')).trim()}` },
    signal: AbortSignal.timeout(10_000)
  })
  const text = await res.text()
  return { status: res.status, type: res.headers.get('content-type') ?? '', families: res.ok ? parsePrometheus(text) : [] }
}

/** The value of one sample: the family's sample whose labels include `labels`; 0 when absent. */
function value (families: Families, name: string, labels: Record<string, string> = {}): number {
  const family = families.find(f => f.name === name)
  if (family === undefined) throw new Error(`no metric ${name}`)
  const sample = family.metrics.find(m => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))
  // A histogram's samples come as buckets: its count is the +Inf bucket.
  return sample === undefined ? 0 : Number(sample.value ?? sample.buckets?.['+Inf'])
}

describe('metrics', function () {
  this.timeout(90_000)
  let dir: { path: string, cleanup: () => Promise<void> }
  const daemons: DaemonProcess[] = []
  before(async () => { dir = await tempDir('peerlink-metrics-') })
  after(async () => {
    for (const d of daemons) await stopDaemonProcess(d)
    await dir.cleanup()
  })

  it('serves Prometheus text behind the token, and its counters move as a fetch runs', async () => {
    const a = await startDaemonProcess(join(dir.path, 'a'))
    daemons.push(a)
    const b = await startDaemonProcess(join(dir.path, 'b'), { bootstrap: a.dialable })
    daemons.push(b)

    const refused = await scrape(b, 'x'.repeat(43))
    expect(refused.status).to.equal(401)

    // B dials its bootstrap peer as it starts: scraped until it is connected (bounded).
    let before = await scrape(b)
    for (let i = 0; i < 50 && before.status === 200 && value(before.families, 'peerlink_peers') < 1; i++) {
      await new Promise(resolve => setTimeout(resolve, 200))
      before = await scrape(b)
    }
    expect(before.status).to.equal(200)
    expect(before.type).to.match(/^text\/plain; version=0\.0\.4/)
    expect(value(before.families, 'peerlink_fetches_total', { outcome: 'ok' })).to.equal(0)
    expect(value(before.families, 'peerlink_fetched_bytes_total')).to.equal(0)
    expect(value(before.families, 'peerlink_peers')).to.be.at.least(1)
    // libp2p's own and the process's, in the same registry
    expect(before.families.map(f => f.name)).to.include.members(['libp2p_data_transfer_bytes_total', 'process_cpu_seconds_total'])

    const f = await randomFile(dir.path, 'measured.bin', 3 * 1024 * 1024 + 5)
    const added = await runCli(['--repo', a.repo, 'add', '--json', f.path], {}, 60_000)
    expect(added.code, added.stderr).to.equal(0)
    const [{ cid }] = JSON.parse(added.stdout) as Array<{ cid: string }>
    const fetched = await runCli(['--repo', b.repo, 'fetch', cid, '--pin-only'], {}, 60_000)
    expect(fetched.code, fetched.stderr).to.equal(0)

    const after = await scrape(b)
    expect(value(after.families, 'peerlink_fetches_total', { outcome: 'ok' })).to.equal(1)
    expect(value(after.families, 'peerlink_fetched_bytes_total')).to.be.at.least(f.bytes.byteLength)
    expect(value(after.families, 'peerlink_fetch_providers')).to.equal(1) // one fetch observed…
    expect(after.families.find(f => f.name === 'peerlink_fetch_providers')?.metrics[0].buckets?.['1']).to.equal('1') // …served by one provider
    // The fetch's lookup, and those it repeats while it runs (RELOOKUP_WAITS: the first after
    // 0.25 s, which a loaded machine's 3 MiB fetch outlasts).
    expect(value(after.families, 'peerlink_dht_lookups_total', { kind: 'find-providers', outcome: 'ok' })).to.be.within(1, 1 + RELOOKUP_WAITS.length)
    expect(value(after.families, 'peerlink_repo_bytes')).to.be.at.least(f.bytes.byteLength)

    const provider = await scrape(a)
    expect(value(provider.families, 'peerlink_served_bytes_total')).to.be.at.least(f.bytes.byteLength)
    expect(value(provider.families, 'peerlink_dht_lookups_total', { kind: 'provide', outcome: 'ok' })).to.be.at.least(1)
  })
})
