// This node's shares and who received them: every pinned root with its receivers (fetching,
// or completed with the receipt they sent), and the same as server-sent events, so a page
// sees a receiver finish as it happens. Receivers come from share-records.ts (kept in the repo across restarts).
import { PassThrough } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { parseCid } from '../../node/cid.js'
import type { PeerLinkNode } from '../../node/peerlink.js'
import type { ReceiverRecord, ShareEvent } from '../../exchange/share-records.js'
import type { RouteDeps } from '../schemas.js'
import type { PinOut } from '../shapes.js'

/** A share: a pinned root, and the peers that fetched it from this node (the latest last). */
export interface ShareStatusOut extends PinOut { receivers: ReceiverRecord[] }

/** One receiver's change, as the event stream sends it (`event: receiver`). */
export type ShareEventOut = ShareEvent

/** A comment line this often keeps proxies and the browser from taking the stream for dead. */
const HEARTBEAT_MS = 15_000

/** Event streams open at once; a newer one ends the oldest (its page reconnects). */
const MAX_EVENT_STREAMS = 16

/** Bytes an event stream may hold unsent: a client that reads nothing is cut off, not buffered for. */
const MAX_UNSENT = 1024 * 1024

/** Events waiting for their root's pin check, per stream. */
const MAX_PENDING_EVENTS = 1024

export async function shareRoutes (app: FastifyInstance, { node }: RouteDeps): Promise<void> {
  const open = new Set<() => void>()

  app.get('/shares', async (): Promise<ShareStatusOut[]> => await sharesOf(node))

  // The first event is the whole list (`shares`), then one `receiver` event per change, so a
  // client that reconnects is in step again without asking anything else.
  app.get('/shares/events', async (req, reply) => {
    const out = new PassThrough()
    let pending = 0
    let chain = Promise.resolve()
    const write = (text: string): void => {
      if (out.writableEnded || out.destroyed) return
      if (out.writableLength > MAX_UNSENT) { end(); return }
      out.write(text)
    }
    // Only a pinned root's receivers are sent (a peer may name any root in its requests), in
    // the order they changed.
    const onEvent = (event: ShareEvent): void => {
      if (++pending > MAX_PENDING_EVENTS) { end(); return }
      chain = chain.then(async () => {
        if (await node.blockstore.isPinned(parseCid(event.root)).catch(() => false)) write(eventText('receiver', event))
      }).finally(() => { pending-- })
    }
    const unsubscribe = node.network.shares.subscribe(onEvent)
    const beat = setInterval(() => { write(': heartbeat\n\n') }, HEARTBEAT_MS)
    const end = (): void => {
      clearInterval(beat)
      unsubscribe()
      open.delete(end)
      req.callSignal.removeEventListener('abort', end)
      out.end()
    }
    req.callSignal.addEventListener('abort', end, { once: true })
    open.add(end)
    if (open.size > MAX_EVENT_STREAMS) [...open][0]()
    write('retry: 1000\n' + eventText('shares', await sharesOf(node)))
    return await reply.type('text/event-stream').header('cache-control', 'no-store').send(out)
  })
}

/** Every pinned root, newest first as `ls` lists them, with its receivers. */
async function sharesOf (node: PeerLinkNode): Promise<ShareStatusOut[]> {
  const receivers = new Map(node.network.shares.list().map(s => [s.root, s.receivers]))
  return (await node.ls()).map(p => ({ ...p, cid: p.cid.toString(), receivers: receivers.get(p.cid.toString()) ?? [] }))
}

function eventText (event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`
}
