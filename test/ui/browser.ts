// What the Chromium specs share: Debian's chromium driven by playwright-core, a one-time
// login URL from `peerlink ui`, and screenshots written as test artifacts.
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect } from 'chai'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { runCli, startDaemonProcess, stopDaemonProcess, type DaemonProcess } from '../helpers/cli.js'
import { tempDir } from '../helpers/repo.js'

export const CHROMIUM = '/usr/bin/chromium'
export const ARTIFACTS = fileURLToPath(new URL('../.artifacts/ui/', import.meta.url))
const PAGE_BUILT = fileURLToPath(new URL('../../dist/ui/index.html', import.meta.url))

/** Skips the suite without Chromium; fails it without the built page. */
export async function needChromium (ctx: Mocha.Context): Promise<void> {
  if (!existsSync(CHROMIUM)) {
    console.log(`      skipped: ${CHROMIUM} is absent (install Debian's chromium package)`)
    ctx.skip()
  }
  if (!existsSync(PAGE_BUILT)) throw new Error('dist/ui is not built: run `node scripts/build-ui.mjs` (npm test does)')
  await mkdir(ARTIFACTS, { recursive: true })
}

/** A browser and one profile for every page (each daemon's cookie is named after its port). */
export async function launch (): Promise<{ browser: Browser, context: BrowserContext }> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], timeout: 60_000 })
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1000, height: 800 } })
  context.setDefaultTimeout(60_000)
  return { browser, context }
}

/** A one-time login URL from `peerlink ui` on the daemon's repo. */
export async function loginUrl (d: DaemonProcess): Promise<string> {
  const r = await runCli(['--repo', d.repo, 'ui'], {}, 30_000)
  expect(r.code, r.stderr).to.equal(0)
  const url = r.stdout.trim()
  expect(url).to.match(/^http:\/\/127\.0\.0\.1:\d+\/ui\/login\?code=[\w-]{43}$/)
  return url
}

export async function shot (page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true })
}

/** Two daemons on loopback (B bootstrapped from A), a temporary directory and a browser, for a Chromium spec. */
export interface UiFixture {
  dir: { path: string, cleanup: () => Promise<void> }
  daemons: DaemonProcess[]
  context: BrowserContext
  close: () => Promise<void>
}

export async function uiFixture (ctx: Mocha.Context, prefix: string): Promise<UiFixture> {
  await needChromium(ctx)
  const dir = await tempDir(prefix)
  const daemons: DaemonProcess[] = []
  let browser: Browser | undefined
  const close = async (): Promise<void> => {
    await browser?.close()
    for (const d of daemons) await stopDaemonProcess(d)
    await dir.cleanup()
  }
  try {
    const a = await startDaemonProcess(join(dir.path, 'a'))
    daemons.push(a)
    daemons.push(await startDaemonProcess(join(dir.path, 'b'), { bootstrap: a.dialable }))
    const launched = await launch()
    browser = launched.browser
    return { dir, daemons, context: launched.context, close }
  } catch (err) {
    await close()
    throw err
  }
}
