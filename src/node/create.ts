// The library's front door: one call opens (or creates) a repo and returns a ready node.
import { initRepo, resolveRepoPath, type RepoConfig } from '../repo/repo.js'
import { PeerLinkNode, type OpenOptions } from './peerlink.js'

/** Config for a repo that `createPeerLink` creates; an existing repo keeps its own config.json. */
export interface RepoInit {
  /**
   * Multiaddrs to listen on (`/ip4/127.0.0.1/tcp/0` picks a free loopback port).
   * @default ['/ip4/0.0.0.0/tcp/4021']
   */
  listen?: string[]
  /**
   * Multiaddrs (ending in `/p2p/<peer id>`) of peers to join the network through.
   * @default []
   */
  bootstrap?: string[]
  /**
   * Largest number of bytes the blockstore may hold; 0 for no limit.
   * @default 0
   */
  quota?: number
}

export interface CreatePeerLinkOptions {
  /**
   * The repo directory.
   * @default `$PEERLINK_REPO`, else `~/.peerlink`
   */
  repo?: string
  /**
   * Create the repo when there is none, with this config (`true`: the defaults). With `false`
   * a missing repo is a `RepoNotFoundError`.
   * @default true
   */
  init?: boolean | RepoInit
  /**
   * Start the network side (libp2p host, block exchange, DHT). An offline node adds, cats,
   * stats, verifies and collects garbage; fetch and provide need it online.
   * @default true
   */
  online?: boolean
  /** Overrides of the network's timings and DHT settings (tests, simulations). */
  networkInit?: OpenOptions['networkInit']
}

/**
 * Opens a PeerLink node on a repo, creating the repo first unless told not to. Stop it with
 * `node.stop()`; a repo is held by one process at a time (`RepoLockedError`).
 *
 * ```ts
 * const node = await createPeerLink({ repo: './my-repo', init: { listen: ['/ip4/127.0.0.1/tcp/0'] } })
 * const { cid } = await node.add('holiday.mp4')
 * console.log(node.ticket(cid))
 * ```
 */
export async function createPeerLink (options: CreatePeerLinkOptions = {}): Promise<PeerLinkNode> {
  const repo = resolveRepoPath(options.repo)
  const init = options.init ?? true
  if (init !== false) await initRepo(repo, config => { applyInit(config, init === true ? {} : init) })
  return await PeerLinkNode.open(repo, { network: options.online ?? true, networkInit: options.networkInit })
}

function applyInit (config: RepoConfig, init: RepoInit): void {
  if (init.listen !== undefined) config.network.listen = [...init.listen]
  if (init.bootstrap !== undefined) config.network.bootstrap = [...init.bootstrap]
  if (init.quota !== undefined) config.storage.quota = init.quota
}
