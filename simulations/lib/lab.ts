// The lab: hosts as network namespaces on this machine, each joined by a veth pair whose
// outer end sits on a bridge in the root namespace, so that moving outer ends between
// bridges splits and heals a network. Linux, root and iproute2 only: `Lab.open` says why
// not instead. Whatever it made (namespaces, links, processes) it unmakes in `close`, which
// the caller registers before anything else can fail; once closed it makes nothing more.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { processAlive } from '../../src/files/fs.js'
import { ProcessSet, type RunResult } from './processes.js'

export interface LabHost {
  index: number
  /** The namespace. */
  ns: string
  /** The veth end on a bridge in the root namespace. */
  hostIf: string
  /** The veth end inside the namespace. */
  nsIf: string
  ip: string
}

/** A command in PATH (or the sbin directories, which a non-login root shell may lack). */
export function findTool (name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':').filter(d => d !== ''), '/usr/sbin', '/sbin', '/usr/bin', '/bin']
  for (const d of dirs) if (existsSync(join(d, name))) return join(d, name)
  return undefined
}

const refused = (text: string): boolean => /not permitted|permission/i.test(text)

export class Lab {
  /** Prefix of every name made here: interface names are at most 15 characters. */
  readonly tag = `pl${process.pid}`
  readonly subnet = `10.213.${process.pid % 256}`
  readonly processes = new ProcessSet('the lab')
  readonly tc = findTool('tc')
  readonly ss = findTool('ss')
  private readonly namespaces: string[] = []
  /** Root-namespace links to delete (bridges, veth ends), in the order made. */
  private readonly links: string[] = []
  private closing: Promise<void> | undefined

  private constructor (readonly ipTool: string) {}

  /**
   * A lab with its first bridge, or why there can be none here. `defer` receives the
   * clean-up before anything is made.
   */
  static async open (defer: (fn: () => Promise<void>) => void): Promise<{ lab: Lab, bridge: string } | { skipped: string }> {
    if (process.platform !== 'linux') return { skipped: `network namespaces need Linux, this is ${process.platform}` }
    if (process.getuid?.() !== 0) return { skipped: 'needs root to make network namespaces, veth pairs and bridges (run it as root, e.g. with sudo)' }
    const ipTool = findTool('ip')
    if (ipTool === undefined) return { skipped: 'needs iproute2\'s `ip` command, not found in PATH, /usr/sbin or /sbin' }
    const lab = new Lab(ipTool)
    defer(async () => { await lab.close() })
    await lab.sweepStale()
    // A bridge first: where the kernel or container refuses, nothing else is tried.
    try {
      return { lab, bridge: await lab.addBridge('a') }
    } catch (err) {
      if (refused((err as Error).message)) return { skipped: `cannot make a bridge here (${(err as Error).message}): needs CAP_NET_ADMIN` }
      throw err
    }
  }

  /**
   * Deletes the namespaces and links of labs whose process is gone (killed with SIGKILL, it
   * could not clean up): their names carry its pid.
   */
  async sweepStale (): Promise<void> {
    const stale = (name: string): boolean => {
      const pid = /^pl(?:br)?(\d+)/.exec(name)?.[1]
      return pid !== undefined && Number(pid) !== process.pid && !processAlive(Number(pid))
    }
    const namespaces = (await this.tryIp(['netns', 'list'])).stdout.split('\n').map(l => l.split(' ')[0])
    for (const ns of namespaces.filter(stale)) await this.tryIp(['netns', 'del', ns])
    const links = (await this.tryIp(['-br', 'link'])).stdout.split('\n').map(l => l.split(/[\s@]/)[0])
    for (const link of links.filter(stale)) await this.tryIp(['link', 'del', link])
  }

  /** Runs `ip <args>` in the root namespace. */
  async tryIp (args: string[], timeoutMs = 10_000): Promise<RunResult> {
    return await this.processes.run(this.ipTool, args, timeoutMs)
  }

  async ip (args: string[]): Promise<string> {
    const r = await this.tryIp(args)
    if (r.code !== 0) throw new Error(`ip ${args.join(' ')} failed: ${r.timedOut ? 'timed out' : r.stderr.trim()}`)
    return r.stdout
  }

  /** A bridge, up, named after the lab and `suffix`. */
  async addBridge (suffix: string): Promise<string> {
    const name = `plbr${process.pid}${suffix}`
    this.links.push(name)
    await this.ip(['link', 'add', name, 'type', 'bridge'])
    await this.ip(['link', 'set', name, 'up'])
    return name
  }

