// The NAT lab: the lab's namespaces arranged as a small internet. A "public" bridge holds
// hosts on public addresses (a bootstrap node, a relay) and each NAT router's outside; each
// router is a namespace that forwards between its outside and a private bridge of its own,
// masquerading with nftables, and every host behind it sits on that private bridge with the
// router as its default route. Every private network uses the same subnet, as home routers do,
// so a private address that leaks into an announcement leads a peer behind another NAT
// nowhere. Needs what the lab needs plus `nft`; the routers' tables, and miniupnpd when
// asked for, live inside the routers' namespaces and go with them in `close`.
import { randomUUID } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { findTool, labRefused, Lab, type LabHost } from './lab.js'

/**
 * How a router maps and filters. `cone`: masquerade that keeps the source port where it can
 * (endpoint-independent mapping, as most home routers), inbound only for flows the inside
 * began. `strict`: the same filter, but every flow gets a random outside port
 * (`random,fully-random`), so a port seen by one peer says nothing of the next flow's.
 */
export type NatKind = 'cone' | 'strict'

export interface NatRouter {
  /** The router's namespace and its outside (public) interface and address. */
  host: LabHost
  /** Its inside interface and address (the default route of the hosts behind it). */
  lanIf: string
  lanIp: string
  /** The private bridge behind it. */
  bridge: string
  kind: NatKind
}

/**
 * The public segment's addresses: a range outside every private, shared and documentation
 * range, so libp2p (and miniupnpd) treat them as the internet. No packet leaves the lab: no
 * namespace has a route beyond its own segments, and the bridges have no address outside.
 */
const PUBLIC_PREFIX = '172.32'
const PRIVATE_PREFIX = '10.214'
/** miniupnpd's HTTP port on a router's inside. */
const UPNP_PORT = 5555

export class NatLab {
  private routers = 0

  /** Public host 0, made by `open`. */
  first!: LabHost

  private constructor (readonly lab: Lab, readonly publicBridge: string, readonly nft: string, private readonly dir: string) {}

  /** The lab with its public bridge and public host 0 on it, or why there can be none here. */
  static async open (defer: (fn: () => Promise<void>) => void, dir: string): Promise<NatLab | { skipped: string }> {
    const nft = findTool('nft')
    if (process.platform === 'linux' && process.getuid?.() === 0 && nft === undefined) return { skipped: 'needs nftables\' `nft` command for the NAT routers (apt-get install nftables)' }
    const opened = await Lab.open(defer)
    if ('skipped' in opened) return opened
    try {
      // The first namespace tells whether namespaces can be made here at all.
      const nat = new NatLab(opened.lab, opened.bridge, nft as string, dir)
      nat.first = await nat.addPublicHost(0)
      return nat
    } catch (err) {
      if (labRefused(err)) return { skipped: `cannot make a network namespace here (${(err as Error).message})` }
      throw err
    }
  }

  get subnet (): string { return `${PUBLIC_PREFIX}.${process.pid % 256}` }
  get privateSubnet (): string { return `${PRIVATE_PREFIX}.${process.pid % 256}` }

  /** Public host `index` (0 is made by `open`). */
  async addPublicHost (index: number): Promise<LabHost> {
    return await this.lab.addHost(index, this.publicBridge, `${this.subnet}.${index + 1}`)
  }

  /** A router (host `index`) with its outside on the public bridge and its own private bridge, masquerading as `kind` says. */
  async addRouter (index: number, kind: NatKind): Promise<NatRouter> {
    const host = await this.addPublicHost(index)
    const bridge = await this.lab.addBridge(`r${++this.routers}`)
    const lanIf = `${this.lab.tag}l${index}`
    const lanIp = `${this.privateSubnet}.1`
    await this.lab.addInterface(host, bridge, `${this.lab.tag}m${index}`, lanIf, lanIp)
    const sysctl = await this.lab.exec(host, findTool('sysctl') ?? 'sysctl', ['-qw', 'net.ipv4.ip_forward=1'])
    if (sysctl.code !== 0) throw new Error(`sysctl net.ipv4.ip_forward=1 in ${host.ns} failed: ${sysctl.stderr.trim()}`)
    const rules = join(this.dir, `${host.ns}.nft`)
    await writeFile(rules, ruleset(host.nsIf, lanIf, kind))
    const r = await this.lab.exec(host, this.nft, ['-f', rules])
    if (r.code !== 0) throw new Error(`nft -f ${rules} in ${host.ns} failed: ${r.stderr.trim()}`)
    return { host, lanIf, lanIp, bridge, kind }
  }

