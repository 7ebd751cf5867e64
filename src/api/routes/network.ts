// The network: this node's identity and peers, dialing, announcing roots, finding providers,
// share tickets.
import type { FastifyInstance } from 'fastify'
import { parseCid } from '../../node/cid.js'
import { cidParams, count, countOf, object, text, type CidParams, type Count, type RouteDeps } from '../schemas.js'
import { dhtTableSize } from '../../node/network.js'
import { reachability } from '../../node/reachability.js'
import { providersOut, type IdOut, type PeerOut, type StatusOut } from '../shapes.js'

export async function networkRoutes (app: FastifyInstance, { node }: RouteDeps): Promise<void> {
  app.get('/id', async (): Promise<IdOut> => ({
    peerId: node.network.peerId.toString(),
    addresses: node.network.addresses().map(a => a.toString())
  }))

  app.get('/peers', async (): Promise<PeerOut[]> => node.network.peers())

  app.get('/status', async (): Promise<StatusOut> => ({
    peerId: node.network.peerId.toString(),
    listen: node.network.listenAddresses().map(a => a.toString()),
    announced: node.network.addresses().map(a => a.toString()),
    peers: node.network.host.getPeers().length,
    connections: await node.network.peers(),
    reachability: reachability(node.network.addresses()),
    observed: node.network.host.services.punchCandidates.list(Date.now()),
    dhtPeers: dhtTableSize(node.network.host),
    usage: await node.usage(),
    quota: node.config.storage.quota,
    offer: node.config.storage.offer,
    importPrivate: node.config.import.private
  }))

  app.post<{ Body: { addr: string } }>('/connect', { schema: { body: object({ addr: text }, ['addr']) } }, async (req) =>
    await node.network.connect(req.body.addr, { signal: req.callSignal }))

  app.post<{ Body: { cid: string } }>('/provide', { schema: { body: object({ cid: text }, ['cid']) } }, async (req) => {
    const cid = parseCid(req.body.cid)
    const r = await node.provide(cid, { signal: req.callSignal })
    return { cid: cid.toString(), ms: r.ms }
  })

  app.get<{ Params: CidParams, Querystring: { timeout?: Count } }>('/providers/:cid', {
    schema: { params: cidParams, querystring: object({ timeout: count }) }
  }, async (req) => {
    const cid = parseCid(req.params.cid)
    return providersOut(await node.network.findProviders(cid, { timeout: countOf(req.query.timeout), signal: req.callSignal }))
  })

  app.get<{ Params: CidParams }>('/ticket/:cid', { schema: { params: cidParams } }, async (req) =>
    ({ ticket: await node.link(parseCid(req.params.cid)) }))
}