  /**
   * Host `index`: a namespace with address `ip`/24 (subnet.(index + 1) unless given), its
   * veth's outer end on `bridge`.
   */
  async addHost (index: number, bridge: string, ip = `${this.subnet}.${index + 1}`): Promise<LabHost> {
    const h: LabHost = { index, ns: `${this.tag}-${index}`, hostIf: `${this.tag}h${index}`, nsIf: `${this.tag}n${index}`, ip }
    this.namespaces.push(h.ns)
    await this.ip(['netns', 'add', h.ns])
    await this.ip(['-n', h.ns, 'link', 'set', 'lo', 'up'])
    await this.addInterface(h, bridge, h.hostIf, h.nsIf, ip)
    return h
  }

  /** A veth pair from `bridge` into host `h`'s namespace: `outer` on the bridge, `inner` with address `ip`/24. */
  async addInterface (h: LabHost, bridge: string, outer: string, inner: string, ip: string): Promise<void> {
    this.links.push(outer)
    await this.ip(['link', 'add', outer, 'type', 'veth', 'peer', 'name', inner])
    await this.ip(['link', 'set', inner, 'netns', h.ns])
    await this.ip(['link', 'set', outer, 'master', bridge])
    await this.ip(['link', 'set', outer, 'up'])
    await this.ip(['-n', h.ns, 'addr', 'add', `${ip}/24`, 'dev', inner])
    await this.ip(['-n', h.ns, 'link', 'set', inner, 'up'])
  }

  /** Moves a host's outer veth end onto `bridge`. */
  async attach (h: LabHost, bridge: string): Promise<void> {
    await this.ip(['link', 'set', h.hostIf, 'master', bridge])
  }

  /** The command prefix that runs a program inside a host's namespace. */
  prefix (h: LabHost): string[] {
    return [this.ipTool, 'netns', 'exec', h.ns]
  }

  /** Runs a program inside a host's namespace, killed after `timeoutMs`. */
  async exec (h: LabHost, command: string, args: string[], timeoutMs = 10_000): Promise<RunResult> {
    const [ipTool, ...rest] = this.prefix(h)
    return await this.processes.run(ipTool, [...rest, command, ...args], timeoutMs)
  }

  /**
   * netem on each host's own interface (egress): a packet is delayed (or lost) once, as it
   * leaves its sender. Tried on the first host, since many kernels lack sch_netem; returns
   * why it could not be applied, or undefined when it was.
   */
  async netem (hosts: LabHost[], args: string[]): Promise<string | undefined> {
    if (this.tc === undefined) return '`tc` not found'
    for (const [i, h] of hosts.entries()) {
      const r = await this.exec(h, this.tc, ['qdisc', 'add', 'dev', h.nsIf, 'root', 'netem', ...args])
      if (r.code === 0) continue
      if (i === 0) return `tc qdisc add … netem failed: ${r.stderr.trim()}`
      throw new Error(`tc qdisc add dev ${h.nsIf} … netem failed: ${r.stderr.trim()}`)
    }
    return undefined
  }

  /** Stops every process, then deletes every namespace and link; safe to call again. */
  async close (): Promise<void> {
    this.closing ??= this.unmake()
    await this.closing
  }

  private async unmake (): Promise<void> {
    await this.processes.close()
    const run = new ProcessSet('the lab\'s clean-up')
    for (const ns of this.namespaces) {
      // Anything still inside (nothing should be) would keep the namespace alive.
      const pids = await run.run(this.ipTool, ['netns', 'pids', ns], 5000)
      for (const pid of pids.stdout.split(/\s+/).filter(p => /^\d+$/.test(p))) {
        try { process.kill(Number(pid), 'SIGKILL') } catch {}
      }
      const r = await run.run(this.ipTool, ['netns', 'del', ns], 10_000)
      if (r.code !== 0 && !/no such file/i.test(r.stderr)) process.stderr.write(`lab: ip netns del ${ns}: ${r.stderr.trim()}\n`)
    }
    // Deleting a namespace deletes its veth ends and so their peers; what is left goes here.
    for (const link of [...this.links].reverse()) {
      const r = await run.run(this.ipTool, ['link', 'del', link], 10_000)
      if (r.code !== 0 && !/cannot find device|does not exist/i.test(r.stderr)) process.stderr.write(`lab: ip link del ${link}: ${r.stderr.trim()}\n`)
    }
  }
}

/** Whether an error from making a namespace means the lab is refused here (not a bug). */
export function labRefused (err: unknown): boolean {
  return refused((err as Error).message)
}
