// The partition scenario's network: a namespace per node on the lab's first bridge, netem
// where the kernel has it, repos with identities from the seed (so peer ids, and the DHT's
// shape, repeat), a `peerlink daemon` in each namespace, and a wait until all are connected.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPairFromSeed, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { initRepo, repoPaths } from '../../../src/repo/repo.js'
import { startDaemonProcess, type DaemonProcess } from '../../lib/daemons.js'
import { labRefused, type Lab } from '../../lib/lab.js'
import type { ScenarioContext } from '../../lib/scenario.js'
import { API_ADDRESS, NETEM_ARGS, NETEM_LABEL, P2P_PORT, START_TIMEOUT, type PartitionPlan } from './plan.js'
import { waitForMesh, type PartitionNode } from './probes.js'
import type { Mesh } from './report.js'

export interface PartitionNetwork {
  nodes: PartitionNode[]
  daemons: DaemonProcess[]
  netem: string
  netemWhy: string
  mesh: Mesh
}

/** Makes and starts the network on `bridge`; a string says why it cannot be made here. */
export async function startNetwork (ctx: ScenarioContext, lab: Lab, bridge: string, plan: PartitionPlan): Promise<PartitionNetwork | string> {
  const nodes: PartitionNode[] = []
  ctx.progress.update(`making ${ctx.nodes} namespaces on ${bridge}`, true)
  for (let i = 0; i < ctx.nodes; i++) {
    try {
      const host = await lab.addHost(i, bridge)
      nodes.push({ ...host, repo: join(ctx.dir, `node${i}`), side: plan.sideA.includes(i) ? 'A' : 'B', peerId: '' })
    } catch (err) {
      if (i === 0 && labRefused(err)) return `cannot make a network namespace here (${(err as Error).message})`
      throw err
    }
  }
  const netemWhy = await lab.netem(nodes, NETEM_ARGS) ?? ''
  const netem = netemWhy === '' ? NETEM_LABEL : 'unavailable'
  ctx.progress.update(`netem: ${netem}${netemWhy !== '' ? ` (${netemWhy})` : ''}`, true)
  await writeRepos(nodes, plan, lab.subnet)

  ctx.progress.update('starting daemons', true)
  const start = async (n: PartitionNode): Promise<DaemonProcess> => {
    try {
      return await startDaemonProcess(n.repo, { prefix: lab.prefix(n), processes: lab.processes, timeoutMs: START_TIMEOUT, signal: ctx.signal })
    } catch (err) {
      throw new Error(`node ${n.index}'s ${(err as Error).message}`)
    }
  }
  const daemons = [await start(nodes[0])]
  daemons.push(...await Promise.all(nodes.slice(1).map(start)))
  const mesh = await waitForMesh(lab, nodes, plan.timing.mesh, ctx.signal, text => { ctx.progress.update(text) })
  ctx.progress.update(`${mesh.full ? 'all connected' : 'not all connected'}: peers per node ${mesh.counts.map(c => c < 0 ? '?' : c).join(', ')} (${mesh.ms} ms)`, true)
  return { nodes, daemons, netem, netemWhy, mesh }
}

/** Repos for every node, each listening on its own address, all bootstrapping from node 0. */
async function writeRepos (nodes: PartitionNode[], plan: PartitionPlan, subnet: string): Promise<void> {
  const keys = await Promise.all(nodes.map(async n => await generateKeyPairFromSeed('Ed25519', plan.identitySeeds[n.index])))
  for (const n of nodes) n.peerId = peerIdFromPrivateKey(keys[n.index]).toString()
  const bootstrap = [`/ip4/${nodes[0].ip}/tcp/${P2P_PORT}/p2p/${nodes[0].peerId}`]
  for (const n of nodes) {
    await initRepo(n.repo, (c) => {
      c.network.listen = [`/ip4/${n.ip}/tcp/${P2P_PORT}`]
      c.network.bootstrap = n.index === 0 ? [] : bootstrap
      c.network.mdns = false
      // 10.x is private: keep such addresses in DHT answers, and never refuse the subnet.
      c.network.privateAddresses = true
      c.network.allow = ['/ip4/127.0.0.0/ipcidr/8', `/ip4/${subnet}.0/ipcidr/24`]
      c.api.address = API_ADDRESS
    })
    await writeFile(repoPaths(n.repo).identity, privateKeyToProtobuf(keys[n.index]), { mode: 0o600 })
  }
}

/** Throws when a daemon has died (a CLI call would then quietly open the repo itself). */
export function checkDaemons (net: PartitionNetwork): void {
  for (const [i, d] of net.daemons.entries()) {
    const c = d.child
    if (c.exitCode !== null || c.signalCode !== null) throw new Error(`node ${i}'s daemon exited (${String(c.exitCode ?? c.signalCode)}): ${d.log().trim()}`)
  }
}
