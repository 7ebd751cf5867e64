// What the CLI commands run against: the daemon's API when a daemon holds the repo, or the
// repo opened in this process otherwise. Both give the same plain (JSON) shapes, so every
// command prints the same either way.
import { addOut, pinsOut, providersOut, type AddOut, type IdOut, type PeerOut, type PinOut, type ProviderOut } from '../api/shapes.js'
import type { GcResult, Usage } from '../blockstore/level.js'
import { DaemonRequiredError } from '../errors.js'
import type { FetchProgressEvents, FetchResult } from '../node/fetch.js'
import type { ConnectResult } from '../node/network.js'
import type { AddOptions, ListEntry, PeerLinkNode, StatResult } from '../node/peerlink.js'
import type { Ticket } from '../node/ticket.js'
import { KEY_HEADER, loadTarget, parseCid, splitKey } from '../node/cid.js'
import { keyToText } from '../files/cipher.js'
import { readConfig } from '../repo/repo.js'
import type { VerifyReport } from '../files/verify.js'
import type { SpreadResult, SpreadStatus } from '../storage/service.js'
import { findDaemon, replyBody, type DaemonClient } from './client.js'

export interface ProgressLine { event: FetchProgressEvents['type'], detail: any }

/** What the API's /id and /peers answer (shapes it builds in place, not in api/shapes.ts). */

export interface Backend {
  readonly kind: 'daemon' | 'local'
  add: (path: string, options: Omit<AddOptions, 'signal' | 'onProgress'>, onBytes?: (bytes: number) => void) => Promise<AddOut>
  /**
   * cat, stat and list take a root CID or a ticket, with or without a path inside the root,
   * and fetch from the network what the repo lacks (only what they read), unless `local`.
   */
  cat: (ref: string, range: { offset?: number, length?: number }) => AsyncIterable<Uint8Array>
  fetch: (target: string, options: { output?: string, force?: boolean }, onProgress: (line: ProgressLine) => void) => Promise<FetchResult>
  stat: (ref: string, options?: { local?: boolean }) => Promise<StatResult>
  /** A directory's entries, or a file as its one entry. */
  list: (ref: string) => Promise<ListEntry[]>
  /** The share ticket of a root: CID, this repo's peer id and its addresses. */
  share: (cid: string) => Promise<string>
  ls: () => Promise<{ pins: PinOut[], usage: Usage }>
  rm: (cids: string[]) => Promise<void>
  gc: () => Promise<GcResult>
  verify: (cid: string, repair: boolean) => Promise<VerifyReport>
  provide: (cid: string) => Promise<{ cid: string, ms: number }>
  findProviders: (cid: string, timeout?: number) => Promise<ProviderOut[]>
  id: () => Promise<IdOut>
  peers: () => Promise<PeerOut[]>
  connect: (addr: string) => Promise<ConnectResult>
  /** Spreads a pinned file over the peers that offer space (needs the daemon). */
  spread: (cid: string, lease?: number) => Promise<SpreadResult>
  /** How a root this node spread stands (needs the daemon). */
  health: (cid: string) => Promise<SpreadStatus>
  close: () => Promise<void>
}

export async function openBackend (repo: string): Promise<Backend> {
  const client = await findDaemon(repo)
  return client !== undefined ? new DaemonBackend(client) : new LocalBackend(repo)
}

class DaemonBackend implements Backend {
  readonly kind = 'daemon'
  constructor (private readonly c: DaemonClient) {}

  add = async (path: string, o: Omit<AddOptions, 'signal' | 'onProgress'>, onBytes?: (bytes: number) => void): Promise<AddOut> =>
    onBytes === undefined
      ? await this.c.call('POST', '/add', { ...o, path })
      : await this.c.stream('/add', { ...o, path, progress: true }, (line: { bytes: number }) => { onBytes(line.bytes) })

  cat = (ref: string, range: { offset?: number, length?: number }): AsyncIterable<Uint8Array> => {
    const q = new URLSearchParams()
    if (range.offset !== undefined) q.set('offset', String(range.offset))
    if (range.length !== undefined) q.set('length', String(range.length))
    const c = this.c
    return (async function * () {
      const { url, headers } = refRequest(ref)
      const res = await c.request('GET', `/cat/${url}?${q.toString()}`, undefined, undefined, headers)
      yield * replyBody(res)
    })()
  }

  fetch = async (target: string, o: { output?: string, force?: boolean }, onProgress: (line: ProgressLine) => void): Promise<FetchResult> =>
    await this.c.stream('/fetch', { target, ...o }, onProgress)

