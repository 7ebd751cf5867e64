// Whether a node holds a provider record itself, asked of its own store with no lookup.
import type { CID } from 'multiformats/cid'
import type { PeerLinkNode } from '../../src/node/peerlink.js'
import { routingKey } from '../../src/routing/kad-compat.js'

/**
 * Whether `node` itself holds a record naming `provider` for `root`: kad-dht answers a
 * findProviders from its own store first, as an event from itself, then asks others.
 */
export async function holdsRecord (node: PeerLinkNode, root: CID, provider: PeerLinkNode): Promise<boolean> {
  const controller = new AbortController()
  try {
    for await (const e of node.network.host.services.dht.findProviders(routingKey(root), { signal: controller.signal })) {
      const local = 'from' in e && e.from.equals(node.network.peerId)
      if (e.name === 'PROVIDER' && local) return e.providers.some(p => p.id.equals(provider.network.peerId))
      if (!local) return false
    }
    return false
  } catch {
    return false
  } finally {
    controller.abort()
  }
}
