// A share ticket made from the repo alone, with no network started: the repo's identity key
// gives the peer id, its configured listen addresses the dial hints. This is what lets `add`
// and `share` print a link while no daemon runs; the link works once one does.
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { CID } from 'multiformats/cid'
import { loadKey } from '../repo/keys.js'
import { readConfig } from '../repo/repo.js'
import { loadIdentity } from './identity.js'
import { encodeTicket } from './ticket.js'

const UNSPECIFIED: Record<string, { family: 'IPv4' | 'IPv6', loopback: string }> = {
  '/ip4/0.0.0.0/': { family: 'IPv4', loopback: '127.0.0.1' },
  '/ip6/::/': { family: 'IPv6', loopback: '::1' }
}

/** The ticket for `root` as the daemon of `repo` will serve it, with its key if the repo added it privately. */
export async function repoTicket (repo: string, root: CID): Promise<string> {
  const [identity, config, key] = await Promise.all([loadIdentity(repo), readConfig(repo), loadKey(repo, root.toString())])
  return encodeTicket({ root, peer: peerIdFromPrivateKey(identity), addrs: dialHints(config.network.listen), key })
}

/**
 * Listen addresses as a receiver can dial them: an unspecified address (0.0.0.0, ::) stands
 * for every interface, so it becomes loopback plus this machine's interface addresses
 * (loopback first, so the ticket's address limit never drops it); an
 * address on port 0 is dropped, as its port is only known once a node listens (the receiver
 * then finds the sharer through the DHT by its peer id).
 */
export function dialHints (listen: string[], interfaces = networkInterfaces()): Multiaddr[] {
  const out = new Set<string>()
  for (const text of listen) {
    const addr = text.replace(/\/p2p\/[^/]+$/, '')
    if (/\/(tcp|udp)\/0(\/|$)/.test(addr)) continue
    const prefix = Object.keys(UNSPECIFIED).find(p => addr.startsWith(p))
    if (prefix === undefined) { out.add(addr); continue }
    const { family, loopback } = UNSPECIFIED[prefix]
    const rest = addr.slice(prefix.length - 1)
    for (const ip of [loopback, ...interfaceAddresses(interfaces, family)]) out.add(`/${family === 'IPv4' ? 'ip4' : 'ip6'}/${ip}${rest}`)
  }
  return [...out].map(a => multiaddr(a))
}

/** Non-loopback addresses of one family; IPv6 link-local ones need a zone a ticket cannot carry. */
function interfaceAddresses (interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>, family: 'IPv4' | 'IPv6'): string[] {
  return Object.values(interfaces).flatMap(list => list ?? [])
    .filter(i => i.family === family && !i.internal && !i.address.startsWith('fe80:'))
    .map(i => i.address)
}
