// The nat scenario's network: a bootstrap+relay daemon on the NAT lab's public segment and,
// per setting, two routers each with one peer behind it. Peers listen on their private
// address only, bootstrap from the relay, take a reservation on it and run transfers over
// relayed connections, and announce no private address (network.privateAddresses off).
import { join } from 'node:path'
import { initRepo, type NetworkConfig } from '../../../src/repo/repo.js'
import { peerlinkJson, type CliJson } from '../../lib/cli.js'
import { startDaemonProcess, stopDaemonProcess, type DaemonProcess } from '../../lib/daemons.js'
import type { LabHost } from '../../lib/lab.js'
import type { NatKind, NatLab, NatRouter } from '../../lib/lab-nat.js'

export const P2P_PORT = 4001
const API_ADDRESS = '127.0.0.1:5021'
const START_TIMEOUT = 20_000

export interface NatNode { host: LabHost, repo: string, daemon: DaemonProcess }

/** One setting: two routers of `kind`, peer A behind the first, peer B behind the second. */
export interface NatPair { name: string, kind: NatKind, upnp: boolean, routers: [NatRouter, NatRouter], a: NatNode, b: NatNode }

export class NatNetwork {
  private pairs = 0

  private constructor (readonly nat: NatLab, readonly relay: NatNode, private readonly dir: string) {}

  /** The relay on public host 0, serving relayed connections of up to `relayDataLimit` bytes. */
  static async make (nat: NatLab, dir: string, relayDataLimit: number, signal: AbortSignal): Promise<NatNetwork> {
    const relay = await startNode(nat, nat.first, join(dir, 'relay'), { relay: true, relayDataLimit, relayReservations: 32, announce: [`/ip4/${nat.first.ip}/tcp/${P2P_PORT}`] }, [], signal)
    return new NatNetwork(nat, relay, dir)
  }

  /** Two routers of `kind` and a peer behind each; with `upnp`, miniupnpd on A's router and network.upnp on A. */
  async pair (name: string, kind: NatKind, upnp: boolean, signal: AbortSignal): Promise<NatPair> {
    const base = 1 + 4 * this.pairs++
    const routers: [NatRouter, NatRouter] = [await this.nat.addRouter(base, kind), await this.nat.addRouter(base + 1, kind)]
    if (upnp) {
      const why = await this.nat.miniupnpd(routers[0])
      if (why !== undefined) throw new Error(why)
    }
    const hostA = await this.nat.addPrivateHost(base + 2, routers[0])
    const hostB = await this.nat.addPrivateHost(base + 3, routers[1])
    const peer = { reserveRelay: true, relayedTransfers: true }
    const a = await startNode(this.nat, hostA, join(this.dir, `${name}-a`), { ...peer, upnp }, this.bootstrap, signal)
    const b = await startNode(this.nat, hostB, join(this.dir, `${name}-b`), peer, this.bootstrap, signal)
    return { name, kind, upnp, routers, a, b }
  }

  /** Where peers bootstrap from: the relay's announced (public) address. */
  get bootstrap (): string[] {
    return this.relay.daemon.dialable
  }

  /** Stops the node's daemon and starts it again on the same repo. */
  async restart (node: NatNode, signal: AbortSignal): Promise<void> {
    await stopDaemonProcess(node.daemon)
    node.daemon = await startDaemonProcess(node.repo, { prefix: this.nat.lab.prefix(node.host), processes: this.nat.lab.processes, timeoutMs: START_TIMEOUT, signal })
  }

  /** `peerlink <args> --json` inside the node's namespace against its daemon, failed or not. */
  async tryCli<T> (node: NatNode, args: string[], timeoutMs = 15_000): Promise<CliJson<T>> {
    return await peerlinkJson<T>(['--repo', node.repo, ...args], { prefix: this.nat.lab.prefix(node.host), processes: this.nat.lab.processes, timeoutMs })
  }

  /** `peerlink <args> --json` inside the node's namespace against its daemon. */
  async cli<T> (node: NatNode, args: string[], timeoutMs = 15_000): Promise<T> {
    const r = await this.tryCli<T>(node, args, timeoutMs)
    if (r.value === undefined) throw new Error(`peerlink ${args[0]} in ${node.host.ns} failed: ${r.error}`)
    return r.value
  }
}

/** Inits a repo for a node in `host`, listening on its own address only, and starts its daemon there. */
async function startNode (nat: NatLab, host: LabHost, repo: string, network: Partial<NetworkConfig>, bootstrap: string[], signal: AbortSignal): Promise<NatNode> {
  await initRepo(repo, (c) => {
    c.network = { ...c.network, listen: [`/ip4/${host.ip}/tcp/${P2P_PORT}`], bootstrap, mdns: false, privateAddresses: false, ...network }
    c.api.address = API_ADDRESS
  })
  const daemon = await startDaemonProcess(repo, { prefix: nat.lab.prefix(host), processes: nat.lab.processes, timeoutMs: START_TIMEOUT, signal })
  return { host, repo, daemon }
}
