// The churn scenario's work through the CLI against the nodes' daemons: adding files,
// fetching them by CID (output checked byte for byte) and asking the DHT who provides them,
// each recorded against who was up.
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { peerlinkJson } from '../../lib/cli.js'
import type { ProcessSet } from '../../lib/processes.js'
import type { Fleet } from './fleet.js'
import { portsOf } from './fleet.js'
import { LOOKUP_MS, TIMEOUT, type PlannedAdd, type SimFile, type SimNode } from './plan.js'
import type { CensusRecord, FetchRecord } from './report.js'

interface FetchResult { ms: number, size: number, rebuiltChunks: number, providers: Array<{ peer: string, dropped: boolean }> }

export class Work {
  /** Files added so far, by index (a failed add is left out; its index is not reused). */
  readonly files: SimFile[] = []
  readonly fetches: FetchRecord[] = []
  readonly census: CensusRecord[] = []
  readonly addFailures: string[] = []

  constructor (private readonly fleet: Fleet, private readonly processes: ProcessSet, private readonly dir: string) {}

  private async cli<T> (n: SimNode, args: string[], timeoutMs: number): ReturnType<typeof peerlinkJson<T>> {
    return await peerlinkJson<T>(['--repo', n.repo, ...args], { timeoutMs, processes: this.processes })
  }

  /** Adds the files through their nodes' daemons; returns how many were added. */
  async add (toAdd: PlannedAdd[]): Promise<number> {
    const added = await Promise.all(toAdd.map(async (a): Promise<boolean> => {
      const path = join(this.dir, `file-${a.index}.bin`)
      await writeFile(path, a.bytes)
      const r = await this.cli<Array<{ cid: string, provided?: boolean }>>(a.n, ['add', path], TIMEOUT.add)
      const first = r.value?.[0]
      if (first?.cid === undefined) {
        this.addFailures.push(r.error ?? `unreadable output: ${r.run.stdout.slice(0, 200)}`)
        return false
      }
      a.n.holds.add(a.index)
      this.files.push({ index: a.index, cid: first.cid, path, size: a.size, period: a.period, addedBy: a.n.id, provided: first.provided === true })
      return true
    }))
    this.files.sort((a, b) => a.index - b.index)
    return added.filter(ok => ok).length
  }

  /** Fetches a file to a scratch output, compares it with the file added, and records it. */
  async fetch (fetcher: SimNode, file: SimFile): Promise<void> {
    const { nodes, period } = this.fleet
    const holdersAtStart = nodes.filter(n => n.state === 'live' && n.holds.has(file.index))
    const out = join(this.dir, `out-${fetcher.id}-${file.index}.bin`)
    const t0 = Date.now()
    const r = await this.cli<FetchResult>(fetcher, ['fetch', file.cid, '-o', out], TIMEOUT.fetch)
    // Eligible: some node held it whole and stayed up for the whole fetch.
    const eligible = holdersAtStart.some(n => n.state === 'live')
    const rec: FetchRecord = { period, file: file.index, fetcher: fetcher.id, liveHoldersAtStart: holdersAtStart.length, eligible, ok: false, wallMs: Date.now() - t0 }
    const res = r.value
    if (res === undefined) {
      rec.error = r.error
    } else {
      const liveNow = (peer: string): boolean => this.fleet.byPeer(peer)?.state === 'live'
      const same = res.size === file.size && Buffer.compare(await readFile(out).catch(() => Buffer.alloc(0)), await readFile(file.path)) === 0
      rec.ok = same
      rec.ms = res.ms
      rec.providers = res.providers.length
      rec.droppedProviders = res.providers.filter(p => p.dropped).length
      rec.droppedLive = res.providers.filter(p => p.dropped && liveNow(p.peer)).length
      rec.deadProviders = res.providers.filter(p => !liveNow(p.peer)).length
      rec.rebuiltChunks = res.rebuiltChunks
      if (!same) rec.error = 'the fetched file differs from the one added'
      else fetcher.holds.add(file.index)
    }
    await rm(out, { force: true })
    this.fetches.push(rec)
  }

  /** Asks the DHT from `querier` who provides `file`, and sorts the records it names by whether their node is up. */
  async lookUp (querier: SimNode, file: SimFile): Promise<void> {
    const r = await this.cli<Array<{ peer: string, addrs: string[] }>>(querier, ['find-providers', '--timeout', String(LOOKUP_MS), file.cid], TIMEOUT.findProviders)
    const liveHolders = this.fleet.nodes.filter(n => n !== querier && n.state === 'live' && n.holds.has(file.index))
    const rec: CensusRecord = { period: this.fleet.period, file: file.index, querier: querier.id, records: 0, live: 0, dead: 0, deadCrashed: 0, deadLeft: 0, unknown: 0, staleAddrs: 0, liveHolders: liveHolders.length, liveHoldersNamed: 0 }
    if (r.value === undefined) {
      rec.error = r.error
    } else {
      rec.records = r.value.length
      for (const p of r.value) {
        const n = this.fleet.byPeer(p.peer)
        if (n === undefined) rec.unknown++
        else if (n.state === 'live') {
          rec.live++
          if (liveHolders.includes(n)) rec.liveHoldersNamed++
          // A node restarted on a new port: are the addresses handed out its current ones?
          if (!portsOf(p.addrs).some(port => n.ports.includes(port))) rec.staleAddrs++
        } else {
          rec.dead++
          if (n.state === 'crashed') rec.deadCrashed++
          else rec.deadLeft++
        }
      }
    }
    this.census.push(rec)
  }
}
