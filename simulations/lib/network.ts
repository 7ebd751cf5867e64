// Networks of real PeerLink nodes on 127.0.0.1 in one process, each with its own repo, for
// tests and simulations.
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { dhtTableSize, type NetworkInit } from '../../src/node/network.js'
import { PeerLinkNode } from '../../src/node/peerlink.js'
import { initRepo } from '../../src/repo/repo.js'

export async function tempDir (prefix = 'peerlink-test-'): Promise<{ path: string, cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix))
  return { path, cleanup: async () => { await rm(path, { recursive: true, force: true }) } }
}

export interface TestNetwork {
  nodes: PeerLinkNode[]
  dir: string
  /** Starts one more node bootstrapped to the first. */
  add: () => Promise<PeerLinkNode>
  stop: () => Promise<void>
}

/** The listen addresses of the first `count` nodes, to bootstrap a new node from. */
export function bootstrapFrom (nodes: PeerLinkNode[], count = 1): string[] {
  return nodes.slice(0, count).flatMap(n => n.network.addresses().map(a => a.toString()))
}

export async function startNode (repo: string, bootstrap: string[] = [], init: Partial<Omit<NetworkInit, 'repo' | 'store' | 'network'>> = {}): Promise<PeerLinkNode> {
  await initRepo(repo, (c) => {
    c.network.listen = ['/ip4/127.0.0.1/tcp/0']
    c.network.bootstrap = bootstrap
    c.api.address = '127.0.0.1:0'
  })
  return await PeerLinkNode.open(repo, { network: true, networkInit: { persistDht: false, ...init } })
}

/** Starts `count` nodes; every node after the first bootstraps from the first. */
export async function startNetwork (count: number): Promise<TestNetwork> {
  const dir = await tempDir('peerlink-net-')
  const nodes: PeerLinkNode[] = []
  let made = 0
  const add = async (): Promise<PeerLinkNode> => {
    const boot = bootstrapFrom(nodes)
    const node = await startNode(join(dir.path, `node${made++}`), boot)
    nodes.push(node)
    if (nodes.length > 1) await waitUntil(() => node.network.host.getConnections(nodes[0].network.peerId).length > 0, 10_000, 'no connection to the bootstrap node')
    return node
  }
  try {
    for (let i = 0; i < count; i++) await add()
    await waitForRoutingTables(nodes, Math.min(count - 1, 3), 10_000 + count * 250)
  } catch (err) {
    await Promise.all(nodes.map(async n => await n.stop().catch(() => {})))
    await dir.cleanup()
    throw err
  }
  return {
    nodes,
    dir: dir.path,
    add,
    stop: async () => {
      await Promise.all(nodes.map(async n => await n.stop().catch(() => {})))
      await dir.cleanup()
    }
  }
}

/** Waits (bounded) until every node has at least `min` peers in its DHT routing table. */
export async function waitForRoutingTables (nodes: PeerLinkNode[], min: number, timeout = 10_000): Promise<void> {
  const deadline = Date.now() + timeout
  while (true) {
    const sizes = nodes.map(n => dhtTableSize(n.network.host))
    if (sizes.every(s => s >= min)) return
    if (Date.now() > deadline) throw new Error(`DHT routing tables did not fill: sizes ${sizes.join(', ')}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

export async function waitUntil (ok: () => boolean | Promise<boolean>, timeout: number, what: string, intervalMs = 25): Promise<void> {
  const deadline = Date.now() + timeout
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`)
    await new Promise(resolve => setTimeout(resolve, intervalMs))
  }
}

/** A file of random bytes. */
export async function randomFile (dir: string, name: string, size: number): Promise<{ path: string, bytes: Buffer }> {
  const bytes = randomBytes(size)
  const path = join(dir, name)
  await writeFile(path, bytes)
  return { path, bytes }
}
