// Spreading over real in-process nodes on loopback (each with its own repo, libp2p host, DHT
// and LevelDB), a small geometry (64 KiB chunks, k = 4, m = 2): the specs of test/storage/spread*.
import { join } from 'node:path'
import { PeerLinkNode } from '../../src/node/peerlink.js'
import { initRepo } from '../../src/repo/repo.js'
import type { SpreadResult } from '../../src/storage/service.js'
import { bootstrapFrom, waitForRoutingTables, waitUntil } from './network.js'

export const CHUNK = 64 * 1024
export const K = 4
export const M = 2

/**
 * As many holders as can go with each stripe losing at most m blocks and each DAG node keeping
 * a copy, and how many blocks each stripe loses with them.
 */
export function killable (r: SpreadResult, holders: string[]): { killed: string[], lost: Map<number, number> } {
  const lost = new Map<number, number>()
  const nodeCopies = new Map(r.nodes.map(n => [n.cid, n.holders.length]))
  const killed: string[] = []
  for (const h of holders) {
    const stripesHit = r.stripes.filter(s => s.holders.includes(h))
    const nodesHit = r.nodes.filter(n => n.holders.includes(h))
    if (stripesHit.some(s => (lost.get(s.index) ?? 0) + 1 > M) || nodesHit.some(n => (nodeCopies.get(n.cid) ?? 0) <= 1)) continue
    for (const s of stripesHit) lost.set(s.index, (lost.get(s.index) ?? 0) + 1)
    for (const n of nodesHit) nodeCopies.set(n.cid, (nodeCopies.get(n.cid) ?? 0) - 1)
    killed.push(h)
  }
  return { killed, lost }
}

export async function startPeer (repo: string, bootstrap: string[], offer: number, repairInterval = 0): Promise<PeerLinkNode> {
  await initRepo(repo, (c) => {
    c.network.listen = ['/ip4/127.0.0.1/tcp/0']
    c.network.bootstrap = bootstrap
    c.api.address = '127.0.0.1:0'
    c.import = { ...c.import, chunkSize: CHUNK, k: K, m: M }
    c.storage.offer = offer
    c.storage.repairInterval = repairInterval
  })
  return await PeerLinkNode.open(repo, { network: true, networkInit: { persistDht: false } })
}

/** An owner (offering nothing) and `holders` peers offering `offer` bytes each (or offer[i]), in `dir`; all pushed to `nodes`. */
export async function spreadNetwork (dir: string, nodes: PeerLinkNode[], holders: number, offer: number | number[], repairInterval = 0, holderInterval = 0): Promise<{ owner: PeerLinkNode, holders: PeerLinkNode[] }> {
  const owner = await startPeer(join(dir, 'owner'), [], 0, repairInterval)
  nodes.push(owner)
  const boot = bootstrapFrom([owner])
  const list = await Promise.all(Array.from({ length: holders }, async (_, i) => await startPeer(join(dir, `holder${i}`), boot, Array.isArray(offer) ? offer[i] : offer, holderInterval)))
  nodes.push(...list)
  await waitForRoutingTables(nodes, Math.min(3, holders), 20_000)
  // Each holder's offer record reaches the DHT once its table has peers (retried until then).
  await waitUntil(async () => (await owner.network.storage.owner.findHolders() ?? []).length === holders, 30_000, 'every holder\'s offer found', 250)
  return { owner, holders: list }
}