  stat = async (ref: string, o: { local?: boolean } = {}): Promise<StatResult> => {
    const { url, headers } = refRequest(ref)
    return await this.c.call('GET', `/stat/${url}${o.local === true ? '?local=true' : ''}`, undefined, undefined, headers)
  }

  list = async (ref: string): Promise<ListEntry[]> => {
    const { url, headers } = refRequest(ref)
    return await this.c.call('GET', `/ls/${url}`, undefined, undefined, headers)
  }

  share = async (cid: string): Promise<string> => (await this.c.call<{ ticket: string }>('GET', `/ticket/${encodeURIComponent(cid)}`)).ticket
  ls = async (): Promise<{ pins: PinOut[], usage: Usage }> => await this.c.call('GET', '/ls')
  rm = async (cids: string[]): Promise<void> => { await this.c.call('POST', '/rm', { cids }) }
  gc = async (): Promise<GcResult> => await this.c.call('POST', '/gc', {})
  verify = async (cid: string, repair: boolean): Promise<VerifyReport> => await this.c.call('POST', '/verify', { cid, repair })
  provide = async (cid: string): Promise<{ cid: string, ms: number }> => await this.c.call('POST', '/provide', { cid })
  findProviders = async (cid: string, timeout?: number): Promise<ProviderOut[]> =>
    await this.c.call('GET', `/providers/${encodeURIComponent(cid)}${timeout !== undefined ? `?timeout=${timeout}` : ''}`)

  id = async (): Promise<IdOut> => await this.c.call('GET', '/id')
  peers = async (): Promise<PeerOut[]> => await this.c.call('GET', '/peers')
  connect = async (addr: string): Promise<ConnectResult> => await this.c.call('POST', '/connect', { addr })
  spread = async (cid: string, lease?: number): Promise<SpreadResult> => await this.c.call('POST', '/spread', { cid, lease })
  health = async (cid: string): Promise<SpreadStatus> => await this.c.call('GET', `/health/${encodeURIComponent(cid)}`)
  close = async (): Promise<void> => { this.c.abort() }
}

/**
 * A root (CID or ticket) and a path inside it as the rest of an API URL, each name
 * percent-encoded; a private root's key goes in a header, as URLs are logged.
 */
function refRequest (ref: string): { url: string, headers: Record<string, string> } {
  const { text, key } = splitKey(ref)
  const url = text.split('/').filter(n => n !== '').map(encodeURIComponent).join('/')
  return { url, headers: key !== undefined ? { [KEY_HEADER]: keyToText(key) } : {} }
}

/** How long a node started for one command waits to reach a bootstrap peer. */
const BOOTSTRAP_WAIT = 5000

/** How long `close` waits for the commands it interrupted to clean up (temp files, writes). */
const UNWIND_WAIT = 10_000

class LocalBackend implements Backend {
  readonly kind = 'local'
  private node: PeerLinkNode | undefined
  /** Aborted by `close`, so an interrupted command unwinds (and removes what it half wrote). */
  private readonly stopping = new AbortController()
  private readonly running = new Set<Promise<unknown>>()
  constructor (private readonly repo: string) {}

  private async track<T> (op: Promise<T>): Promise<T> {
    this.running.add(op)
    try {
      return await op
    } finally {
      this.running.delete(op)
    }
  }

