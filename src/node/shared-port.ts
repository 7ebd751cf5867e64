// TCP that dials from the port it listens on, the precondition of TCP hole punching. A NAT that
// keeps source ports maps the listening port to the same outside port for every flow that
// leaves from it, so the address a peer observes on such a connection is the one a punched
// connection must reach, and a SYN leaving from it opens the router for the peer's SYN coming
// back. Node 20's `net` cannot bind an outgoing socket to a port a server listens on (that
// takes SO_REUSEPORT on both), so the addon makes the socket (native/src/socket.cc) and
// @libp2p/tcp connects it: its dial passes its options on to net.connect, `fd` among them.
// The listening socket is given SO_REUSEPORT once it listens. Without the addon, or where a
// bind or connect from the shared port fails (the same peer's address already connected from
// it, a reset), a dial leaves from an ephemeral port as before.
import type { Connection, CreateListenerOptions, DialTransportOptions, Listener, MultiaddrConnection, Transport, UpgraderOptions } from '@libp2p/interface'
import { tcp, type TCPOptions } from '@libp2p/tcp'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Server } from 'node:net'
import { lazily, loadAddon } from '../native.js'
import { overriding } from './overriding.js'

/**
 * Which dials leave from the listening port: `public` ones (to addresses outside the private
 * and loopback ranges: a punch or a NAT's mapping matters only there), `all`, or none.
 */
export type SharedPortPolicy = 'public' | 'all' | 'off'

interface SocketBinding {
  bindShared: (ip: string, port: number) => number
  shareBound: (fd: number) => void
}

const binding = lazily((): SocketBinding | undefined => {
  try {
    const b = loadAddon() as unknown as Partial<SocketBinding>
    return typeof b.bindShared === 'function' && typeof b.shareBound === 'function' ? b as SocketBinding : undefined
  } catch {
    return undefined
  }
})

/**
 * The errors of a connect from the shared port after which an ephemeral port is tried: the
 * four addresses in use (a connection to the same address from the shared port), or met by a
 * reset (a restarted node dialling a peer that still holds its end of the old connection).
 */
const TRY_EPHEMERAL = new Set(['EADDRNOTAVAIL', 'EADDRINUSE', 'ECONNRESET'])

/**
 * The listening socket of a @libp2p/tcp listener: it keeps its net.Server as `server`, and
 * Node's TCP handle knows its descriptor. Undefined when either is not there.
 */
function listeningSocket (listener: Listener): { fd: number, family: 'ip4' | 'ip6', ip: string, port: number } | undefined {
  const server = (listener as unknown as { server?: Server & { _handle?: { fd?: unknown } } }).server
  const fd = server?._handle?.fd
  const a = server?.address()
  if (typeof fd !== 'number' || fd < 0 || a == null || typeof a === 'string') return undefined
  return { fd, family: a.family === 'IPv6' ? 'ip6' : 'ip4', ip: a.address, port: a.port }
}

/**
 * Dial options whose connection, once connected, runs the upgrade as the side that was dialled:
 * multistream-select's listener, Noise's responder (the upgrader's `initiator: false`) and
 * Yamux's server, which takes its role from the raw connection's direction.
 */
function asResponder (options: DialTransportOptions): DialTransportOptions {
  const upgrader = options.upgrader
  return {
    ...options,
    upgrader: overriding(upgrader, {
      upgradeOutbound: async (maConn: MultiaddrConnection, opts: UpgraderOptions) => {
        maConn.direction = 'inbound'
        return await upgrader.upgradeOutbound(maConn, { ...opts, initiator: false })
      }
    })
  }
}

function isLoopback (ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1' || ip.startsWith('::ffff:127.')
}

/** `ip4`/`ip6`, the IP and the port of a TCP multiaddr, or undefined for any other. */
export function tcpTarget (ma: Multiaddr): { family: 'ip4' | 'ip6', ip: string, port: string } | undefined {
  const [first, second] = ma.getComponents()
  if ((first?.name !== 'ip4' && first?.name !== 'ip6') || second?.name !== 'tcp' || first.value === undefined || second.value === undefined) return undefined
  return { family: first.name, ip: first.value, port: second.value }
}

/** The peer a multiaddr names last (`/p2p/<id>`), or undefined. */
export function peerOf (ma: Multiaddr): string | undefined {
  return ma.getComponents().findLast(c => c.name === 'p2p')?.value
}

/**
 * @libp2p/tcp whose dials (those `policy` picks, to a family it listens on) leave from its
 * listening port. `isPublic` tells a public address from a private one (reachability.ts).
 */
export function sharedPortTcp (init: TCPOptions, policy: SharedPortPolicy, isPublic: (ma: Multiaddr) => boolean, responders?: Set<string>): (components: any) => Transport {
  return (components) => {
    const inner = tcp(init)(components) as Transport
    const sockets = binding()
    if (policy === 'off' || sockets === undefined) return inner
    const log = components.logger.forComponent('peerlink:shared-port')
    /** Per family, the address and port of the shared listening socket. */
    const shared = new Map<'ip4' | 'ip6', { ip: string, port: number }>()

    const createListener = inner.createListener.bind(inner)
    inner.createListener = (options: CreateListenerOptions): Listener => {
      const listener = createListener(options)
      let mine: 'ip4' | 'ip6' | undefined
      listener.addEventListener('listening', () => {
        const socket = listeningSocket(listener)
        // A socket on loopback cannot reach a public address: nothing would dial from its port.
        if (socket === undefined || shared.has(socket.family) || (policy === 'public' && isLoopback(socket.ip))) return
        try {
          sockets.shareBound(socket.fd)
        } catch (err) {
          log.error('the listening socket cannot share its port - %e', err)
          return
        }
        mine = socket.family
        shared.set(mine, { ip: socket.ip, port: socket.port })
      })
      listener.addEventListener('close', () => { if (mine !== undefined) shared.delete(mine) })
      return listener
    }

    const dial = inner.dial.bind(inner)
    inner.dial = async (ma: Multiaddr, options: DialTransportOptions): Promise<Connection> => {
      // A hole punch's dial that runs its handshake as the responder (reachability.ts, Responders).
      const peer = peerOf(ma)
      if (peer !== undefined && responders?.has(peer) === true) options = asResponder(options)
      const target = tcpTarget(ma)
      const from = target === undefined ? undefined : shared.get(target.family)
      if (from === undefined || options.signal?.aborted === true || (policy === 'public' && !isPublic(ma))) return await dial(ma, options)
      let fd: number
      try {
        fd = sockets.bindShared(from.ip, from.port)
      } catch (err) {
        log('no shared-port socket for %a - %e', ma, err)
        return await dial(ma, options)
      }
      try {
        // net.connect(options) adopts the bound socket (new net.Socket({ fd })) and connects it.
        return await dial(ma, { ...options, fd } as DialTransportOptions)
      } catch (err) {
        if (!TRY_EPHEMERAL.has((err as { code?: string }).code ?? '')) throw err
        log('%a cannot be dialled from the shared port (%s), dialling from another', ma, (err as { code?: string }).code)
        return await dial(ma, options)
      }
    }
    return inner
  }
}
