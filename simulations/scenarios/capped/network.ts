// The capped scenario's network: a namespace for the fetcher and one per provider on the
// lab's bridge, each provider's uplink capped by a `tc tbf` on its own interface (egress:
// what it sends), repos listening on their namespace's address, every node bootstrapping
// from the first provider, and each provider's bytes sent read from its interface counters.
import { join } from 'node:path'
import { initRepo } from '../../../src/repo/repo.js'
import { peerlinkJson } from '../../lib/cli.js'
import { startDaemonProcess, stopDaemonProcess, type DaemonProcess } from '../../lib/daemons.js'
import { labRefused, type Lab, type LabHost } from '../../lib/lab.js'

/** The node's libp2p port and API address inside its own namespace (each has its own stack). */
export const P2P_PORT = 4001
export const API_ADDRESS = '127.0.0.1:5021'
const START_TIMEOUT = 20_000

export interface CappedNode extends LabHost { repo: string, daemon?: DaemonProcess }

export class CappedNetwork {
  /** Fetchers started so far: each listens on a port of its own. */
  private fetchers = 0

  private constructor (readonly lab: Lab, readonly fetcherHost: LabHost, readonly providers: CappedNode[], private readonly dir: string) {}

  /** Namespaces for the fetcher and `count` providers; a string says why they cannot be made here. */
  static async make (lab: Lab, bridge: string, count: number, dir: string): Promise<CappedNetwork | string> {
    let fetcherHost: LabHost
    try {
      fetcherHost = await lab.addHost(0, bridge)
    } catch (err) {
      if (labRefused(err)) return `cannot make a network namespace here (${(err as Error).message})`
      throw err
    }
    if (lab.tc === undefined) return 'needs iproute2\'s `tc` for the rate caps'
    const providers: CappedNode[] = []
    for (let i = 1; i <= count; i++) providers.push({ ...await lab.addHost(i, bridge), repo: join(dir, `provider${i}`) })
    return new CappedNetwork(lab, fetcherHost, providers, dir)
  }

  /** Where every node bootstraps from: the first provider. */
  get bootstrap (): string[] {
    const first = this.providers[0].daemon
    return first === undefined ? [] : first.dialable
  }

  /**
   * Inits a repo for a node in `host` and starts its daemon there, on P2P_PORT + `port`: each
   * fresh fetcher takes a port of its own, so a record an earlier one left (the same address,
   * another identity) cannot lead a dial to the new one.
   */
  async start (host: LabHost, repo: string, signal: AbortSignal, port = 0): Promise<DaemonProcess> {
    const subnet = this.lab.subnet
    await initRepo(repo, (c) => {
      c.network.listen = [`/ip4/${host.ip}/tcp/${P2P_PORT + port}`]
      c.network.bootstrap = this.bootstrap
      c.network.mdns = false
      c.network.privateAddresses = true
      c.network.allow = ['/ip4/127.0.0.0/ipcidr/8', `/ip4/${subnet}.0/ipcidr/24`]
      c.api.address = API_ADDRESS
    })
    return await startDaemonProcess(repo, { prefix: this.lab.prefix(host), processes: this.lab.processes, timeoutMs: START_TIMEOUT, signal })
  }

  /** A fresh fetcher (new repo, new identity) in the fetcher's namespace, on a port not used before. */
  async startFetcher (repo: string, signal: AbortSignal): Promise<DaemonProcess> {
    return await this.start(this.fetcherHost, repo, signal, ++this.fetchers)
  }

  async stop (d: DaemonProcess): Promise<void> {
    await stopDaemonProcess(d)
  }

  /** `peerlink <args> --json` run inside `host`'s namespace against the repo's daemon. */
  async cli<T> (host: LabHost, repo: string, args: string[], timeoutMs: number): Promise<T> {
    const r = await peerlinkJson<T>(['--repo', repo, ...args], { prefix: this.lab.prefix(host), processes: this.lab.processes, timeoutMs })
    if (r.value === undefined) throw new Error(`peerlink ${args[0]} in ${host.ns} failed: ${r.error}`)
    return r.value
  }

  /** Caps what `host` sends to `mbit` Mbit/s (tbf on its interface), or lifts the cap (undefined). */
  async cap (host: LabHost, mbit: number | undefined): Promise<void> {
    const tc = this.lab.tc as string
    await this.lab.exec(host, tc, ['qdisc', 'del', 'dev', host.nsIf, 'root'])
    if (mbit === undefined) return
    // A burst of 64 KiB lets TCP's segments through whole; a 100 ms queue bounds the delay the
    // cap adds, as a home router's buffer would.
    const r = await this.lab.exec(host, tc, ['qdisc', 'add', 'dev', host.nsIf, 'root', 'tbf', 'rate', `${mbit}mbit`, 'burst', '64kb', 'latency', '100ms'])
    if (r.code !== 0) throw new Error(`tc qdisc add dev ${host.nsIf} … tbf failed: ${r.stderr.trim()}`)
  }

  /** Bytes `host` has sent on its interface (all traffic: the exchange, the DHT, TCP and Noise framing). */
  async sentBytes (host: LabHost): Promise<number> {
    const r = await this.lab.exec(host, this.lab.ipTool, ['-s', '-j', 'link', 'show', 'dev', host.nsIf])
    if (r.code !== 0) throw new Error(`ip -s link show ${host.nsIf} failed: ${r.stderr.trim()}`)
    const [link] = JSON.parse(r.stdout) as Array<{ stats64?: { tx?: { bytes?: number } } }>
    return link.stats64?.tx?.bytes ?? 0
  }

  get scratch (): string { return this.dir }
}
