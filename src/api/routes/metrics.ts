// GET /metrics: the node's metrics in Prometheus text format (node/metrics.ts), libp2p's
// included. It sits at the conventional path, outside the API's prefix, behind the same
// token as every call: a scraper sends it as a bearer credential.
import type { FastifyInstance } from 'fastify'
import { DaemonRequiredError } from '../../errors.js'
import type { RouteDeps } from '../schemas.js'

export async function metricsRoutes (app: FastifyInstance, { node }: RouteDeps): Promise<void> {
  app.get('/metrics', async (_req, reply) => {
    const metrics = node.network.metrics
    if (metrics === undefined) throw new DaemonRequiredError('metrics', node.repoPath)
    return await reply.type(metrics.registry.contentType).send(await metrics.registry.metrics())
  })
}
