// The libp2p host: TCP, Noise, Yamux, identify, ping, the Kademlia DHT in server mode on
// PeerLink's own protocol, and circuit relay, hole punching, AutoNAT and UPnP (reachability.ts). Everything that differs between one machine, a LAN and the
// internet (listen addresses, bootstrap peers, mDNS, private addresses, allow-list) comes
// from the repo's network config, so one code path serves all three.
import { bootstrap } from '@libp2p/bootstrap'
import { identify, type Identify } from '@libp2p/identify'
import type { PeerDiscovery, PeerId, PrivateKey } from '@libp2p/interface'
import { kadDHT, passthroughMapper, removePrivateAddressesMapper, type KadDHT } from '@libp2p/kad-dht'
import { mdns } from '@libp2p/mdns'
import { ping, type Ping } from '@libp2p/ping'
import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import type { TCPOptions } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import type { Datastore } from 'interface-datastore'
import { createLibp2p, type Libp2p, type Libp2pOptions } from 'libp2p'
import type { Registry } from 'prom-client'
import type { NetworkConfig } from '../repo/repo.js'
import type { InboundGate } from './gate.js'
import { noiseEncrypter } from './noise-crypto.js'
import { announceSettings, isPublic, PunchCandidates, reachabilityServices, RELAY_LISTEN, relayTransport, type Responders } from './reachability.js'
import { sharedPortTcp, type SharedPortPolicy } from './shared-port.js'

export const DHT_PROTOCOL = '/peerlink/kad/1.0.0'

/**
 * Yamux stream windows for bulk transfer. The default 256 KiB window caps one stream at
 * window/RTT; a larger one lets one exchange stream carry several 1 MiB blocks in flight
 * over a real link. A stream starts at the protocol's 256 KiB, which is what every peer
 * grants: @libp2p/yamux 8 takes its own initialStreamWindowSize as the remote's window too,
 * so a larger one made PeerLink overrun a peer with default settings (its first 1 MiB block
 * reset the connection: "Receive window exceeded"). The receive window then doubles, by
 * window updates the remote honours, up to maxStreamWindowSize while data keeps coming.
 * Measured by bench:transfer (scripts/README.md).
 */
export const YAMUX_SETTINGS = {
  streamOptions: {
    initialStreamWindowSize: 256 * 1024,
    maxStreamWindowSize: 16 * 1024 * 1024,
    maxReadBufferLength: 32 * 1024 * 1024
  }
}

/**
 * libp2p's connection monitor pings every peer every 10 s and by default aborts the whole
 * connection when a ping fails. Under a bulk transfer a ping queues behind megabytes of
 * window, fails, and the monitor then reset every exchange stream on a healthy connection
 * (seen as providers dropped mid-fetch). Pings still measure round trips; a dead peer is
 * noticed by the exchange's own request timeouts and TCP.
 */
export const CONNECTION_MONITOR = { abortConnectionOnPingFailure: false }

/**
 * The transport stack every PeerLink host runs: TCP, Noise (with the native ChaCha20-Poly1305
 * of noise-crypto.ts) and Yamux with YAMUX_SETTINGS. The benchmarks' raw-stream and Helia
 * peers build theirs from this too, so their figures compare like with like. `dialFrom`:
 * the local IP outbound connections come from (net.connect's localAddress, which
 * @libp2p/tcp passes through but does not type); tests and bench:abuse dial from an address
 * outside a provider's allow-list with it (and then no dial leaves from the listening port).
 * `sharedPort`: which dials leave from the listening port (shared-port.ts), public ones
 * unless told; `responders`: the peers a hole punch dials as the responder (reachability.ts).
 */
export async function transportSettings (options: { dialFrom?: string, sharedPort?: SharedPortPolicy, responders?: Responders } = {}): Promise<Pick<Libp2pOptions, 'transports' | 'connectionEncrypters' | 'streamMuxers'>> {
  const dialOpts = options.dialFrom === undefined ? undefined : { localAddress: options.dialFrom } as TCPOptions['dialOpts']
  return {
    transports: [sharedPortTcp({ dialOpts }, dialOpts === undefined ? options.sharedPort ?? 'public' : 'off', isPublic, options.responders)],
    connectionEncrypters: [await noiseEncrypter()],
    streamMuxers: [yamux(YAMUX_SETTINGS)]
  }
}

export type PeerLinkServices = { identify: Identify, ping: Ping, dht: KadDHT, punchCandidates: PunchCandidates }
export type PeerLinkHost = Libp2p<PeerLinkServices>

