// The web page: its assets (built by scripts/build-ui.mjs into dist/ui/) under /ui/, the login
// that trades a one-time code from `peerlink ui` for a session cookie, and the node summary
// the page polls. The assets and the login are public (UI_PREFIX in hooks.ts); the code and
// the summary are API calls like any other.
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { PeerLinkNode } from '../../node/peerlink.js'
import { InvalidArgumentError } from '../../errors.js'
import { sessionCookie, UI_PREFIX } from '../hooks.js'
import { object } from '../schemas.js'
import { API_PREFIX } from '../shapes.js'
import type { LoginCode, UiSessions } from '../ui-sessions.js'

/** dist/ui/, from both src/api/routes/ (tests under tsx) and dist/api/routes/. */
const ASSETS = fileURLToPath(new URL('../../../dist/ui/', import.meta.url))

// The page loads only its own script and style; the QR code is inline SVG.
const CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

export interface UiRouteDeps { node: PeerLinkNode, sessions: UiSessions, assets?: string }

export async function uiRoutes (app: FastifyInstance, { node, sessions, assets = ASSETS }: UiRouteDeps): Promise<void> {
  // Only the token's holder mints login codes: a page session cannot extend itself that way.
  app.post(`${API_PREFIX}/ui/code`, async (req): Promise<LoginCode> => {
    if (req.viaSession) throw new InvalidArgumentError('a login code is asked for with the API token (`peerlink ui`), not from the page')
    return sessions.issueCode()
  })

  app.get<{ Querystring: { code?: string } }>(`${UI_PREFIX}/login`, {
    schema: { querystring: object({ code: { type: 'string', maxLength: 128 } }) }
  }, async (req, reply) => {
    const id = sessions.redeem(req.query.code ?? '')
    // The URL held a secret: it is not cached, and not passed on as a referrer.
    void reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer')
    if (id === undefined) return await loginRefused(reply)
    void reply.setCookie(sessionCookie(req), id, { httpOnly: true, sameSite: 'strict', path: '/' })
    return await reply.redirect(`${UI_PREFIX}/`)
  })

  app.get(UI_PREFIX, async (_req, reply) => await reply.redirect(`${UI_PREFIX}/`))

  if (!existsSync(`${assets}/index.html`)) {
    app.get(`${UI_PREFIX}/*`, async (_req: FastifyRequest, reply: FastifyReply) =>
      await page(reply, 503, 'Not built', 'The web page is not built: run <code>npm run build</code> in the PeerLink checkout.'))
    return
  }
  await app.register(fastifyStatic, {
    root: assets,
    prefix: `${UI_PREFIX}/`,
    setHeaders: (reply) => {
      void reply.header('content-security-policy', CSP).header('x-content-type-options', 'nosniff')
    }
  })
}

async function loginRefused (reply: FastifyReply): Promise<FastifyReply> {
  return await page(reply, 401, 'Login refused',
    'This login link is wrong, expired (it is good for 60 seconds) or used already (it is good once). ' +
    'Run <code>peerlink ui</code> again for a new one.')
}

async function page (reply: FastifyReply, status: number, title: string, body: string): Promise<FastifyReply> {
  return await reply.code(status).type('text/html; charset=utf-8').header('content-security-policy', CSP)
    .send(`<!doctype html><html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>PeerLink: ${title}</title><h1>${title}</h1><p>${body}</p></html>`)
}
