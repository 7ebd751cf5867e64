// Bandwidth over the last minutes for the page's Node tab: the bytes this node's exchange
// served in each 5 s of the last five minutes, from a ring the daemon fills as it runs.
import type { FastifyInstance } from 'fastify'
import { SAMPLE_INTERVAL, SampleRing } from '../sample-ring.js'
import type { RouteDeps } from '../schemas.js'

export interface BandwidthOut {
  /** Milliseconds each sample covers. */
  intervalMs: number
  /** Bytes served to peers per interval, oldest first (at most five minutes of them). */
  sent: number[]
}

export async function bandwidthRoutes (app: FastifyInstance, { node }: RouteDeps): Promise<void> {
  // A node without a network (the API's tests run one) has served nothing.
  const sent = new SampleRing(() => node.online ? node.network.server.stats.bytesSent : 0)
  sent.sample()
  const timer = setInterval(() => { sent.sample() }, SAMPLE_INTERVAL)
  timer.unref()
  app.addHook('onClose', async () => { clearInterval(timer) })
  app.get('/bandwidth', async (): Promise<BandwidthOut> => ({ intervalMs: SAMPLE_INTERVAL, sent: sent.list() }))
}