export interface HostOptions {
  privateKey: PrivateKey
  network: NetworkConfig
  /** Where the DHT keeps provider records and the peer store; memory when absent. */
  datastore?: Datastore
  /** How long a provider record lives; the reprovider renews records well before. */
  provideValidity?: number
  /** How often expired provider records held for other peers are dropped. */
  recordCleanupInterval?: number
  /** Ping every connection every 10 s (default); see NetworkInit.monitorConnections. */
  monitorConnections?: boolean
  /** Where libp2p's own metrics go (with the node's, metrics.ts); none are kept without one. */
  metrics?: Registry
  /**
   * Peers whose connections are refused as soon as their identity is known (banned ones): a
   * banned peer that dials again costs a handshake, not a connection and its streams.
   */
  refusePeer?: (peer: PeerId) => boolean
  /** Refuses, before their handshake, redials from addresses that present banned identities. */
  gate?: InboundGate
}

export async function createHost (options: HostOptions): Promise<PeerLinkHost> {
  const n = options.network
  const peerDiscovery: Array<(components: any) => PeerDiscovery> = []
  if (n.bootstrap.length > 0) peerDiscovery.push(bootstrap({ list: n.bootstrap, timeout: 100 }))
  if (n.mdns) peerDiscovery.push(mdns())
  const responders: Responders = new Set()
  const candidates = new PunchCandidates()
  const transports = await transportSettings({ responders })
  const node = await createLibp2p({
    start: false,
    privateKey: options.privateKey,
    datastore: options.datastore,
    // Listening on the relay address has the relay transport reserve a slot on a relay it
    // meets, so a node behind a NAT is reachable through it (reachability.ts).
    addresses: { listen: n.reserveRelay ? [...n.listen, RELAY_LISTEN] : n.listen, ...announceSettings(n) },
    ...transports,
    transports: [...transports.transports ?? [], relayTransport()],
    peerDiscovery,
    // The plugin keeps one metric of each name per process: made afresh (not preserved), each
    // node's own go to its own registry.
    metrics: options.metrics === undefined ? undefined : prometheusMetrics({ registry: options.metrics }),
    connectionMonitor: { ...CONNECTION_MONITOR, enabled: options.monitorConnections !== false },
    connectionManager: {
      maxConnections: n.maxConnections,
      allow: n.allow
    },
    connectionGater: {
      denyInboundConnection: (maConn) => options.gate?.refuses(maConn.remoteAddr) === true,
      denyInboundEncryptedConnection: (peer, maConn) => {
        if (options.refusePeer?.(peer) !== true) return false
        options.gate?.strike(maConn.remoteAddr)
        return true
      },
      denyOutboundEncryptedConnection: (peer) => options.refusePeer?.(peer) === true
    },
    services: {
      ...reachabilityServices(n, responders, candidates),
      // Where peers saw this node on its listening port, for `status` and `doctor`.
      punchCandidates: () => candidates,
      identify: identify(),
      ping: ping(),
      dht: kadDHT({
        protocol: DHT_PROTOCOL,
        clientMode: false,
        peerInfoMapper: n.privateAddresses ? passthroughMapper : removePrivateAddressesMapper,
        // kad-dht's reprovider is what drops the records this node holds for others once they
        // expire (until then they are served), every `interval`. It would also announce this
        // node's own records again, one lookup per root, once one is older than `validity`
        // (threshold 0: not before); PeerLink's reprovider renews them every round, so none
        // gets that old, and announces them itself (routing/reprovider.ts).
        // (`providers.provideValidity` is not read by kad-dht 16.)
        reprovide: { validity: options.provideValidity, interval: options.recordCleanupInterval, threshold: 0 }
      })
    }
  })
  // Started once the gate counts connections, so it misses none.
  options.gate?.watch(node)
  try {
    await node.start()
    // libp2p writes this node's own addresses into its peer store a second after it starts
    // listening (debounced), and kad-dht names this node to whoever asks for its records from
    // there: a node asked within that second named itself with no address, so not at all.
    const self = `/p2p/${node.peerId.toString()}`
    await node.peerStore.patch(node.peerId, { multiaddrs: node.getMultiaddrs().map(a => a.toString().endsWith(self) ? a.decapsulate(self) : a) })
  } catch (err) {
    await Promise.resolve(node.stop()).catch(() => {})
    throw err
  }
  return node
}
