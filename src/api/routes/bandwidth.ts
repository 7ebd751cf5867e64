// Bandwidth over the last minutes for the page's Node tab: the bytes this node's exchange
// served, and those it fetched, in each 5 s of the last five minutes, from rings the daemon
// fills as it runs.
import type { FastifyInstance } from 'fastify'
import { EXCHANGE_PROTOCOL } from '../../exchange/constants.js'
import type { PeerLinkNode } from '../../node/peerlink.js'
import { SAMPLE_INTERVAL, SampleRing } from '../sample-ring.js'
import type { RouteDeps } from '../schemas.js'

export interface BandwidthOut {
  /** Milliseconds each sample covers. */
  intervalMs: number
  /** Bytes served to peers per interval, oldest first (at most five minutes of them). */
  sent: number[]
  /** Bytes the exchange received from peers per interval (blocks fetched, with their framing), alike. */
  received: number[]
}

export async function bandwidthRoutes (app: FastifyInstance, { node }: RouteDeps): Promise<void> {
  // A node without a network (the API's tests run one) has served nothing.
  const sent = new SampleRing(() => node.online ? node.network.server.stats.bytesSent : 0)
  let receivedNow = 0
  const received = new SampleRing(() => receivedNow)
  const sample = async (): Promise<void> => {
    receivedNow = await exchangeReceived(node).catch(() => receivedNow)
    sent.sample()
    received.sample()
  }
  await sample()
  const timer = setInterval(() => { void sample() }, SAMPLE_INTERVAL)
  timer.unref()
  app.addHook('onClose', async () => { clearInterval(timer) })
  app.get('/bandwidth', async (): Promise<BandwidthOut> => ({ intervalMs: SAMPLE_INTERVAL, sent: sent.list(), received: received.list() }))
}

/**
 * Bytes that came in on exchange streams so far, as libp2p's metrics count them per protocol
 * (the fetch side's own figure counts only fetches that completed, at their end). 0 on a
 * node that keeps no metrics.
 */
async function exchangeReceived (node: PeerLinkNode): Promise<number> {
  const metric = node.online ? node.network.metrics?.registry.getSingleMetric('libp2p_data_transfer_bytes_total') : undefined
  if (metric === undefined) return 0
  const { values } = await metric.get()
  return values.find(v => v.labels.protocol === `${EXCHANGE_PROTOCOL} received`)?.value ?? 0
}
