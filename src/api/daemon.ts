// The daemon: a node on the repo with its network started and the HTTP API in front of it.
// It writes api.json (address and pid) so the CLI finds it, logs through pino, and on
// SIGINT/SIGTERM stops taking calls, cancels what is in flight, stops the node (the
// blockstore's pending writes finish before LevelDB closes) and removes api.json.
import { rm } from 'node:fs/promises'
import pino, { type Logger } from 'pino'
import { DaemonStoppingError, InvalidArgumentError } from '../errors.js'
import { reclaimAfterLoad } from '../node/heap.js'
import { PeerLinkNode } from '../node/peerlink.js'
import { readToken, repoPaths, writeWhole, type NetworkConfig } from '../repo/repo.js'
import { GATEWAY_OFF } from '../repo/config.js'
import { startGateway } from './gateway.js'
import { startApi, type ApiServer } from './server.js'

/** `gateway`: the HTTP gateway's address, when it runs. */
export interface DaemonInfo { address: string, pid: number, peerId: string, addresses: string[], gateway?: string }

export interface Daemon {
  info: DaemonInfo
  node: PeerLinkNode
  stop: () => Promise<void>
}

export function createLogger (level = process.env.PEERLINK_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { pid: process.pid } }, pino.destination(2))
}

export interface DaemonOptions {
  logger?: Logger
  /** host:port for the API instead of config.json's api.address (this run only). */
  apiAddress?: string
  /** The network config instead of config.json's (this run only; `daemon --listen`). */
  network?: NetworkConfig
}

export async function startDaemon (repo: string, options: DaemonOptions = {}): Promise<Daemon> {
  const log = options.logger ?? createLogger()
  const node = await PeerLinkNode.open(repo, { network: true, networkInit: { metrics: true, ...(options.network !== undefined ? { network: options.network } : {}) } })
  const shutdown = new AbortController()
  let api
  try {
    api = await startApi({ node, token: await readToken(repo), address: options.apiAddress ?? node.config.api.address, uploadLimit: node.config.api.uploadLimit, logger: log, signal: shutdown.signal })
  } catch (err) {
    await node.stop()
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      const address = options.apiAddress ?? node.config.api.address
      throw new InvalidArgumentError(`cannot serve the API on ${address}: the address is in use (another daemon? use daemon --api <host:port> for this run, or peerlink config set api.address <host:port>)`)
    }
    throw err
  }
  const gateway = await startGatewayOrWarn(node, log, shutdown.signal)
  const info: DaemonInfo = {
    address: api.address,
    ...(gateway !== undefined ? { gateway: gateway.address } : {}),
    pid: process.pid,
    peerId: node.network.peerId.toString(),
    addresses: node.network.addresses().map(a => a.toString())
  }
  // Written whole under another name and renamed: a reader never sees half a file.
  await writeWhole(repoPaths(repo).api, JSON.stringify(info, null, 2) + '\n', 'replace')
  log.info({ peerId: info.peerId, api: info.address, gateway: info.gateway, listen: info.addresses }, 'daemon started')
  const served = node.network.server.stats
  const stopReclaim = reclaimAfterLoad(() => `${served.streams} ${served.bytesSent} ${served.openStreams}`)
  let stopping: Promise<void> | undefined
  const stop = async (): Promise<void> => {
    stopping ??= (async () => {
      log.info('daemon stopping')
      stopReclaim()
      shutdown.abort(new DaemonStoppingError())
      await rm(repoPaths(repo).api, { force: true })
      await api.close()
      await gateway?.close()
      await node.stop()
      log.info('daemon stopped')
    })()
    await stopping
  }
  return { info, node, stop }
}

/**
 * The gateway on config's gateway.address, unless "off". An address it cannot listen on (in
 * use by a second daemon on one machine keeping the default, say) costs only the gateway, with
 * a warning: the node and its API are what the daemon is for.
 */
async function startGatewayOrWarn (node: PeerLinkNode, log: Logger, signal: AbortSignal): Promise<ApiServer | undefined> {
  const address = node.config.gateway.address
  if (address === GATEWAY_OFF) return undefined
  try {
    return await startGateway({ node, address, logger: log, signal })
  } catch (err) {
    log.warn(`no HTTP gateway: cannot listen on ${address}: ${(err as Error).message} (peerlink config set gateway.address <host:port>, or off)`)
    return undefined
  }
}
