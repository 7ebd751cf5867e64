// The web page in real Chromium, the Share tab's folders and private shares: A's page shares a
// folder picked with the directory input, B's page receives it and saves a file from inside it
// (and B's gateway serves the same file by `<cid>/path`); B's Node tab then shows what it
// fetched. A third daemon, C, restarted under A's page: the page says it is logged out and how
// to log in again; C's config makes shares private by default, so its page's Private box
// starts ticked, and B's page receives the private file and saves its plaintext.
// Screenshots of each step go to test/.artifacts/ui/.
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'chai'
import type { BrowserContext, Page } from 'playwright-core'
import { startDaemonProcess, stopDaemonProcess, type DaemonProcess } from '../helpers/cli.js'
import { loginUrl, shot, uiFixture, type UiFixture } from './browser.js'

describe('the web page: folders, private shares, a restarted daemon (Chromium)', function () {
  this.timeout(180_000)
  let ui: UiFixture | undefined
  let dir: UiFixture['dir']
  let daemons: DaemonProcess[]
  let context: BrowserContext

  before(async function () {
    ui = await uiFixture(this, 'peerlink-ui-more-')
    ;({ dir, daemons, context } = ui)
  })

  after(async () => { await ui?.close() })

  /** B's page with the link fetched, once the fetch is done. */
  async function receiveOnB (link: string): Promise<Page> {
    const page = await context.newPage()
    await page.goto(await loginUrl(daemons[1]))
    await page.getByRole('tab', { name: 'Receive' }).click()
    await page.getByLabel('Share link or CID').fill(link)
    await page.getByRole('button', { name: 'Fetch' }).click()
    await page.locator('#receive-done').waitFor()
    return page
  }

  async function saveFrom (page: Page, button: string, as: string): Promise<Buffer> {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: button, exact: true }).click()])
    const saved = join(dir.path, as)
    await download.saveAs(saved)
    return await readFile(saved)
  }

  it('shares a folder with its tree; B receives it, saves a file inside, and its gateway serves <cid>/path', async () => {
    const [a, b] = daemons
    const folder = join(dir.path, 'trip photos')
    await mkdir(join(folder, 'day 2', 'evening'), { recursive: true })
    const files = { 'beach.bin': randomBytes(300_000), 'day 2/evening/fire.bin': randomBytes(1_500_000 + 13), 'notes.txt': Buffer.from('sunny\n') }
    for (const [path, bytes] of Object.entries(files)) await writeFile(join(folder, path), bytes)

    const pageA = await context.newPage()
    await pageA.goto(await loginUrl(a))
    await pageA.getByLabel('A folder', { exact: true }).setInputFiles(folder)
    await pageA.locator('#share-done').waitFor()
    expect(await pageA.locator('#share-done').textContent()).to.include('the folder trip photos (3 files')
    const link = await pageA.locator('#share-link').inputValue()
    expect(link).to.match(/^peerlink:/).and.not.include('#k=')
    await shot(pageA, '8-a-folder-shared')

    const pageB = await receiveOnB(link)
    await pageB.locator('#receive-files li').nth(2).waitFor()
    const listed = await pageB.locator('#receive-files li button').allTextContents()
    expect(listed.map(t => t.replace(/^Save /, '')).sort()).to.deep.equal(Object.keys(files).sort())
    await shot(pageB, '9-b-folder-received')
    expect((await saveFrom(pageB, 'Save day 2/evening/fire.bin', 'fire.bin')).equals(files['day 2/evening/fire.bin'])).to.equal(true)
    expect((await saveFrom(pageB, 'Save notes.txt', 'notes.txt')).equals(files['notes.txt'])).to.equal(true)

    const cid = await pageB.locator('#receive-done').getAttribute('data-cid')
    const res = await fetch(`http://${b.info.gateway ?? ''}/ipfs/${cid ?? ''}/day%202/evening/fire.bin`)
    expect(res.status, await res.clone().text()).to.equal(200)
    expect(Buffer.from(await res.arrayBuffer()).equals(files['day 2/evening/fire.bin'])).to.equal(true)

    // B's Node tab: what B fetched shows beside what it served (a sample every 5 s).
    await pageB.getByRole('tab', { name: 'Node' }).click()
    await pageB.locator('#node-bandwidth figcaption', { hasText: /Fetched (1\.[5-9]|[2-9]\.\d) MiB/ }).waitFor({ timeout: 20_000 })
    expect(await pageB.locator('#node-bandwidth polyline.received').count()).to.equal(1)
    await shot(pageB, '10-b-node-fetched')

    // A file dropped on the Share tab goes too (a drop a script makes has no folder entries).
    await pageA.evaluate(`(() => {
      const dt = new DataTransfer()
      dt.items.add(new File(['dropped bytes'], 'dropped.txt'))
      document.querySelector('.drop').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }))
    })()`)
    await pageA.locator('#share-done', { hasText: 'dropped.txt (13 B)' }).waitFor()
    await pageA.close()
    await pageB.close()
  })

  it('says it is logged out after its daemon restarts; logged in again, shares privately by default and B saves the plaintext', async () => {
    const c = await startDaemonProcess(join(dir.path, 'c'), { bootstrap: daemons[0].dialable })
    daemons.push(c)
    const page = await context.newPage()
    await page.goto(await loginUrl(c))
    await page.getByRole('tab', { name: 'Share', exact: true }).waitFor()
    await page.locator('#share-private:not(:checked)').waitFor()

    // Restarted on the same API address (the page's origin), with shares private by default.
    await stopDaemonProcess(c)
    const configPath = join(c.repo, 'config.json')
    const config = JSON.parse(await readFile(configPath, 'utf8')) as { api: { address: string }, import: { private: boolean } }
    config.api.address = c.info.address
    config.import.private = true
    await writeFile(configPath, JSON.stringify(config))
    const c2 = await startDaemonProcess(c.repo)
    daemons[daemons.indexOf(c)] = c2
    expect(c2.info.address).to.equal(c.info.address)
    // The page finds out by itself: its event stream reconnects and is refused.
    const lost = page.locator('#login-lost')
    await lost.waitFor({ timeout: 30_000 })
    expect(await lost.textContent()).to.match(/Logged out.*restarted.*peerlink ui/)
    await shot(page, '11-c-logged-out')

    await page.goto(await loginUrl(c2))
    const box = page.locator('#share-private')
    await page.locator('#share-private:checked').waitFor()
    const secret = Buffer.concat([Buffer.from('a private marker line\n'), randomBytes(700_000)])
    await page.getByLabel('A file', { exact: true }).setInputFiles({ name: 'diary.bin', mimeType: 'application/octet-stream', buffer: secret })
    await page.locator('#share-done').waitFor()
    expect(await box.isChecked()).to.equal(true)
    const link = await page.locator('#share-link').inputValue()
    expect(link).to.match(/^peerlink:[^#]+#k=[\w-]{43}$/)
    await page.locator('#share-key-note').waitFor()
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(page.url()).origin })
    await page.getByRole('button', { name: 'Copy' }).click()
    expect(await page.evaluate('navigator.clipboard.readText()')).to.equal(link)
    await shot(page, '12-c-private-shared')

    const pageB = await receiveOnB(link)
    await shot(pageB, '13-b-private-received')
    expect((await saveFrom(pageB, 'Save diary.bin', 'diary.bin')).equals(secret)).to.equal(true)
    // Without its key, B holds the ciphertext, and saving it is refused on the page.
    await pageB.getByLabel('Share link or CID').fill(link.slice(0, link.indexOf('#')))
    await pageB.getByRole('button', { name: 'Fetch' }).click()
    await pageB.locator('#receive-done').waitFor()
    await pageB.locator('#receive-save').click()
    await pageB.getByRole('alert').filter({ hasText: 'this root is private' }).waitFor()
    await shot(pageB, '14-b-no-key-refused')
    await page.close()
    await pageB.close()
  })
})
