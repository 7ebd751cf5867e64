// Storage on other peers: spread a pinned file over the peers that offer space, and how a
// spread root stands (per stripe the live holders and their blocks).
import type { FastifyInstance } from 'fastify'
import { parseCid } from '../../node/cid.js'
import { cidParams, count, countOf, object, text, type CidParams, type Count, type RouteDeps } from '../schemas.js'

export async function storageRoutes (app: FastifyInstance, { node }: RouteDeps): Promise<void> {
  app.post<{ Body: { cid: string, lease?: Count } }>('/spread', { schema: { body: object({ cid: text, lease: count }, ['cid']) } }, async (req) =>
    await node.spread(parseCid(req.body.cid), { lease: countOf(req.body.lease), signal: req.callSignal }))

  app.get<{ Params: CidParams }>('/health/:cid', { schema: { params: cidParams } }, async (req) =>
    await node.spreadStatus(parseCid(req.params.cid), { signal: req.callSignal }))
}