  /** The repo opened here; with `network`, also a short-lived network node on a free port. */
  private async open (network = false): Promise<PeerLinkNode> {
    if (this.node !== undefined && (!network || this.node.online)) return this.node
    await this.node?.stop()
    this.node = undefined
    // Loaded here, not at the top: a command the daemon serves never needs the node (libp2p,
    // kad-dht, LevelDB), and loading it took most of a CLI call's start.
    const { PeerLinkNode } = await import('../node/peerlink.js')
    if (!network) {
      this.node = await PeerLinkNode.open(this.repo)
      return this.node
    }
    const config = await readConfig(this.repo)
    const listen = config.network.listen.map(a => a.replace(/\/tcp\/\d+/, '/tcp/0'))
    const node = await PeerLinkNode.open(this.repo, { network: true, networkInit: { network: { ...config.network, listen }, announce: false } })
    this.node = node
    if (config.network.bootstrap.length > 0) {
      const deadline = Date.now() + BOOTSTRAP_WAIT
      while (node.network.host.getConnections().length === 0 && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 50))
    }
    return node
  }

  add = async (path: string, o: Omit<AddOptions, 'signal' | 'onProgress'>, onBytes?: (bytes: number) => void): Promise<AddOut> => {
    const node = await this.open()
    const r = await this.track(node.add(path, { ...o, signal: this.stopping.signal, onProgress: (e) => onBytes?.(e.detail.bytes) }))
    return addOut(r, await this.share(r.cid.toString()))
  }

  cat = (ref: string, range: { offset?: number, length?: number }): AsyncIterable<Uint8Array> => {
    const reading = this.reading.bind(this)
    const signal = this.stopping.signal
    return (async function * () {
      const { node, target } = await reading(ref)
      yield * node.cat(target, { ...range, signal })
    })()
  }

  fetch = async (target: string, o: { output?: string, force?: boolean }, onProgress: (line: ProgressLine) => void): Promise<FetchResult> => {
    const ticket = await loadTarget(target)
    // A root this repo holds whole needs no network.
    const pinned = await (await this.open()).blockstore.isPinned(ticket.root)
    const node = await this.open(!pinned)
    return await this.track(node.fetch(ticket, { ...o, announce: false, signal: this.stopping.signal, onProgress: e => { onProgress({ event: e.type, detail: e.detail }) } }))
  }

  stat = async (ref: string, o: { local?: boolean } = {}): Promise<StatResult> => {
    const { node, target } = await this.reading(ref, o.local)
    return await this.track(node.stat(target, { network: o.local !== true, signal: this.stopping.signal }))
  }

  list = async (ref: string): Promise<ListEntry[]> => {
    const { node, target } = await this.reading(ref)
    return await this.track(node.list(target, { signal: this.stopping.signal }))
  }

  /**
   * The node to read `ref` with: a short-lived network node too when the network could help
   * (the root is not pinned here, and a ticket or a bootstrap peer gives someone to ask; it
   * asks only for what the repo lacks), else the repo alone.
   */
  private async reading (ref: string, local = false): Promise<{ node: PeerLinkNode, target: Ticket }> {
    const target = await loadTarget(ref)
    const node = await this.open()
    const someone = target.peer !== undefined || node.config.network.bootstrap.length > 0
    const ask = !local && someone && !await node.blockstore.isPinned(target.root)
    return { node: await this.open(ask), target }
  }

  share = async (cid: string): Promise<string> => {
    // Loaded here for the same reason as the node: libp2p's crypto is slow to load.
    const { repoTicket } = await import('../node/share.js')
    return await repoTicket(this.repo, parseCid(cid))
  }

  ls = async (): Promise<{ pins: PinOut[], usage: Usage }> => {
    const node = await this.open()
    return { pins: pinsOut(await node.ls()), usage: await node.usage() }
  }

  rm = async (cids: string[]): Promise<void> => {
    const parsed = cids.map(parseCid)
    const node = await this.open()
    for (const c of parsed) await node.rm(c)
  }

  gc = async (): Promise<GcResult> => { const node = await this.open(); return await this.track(node.gc({ signal: this.stopping.signal })) }
  verify = async (cid: string, repair: boolean): Promise<VerifyReport> => {
    const c = parseCid(cid)
    const node = await this.open()
    return await this.track(node.verify(c, { repair, signal: this.stopping.signal }))
  }

  provide = async (): Promise<never> => { throw new DaemonRequiredError('provide (the record must point at a node that stays up)', this.repo) }
  findProviders = async (cid: string, timeout?: number): Promise<ProviderOut[]> => {
    const c = parseCid(cid)
    return providersOut(await (await this.open(true)).network.findProviders(c, { timeout }))
  }

  id = async (): Promise<never> => { throw new DaemonRequiredError('id', this.repo) }
  peers = async (): Promise<never> => { throw new DaemonRequiredError('peers', this.repo) }
  connect = async (): Promise<never> => { throw new DaemonRequiredError('connect', this.repo) }
  spread = async (): Promise<never> => { throw new DaemonRequiredError('spread (holders pull the blocks from this node, and it renews their leases)', this.repo) }
  health = async (): Promise<never> => { throw new DaemonRequiredError('status', this.repo) }
  private closing: Promise<void> | undefined
  close = async (): Promise<void> => { this.closing ??= this.shut(); await this.closing }

  private async shut (): Promise<void> {
    this.stopping.abort(new Error('interrupted'))
    if (this.running.size > 0) {
      let timer: NodeJS.Timeout | undefined
      await Promise.race([Promise.allSettled(this.running), new Promise(resolve => { timer = setTimeout(resolve, UNWIND_WAIT) })])
      clearTimeout(timer)
    }
    await this.node?.stop()
    this.node = undefined
  }
}