  /** Host `index` behind `router`: on its private bridge at privateSubnet.(10 + index), routed through it. */
  async addPrivateHost (index: number, router: NatRouter): Promise<LabHost> {
    const h = await this.lab.addHost(index, router.bridge, `${this.privateSubnet}.${10 + index}`)
    await this.lab.ip(['-n', h.ns, 'route', 'add', 'default', 'via', router.lanIp])
    return h
  }

  /**
   * miniupnpd in the router's namespace on its nftables backend (the chains `ruleset` made),
   * answering the inside only and mapping only to the inside's own addresses. A string says
   * why it cannot run here.
   */
  async miniupnpd (router: NatRouter): Promise<string | undefined> {
    const bin = findTool('miniupnpd')
    if (bin === undefined) return 'miniupnpd not found (apt-get install miniupnpd)'
    const conf = join(this.dir, `${router.host.ns}-miniupnpd.conf`)
    await writeFile(conf, [
      `ext_ifname=${router.host.nsIf}`,
      `listening_ip=${router.lanIf}`,
      `port=${UPNP_PORT}`,
      // The table and chains `ruleset` made (the nftables backend's own defaults differ by build).
      'upnp_table_name=filter',
      'upnp_nat_table_name=filter',
      'upnp_forward_chain=forwardUPnP',
      'upnp_nat_chain=UPnP',
      'upnp_nat_postrouting_chain=UPnP-Postrouting',
      'enable_natpmp=no',
      'enable_upnp=yes',
      'secure_mode=yes',
      'system_uptime=yes',
      `uuid=${randomUUID()}`,
      `allow 1024-65535 ${this.privateSubnet}.0/24 1024-65535`,
      'deny 0-65535 0.0.0.0/0 0-65535',
      ''
    ].join('\n'))
    const [ipTool, ...rest] = this.lab.prefix(router.host)
    const child = this.lab.processes.spawn(ipTool, [...rest, bin, '-d', '-f', conf, '-P', join(this.dir, `${router.host.ns}-miniupnpd.pid`)], { stdio: ['ignore', 'ignore', 'pipe'] })
    let log = ''
    child.stderr?.on('data', (d: Buffer) => { log = (log + d.toString()).slice(-4096) })
    // Serving once it says its HTTP port listens; a bad config ends it at once.
    const deadline = Date.now() + 10_000
    while (!/HTTP listening on port/i.test(log)) {
      if (child.exitCode !== null) return `miniupnpd exited (${child.exitCode}): ${log.trim()}`
      if (Date.now() > deadline) throw new Error(`miniupnpd did not start within 10 s: ${log.trim()}`)
      await new Promise(resolve => setTimeout(resolve, 50))
    }
    return undefined
  }
}

/**
 * The router's nftables ruleset: one `inet filter` table with the chains miniupnpd's nftables
 * backend expects by default (forwardUPnP, UPnP, UPnP-Postrouting), empty until it maps a port,
 * so the same router serves with or without it. Like a home router it drops what comes from
 * outside unasked for itself (it does not answer with a reset): a peer's hole-punching SYN
 * that arrives before this side's own has opened the mapping is lost, not refused, and the
 * punch goes on with the other SYN.
 */
export function ruleset (wan: string, lan: string, kind: NatKind): string {
  const masquerade = kind === 'cone' ? 'masquerade persistent' : 'masquerade random,fully-random'
  return `table inet filter {
  chain input {
    type filter hook input priority 0; policy accept;
    iifname "${wan}" ct state new drop
  }
  chain forward {
    type filter hook forward priority 0; policy drop;
    ct state established,related accept
    iifname "${lan}" oifname "${wan}" accept
    jump forwardUPnP
  }
  chain forwardUPnP {
  }
  chain prerouting {
    type nat hook prerouting priority -100; policy accept;
    jump UPnP
  }
  chain postrouting {
    type nat hook postrouting priority 100; policy accept;
    jump UPnP-Postrouting
    oifname "${wan}" ${masquerade}
  }
  chain UPnP {
  }
  chain UPnP-Postrouting {
  }
}
`
}
