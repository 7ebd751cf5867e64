// The repo: pins and usage, unpinning, garbage collection, verifying (and repairing) a root.
import type { FastifyInstance } from 'fastify'
import { parseCid } from '../../node/cid.js'
import { flag, object, text, type RouteDeps } from '../schemas.js'
import { pinsOut } from '../shapes.js'

export async function repoRoutes (app: FastifyInstance, { node }: RouteDeps): Promise<void> {
  app.get('/ls', async () => ({ pins: pinsOut(await node.ls()), usage: await node.usage() }))

  app.post<{ Body: { cids: string[] } }>('/rm', {
    schema: { body: object({ cids: { type: 'array', minItems: 1, items: text } }, ['cids']) }
  }, async (req) => {
    // All parsed before any is removed: one bad CID removes nothing.
    const cids = req.body.cids.map(c => parseCid(c))
    for (const c of cids) await node.rm(c)
    return { removed: cids.map(c => c.toString()) }
  })

  app.post('/gc', async (req) => await node.gc({ signal: req.callSignal }))

  app.post<{ Body: { cid: string, repair?: boolean } }>('/verify', {
    schema: { body: object({ cid: text, repair: flag }, ['cid']) }
  }, async (req) => await node.verify(parseCid(req.body.cid), { repair: req.body.repair !== false, signal: req.callSignal }))
}
