// Whether a node holds a provider record itself, asked of its own store with no lookup, and
// which providers a node names when asked for a root's.
import { peerIdFromMultihash } from '@libp2p/peer-id'
import { pbStream } from '@libp2p/utils'
import type { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { DHT_PROTOCOL } from '../../src/node/host.js'
import type { PeerLinkNode } from '../../src/node/peerlink.js'
import { routingKey } from '../../src/routing/kad-compat.js'
import { Message } from '../../src/routing/pb/dht.js'

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

/**
 * The providers `holder` names, with at least one address each, when `asker` sends it a
 * GET_PROVIDERS for `root`: its answer alone, not what other peers say.
 */
export async function providersNamed (asker: PeerLinkNode, holder: PeerLinkNode, root: CID): Promise<string[]> {
  const signal = AbortSignal.timeout(10_000)
  const stream = await asker.network.host.dialProtocol(holder.network.peerId, DHT_PROTOCOL, { signal })
  try {
    const messages = pbStream(stream, { maxDataLength: 1024 * 1024 }).pb(Message)
    await messages.write({ type: Message.MessageType.GET_PROVIDERS, key: routingKey(root).multihash.bytes, providerPeers: [] }, { signal })
    const answer = await messages.read({ signal })
    await stream.close({ signal })
    return answer.providerPeers.filter(p => p.addrs.length > 0).map(p => peerIdFromMultihash(Digest.decode(p.id)).toString())
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
}
