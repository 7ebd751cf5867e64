// The web page in real Chromium against two real daemons on loopback: A's page shares a file,
// B's page receives it by the link read from A's page and saves it; the saved bytes are the
// file's, and A's My shares tab shows B completed within 2 s of B finishing. Also: a login
// code works once, and a state-changing call that carries the session cookie but did not come
// from the page itself is refused. Screenshots of each step go to
// test/.artifacts/ui/.
import { readFile, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { expect } from 'chai'
import type { BrowserContext } from 'playwright-core'
import { runCli, startDaemonProcess, stopDaemonProcess, type DaemonProcess } from '../helpers/cli.js'
import { randomFile } from '../helpers/network.js'
import { loginUrl, shot, uiFixture, type UiFixture } from './browser.js'

describe('the web page (Chromium)', function () {
  this.timeout(180_000)
  let ui: UiFixture | undefined
  let dir: UiFixture['dir']
  let daemons: DaemonProcess[]
  let context: BrowserContext

  before(async function () {
    ui = await uiFixture(this, 'peerlink-ui-')
    ;({ dir, daemons, context } = ui)
  })

  after(async () => { await ui?.close() })

  it('shares a file on A\'s page, receives and saves it on B\'s page, byte for byte', async () => {
    const [a, b] = daemons
    const file = await randomFile(dir.path, 'holiday photos.bin', 5 * 1024 * 1024 + 7)

    const pageA = await context.newPage()
    await pageA.goto(await loginUrl(a))
    expect(new URL(pageA.url()).pathname).to.equal('/ui/')
    await pageA.getByRole('tab', { name: 'Share', exact: true }).waitFor()
    await shot(pageA, '1-a-share')
    await pageA.setInputFiles('#share-file', file.path)
    const linkBox = pageA.locator('#share-link')
    await linkBox.waitFor()
    const link = await linkBox.inputValue()
    expect(link).to.match(/^peerlink:/)
    expect(await pageA.locator('.qr svg').count()).to.equal(1)
    await shot(pageA, '2-a-shared')
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(pageA.url()).origin })
    await pageA.getByRole('button', { name: 'Copy' }).click()
    await pageA.getByRole('button', { name: 'Copied' }).waitFor()
    // Strings, not functions: the tests are typed without the DOM.
    expect(await pageA.evaluate('navigator.clipboard.readText()')).to.equal(link)

    // A's page watches My shares while B fetches: B shows up there, completed once B is done.
    await pageA.getByRole('tab', { name: 'My shares' }).click()
    await pageA.locator('#shares-live', { hasText: 'Live' }).waitFor()
    const receiverOnA = pageA.locator('li.share', { hasText: 'holiday photos.bin' }).locator(`li.receiver[data-peer="${b.info.peerId}"]`)

    const pageB = await context.newPage()
    await pageB.goto(await loginUrl(b))
    // Keyboard: the arrow keys move between the tabs.
    await pageB.getByRole('tab', { name: 'Share', exact: true }).focus()
    await pageB.keyboard.press('ArrowRight')
    expect(await pageB.getByRole('tab', { name: 'Receive' }).getAttribute('aria-selected')).to.equal('true')
    expect(await pageB.evaluate('document.activeElement.id')).to.equal('tab-receive')
    await pageB.getByLabel('Share link or CID').fill(link)
    await shot(pageB, '3-b-link-pasted')
    await pageB.getByRole('button', { name: 'Fetch' }).click()
    const save = pageB.locator('#receive-save')
    await save.waitFor()
    expect(await pageB.locator('#receive-done').textContent()).to.include('holiday photos.bin')
    const finished = Date.now()
    await receiverOnA.and(pageA.locator('[data-state="completed"]')).waitFor({ timeout: 2000 })
    expect(Date.now() - finished).to.be.below(2000)
    expect(await receiverOnA.textContent()).to.match(/completed at/)
    await shot(pageB, '4-b-received')
    await shot(pageA, '4-a-receiver-completed')

    const [download] = await Promise.all([pageB.waitForEvent('download'), save.click()])
    expect(download.suggestedFilename()).to.equal('holiday photos.bin')
    const saved = join(dir.path, 'saved.bin')
    await download.saveAs(saved)
    expect((await readFile(saved)).equals(file.bytes)).to.equal(true)

    // A's Node tab lists B among its peers.
    await pageA.getByRole('tab', { name: 'Node' }).click()
    await pageA.locator('#node-peer-id').waitFor()
    expect(await pageA.locator('#node-peer-id').textContent()).to.equal(a.info.peerId)
    // The sparkline of what A served: B's 5 MiB shows within a sample or two (one every 5 s).
    await pageA.locator('#node-bandwidth figcaption', { hasText: /Served [1-9]/ }).waitFor({ timeout: 20_000 })
    await shot(pageA, '5-a-node')
    await pageA.setViewportSize({ width: 390, height: 844 })
    await pageA.getByRole('tab', { name: 'Share', exact: true }).click()
    await shot(pageA, '6-a-phone-width')
    // At phone width nothing runs off the side, on any tab; every control has a name.
    for (const tab of ['Share', 'Receive', 'My shares', 'Node']) {
      await pageA.getByRole('tab', { name: tab, exact: true }).click()
      expect(await pageA.evaluate('document.documentElement.scrollWidth'), tab).to.be.at.most(390)
    }
    await shot(pageA, '6-a-phone-width-node')
    const unnamed = "[...document.querySelectorAll('input, button, progress, select, textarea')].filter(e => (e.labels?.length ?? 0) === 0 && !e.getAttribute('aria-label') && e.textContent.trim() === '').map(e => e.outerHTML)"
    expect(await pageA.evaluate(unnamed)).to.deep.equal([])
    await pageA.close()
    await pageB.close()
  })

  it('My shares catches up by itself after its event stream is cut, with no reload', async () => {
    const [a] = daemons
    const page = await context.newPage()
    await page.goto(await loginUrl(a))
    await page.getByRole('tab', { name: 'My shares' }).click()
    await page.locator('#shares-live', { hasText: 'Live' }).waitFor()
    const token = (await readFile(join(a.repo, 'api.token'), 'utf8')).trim()
    const api = `http://${a.info.address}/api/v1`
    // The page cannot reconnect while this holds; the daemon ends the oldest of too many
    // streams, so 16 more cut the page's.
    await page.route('**/api/v1/shares/events', async (route) => { await route.abort() })
    const cutters = new AbortController()
    const streams = await Promise.all(Array.from({ length: 16 }, async () =>
      await fetch(`${api}/shares/events`, { headers: { authorization: `Bearer ${token}` }, signal: cutters.signal })))
    try {
      await page.locator('#shares-live', { hasText: 'reconnecting' }).waitFor()
      // Shared while the page is cut off: no event reaches it, only the next stream's first list.
      const added = await fetch(`${api}/upload?name=while-away.txt`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' }, body: 'shared while the page was cut off' })
      expect(added.status).to.equal(200)
      expect(await page.locator('li.share', { hasText: 'while-away.txt' }).count()).to.equal(0)
      await page.unroute('**/api/v1/shares/events')
      await page.locator('li.share', { hasText: 'while-away.txt' }).waitFor({ timeout: 15_000 })
      await page.locator('#shares-live', { hasText: 'Live' }).waitFor()
      // The shares shown before the cut are still there.
      expect(await page.locator('li.share', { hasText: 'holiday photos.bin' }).count()).to.equal(1)
      await shot(page, '7-a-shares-resynchronised')
    } finally {
      cutters.abort()
      for (const s of streams) await s.body?.cancel().catch(() => {})
      await page.close()
    }
  })

  it('takes a login code once: used again it is a 401 page', async () => {
    const url = await loginUrl(daemons[0])
    const first = await fetch(url, { redirect: 'manual' })
    expect(first.status).to.equal(302)
    expect(first.headers.get('set-cookie')).to.match(/HttpOnly; SameSite=Strict/)
    const again = await fetch(url, { redirect: 'manual' })
    expect(again.status).to.equal(401)
    expect(again.headers.get('set-cookie')).to.equal(null)
    expect(await again.text()).to.include('used already')
    const wrong = await fetch(url.replace(/code=.*/, 'code=' + 'x'.repeat(43)), { redirect: 'manual' })
    expect(wrong.status).to.equal(401)
    // The page's address without its slash leads to it, with no credentials.
    const bare = await fetch(new URL('/ui', url), { redirect: 'manual' })
    expect(bare.status).to.equal(302)
    expect(bare.headers.get('location')).to.equal('/ui/')
  })

  it('peerlink ui without a daemon says one is needed (exit 19)', async () => {
    const repo = join(dir.path, 'offline')
    expect((await runCli(['--repo', repo, 'init'])).code).to.equal(0)
    const r = await runCli(['--repo', repo, 'ui'])
    expect(r.code, r.stderr).to.equal(19)
    expect(r.stderr).to.include('the web page needs a running daemon')
    expect(r.stdout).to.equal('')
  })

  it('refuses a POST that carries the session cookie but did not come from the page (403)', async () => {
    const [a] = daemons
    const page = await context.newPage()
    await page.goto(await loginUrl(a))
    await page.getByRole('tab', { name: 'Share', exact: true }).waitFor()
    const origin = new URL(page.url()).origin
    // Another site's page on 127.0.0.1 (another port, another origin but the same site):
    // SameSite lets the cookie go along, so the Origin check is what refuses the call.
    const elsewhere = createServer((_req, res) => { res.end('<!doctype html><title>elsewhere</title><p>another origin') })
    await new Promise<void>((resolve) => { elsewhere.listen(0, '127.0.0.1', resolve) })
    const port = (elsewhere.address() as AddressInfo).port
    try {
      await page.goto(`http://127.0.0.1:${port}/`)
      const refused = page.waitForResponse(r => r.url() === `${origin}/api/v1/gc`)
      await page.evaluate(async (url) => { await fetch(url, { method: 'POST', mode: 'no-cors', credentials: 'include' }) }, `${origin}/api/v1/gc`)
      const res = await refused
      // 403, not 401: the cookie went along and authenticated the call, and the check refused it.
      expect(res.status()).to.equal(403)
    } finally {
      elsewhere.close()
    }

    // The cookie alone (as a form would send it) and the cookie with a foreign Origin: refused too.
    const cookie = (await context.cookies(origin)).map(c => `${c.name}=${c.value}`).join('; ')
    const plain = await fetch(`${origin}/api/v1/gc`, { method: 'POST', headers: { cookie } })
    expect(plain.status).to.equal(403)
    expect((await plain.json() as { code: string }).code).to.equal('ERR_CROSS_SITE')
    const foreign = await fetch(`${origin}/api/v1/gc`, { method: 'POST', headers: { cookie, 'x-peerlink-csrf': '1', origin: 'http://evil.example' } })
    expect(foreign.status).to.equal(403)
    // With both, the same call goes through: the refusals above were the check, not the route.
    const ok = await fetch(`${origin}/api/v1/gc`, { method: 'POST', headers: { cookie, 'x-peerlink-csrf': '1', origin } })
    expect(ok.status).to.equal(200)
    await page.close()
  })

  it('refuses an upload over api.uploadLimit, declared or not (413)', async () => {
    const d = await startDaemonProcess(join(dir.path, 'small'), { bootstrap: daemons[0].dialable })
    await stopDaemonProcess(d)
    const configPath = join(d.repo, 'config.json')
    const config = JSON.parse(await readFile(configPath, 'utf8')) as { api: { uploadLimit: number } }
    config.api.uploadLimit = 1024
    await writeFile(configPath, JSON.stringify(config))
    const small = await startDaemonProcess(d.repo)
    daemons.push(small)
    const token = (await readFile(join(d.repo, 'api.token'), 'utf8')).trim()
    const url = `http://${small.info.address}/api/v1/upload?name=big.bin`
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' }
    const declared = await fetch(url, { method: 'POST', headers, body: new Uint8Array(2048) })
    expect(declared.status).to.equal(413)
    // Chunked: no length to refuse up front, so the count stops it.
    const body = new ReadableStream<Uint8Array>({ start (c) { c.enqueue(new Uint8Array(800)); c.enqueue(new Uint8Array(800)); c.close() } })
    const streamed = await fetch(url, { method: 'POST', headers, body, duplex: 'half' } as RequestInit)
    expect(streamed.status).to.equal(413)
    expect((await streamed.json() as { code: string }).code).to.equal('ERR_UPLOAD_TOO_LARGE')
    const fits = await fetch(url, { method: 'POST', headers, body: new Uint8Array(1000) })
    expect(fits.status, await fits.clone().text()).to.equal(200)
    expect((await fits.json() as { size: number }).size).to.equal(1000)
  })
})
