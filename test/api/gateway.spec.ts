// The HTTP gateway of real daemons on loopback, read with fetch() and no token: files whole
// and by range, HEAD, ETag and 304, directory listings, paths inside directories, single raw
// blocks, errors as plain text, and a range of a root the reading daemon lacks, fetched from
// its provider one stripe at a time.
import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'chai'
import { chromium } from 'playwright-core'
import { runCli, startDaemonProcess, stopDaemonProcess, type CliResult, type DaemonProcess } from '../helpers/cli.js'
import { randomFile } from '../helpers/network.js'
import { tempDir } from '../helpers/repo.js'

const KiB = 1024
const NASTY = '<b>&"x\'.txt'
const CHROMIUM = '/usr/bin/chromium'
/** The media file's sample rate: 8-bit mono PCM, one byte a sample. */
const RATE = 8000

/** A WAV file of `seconds` of noise: no video encoder is at hand, and Chromium's media stack reads a WAV by ranges as it reads a video. */
function wav (seconds: number): Buffer {
  const data = Buffer.alloc(seconds * RATE)
  for (let i = 0; i < data.length; i++) data[i] = 128 + Math.round(60 * Math.sin(i / 7) + ((i * 2654435761) % 17) - 8)
  const h = Buffer.alloc(44)
  h.write('RIFF', 0)
  h.writeUInt32LE(36 + data.length, 4)
  h.write('WAVEfmt ', 8)
  h.writeUInt32LE(16, 16)
  h.writeUInt16LE(1, 20) // PCM
  h.writeUInt16LE(1, 22) // mono
  h.writeUInt32LE(RATE, 24)
  h.writeUInt32LE(RATE, 28) // bytes a second
  h.writeUInt16LE(1, 32) // bytes a frame
  h.writeUInt16LE(8, 34) // bits a sample
  h.write('data', 36)
  h.writeUInt32LE(data.length, 40)
  return Buffer.concat([h, data])
}

/** A repo on free loopback ports, its gateway's too, made before its daemon starts. */
async function gatewayDaemon (repo: string, bootstrap: string[] = []): Promise<DaemonProcess & { gateway: string }> {
  const init = await runCli(['--repo', repo, 'init', '--listen', '/ip4/127.0.0.1/tcp/0', '--api', '127.0.0.1:0', ...(bootstrap.length > 0 ? ['--bootstrap', ...bootstrap] : [])])
  expect(init.code, init.stderr).to.equal(0)
  const set = await runCli(['--repo', repo, 'config', 'set', 'gateway.address', '127.0.0.1:0'])
  expect(set.code, set.stderr).to.equal(0)
  const d = await startDaemonProcess(repo)
  const info = JSON.parse(await readFile(join(repo, 'api.json'), 'utf8')) as { gateway?: string }
  expect(info.gateway, 'api.json names the gateway').to.match(/^127\.0\.0\.1:\d+$/)
  return { ...d, gateway: info.gateway as string }
}

async function blocksIn (d: DaemonProcess): Promise<number> {
  const token = (await readFile(join(d.repo, 'api.token'), 'utf8')).trim()
  const r = await fetch(`http://${d.info.address}/api/v1/ls`, { headers: { authorization: `Bearer ${token}` } })
  return ((await r.json()) as { usage: { blocks: number } }).usage.blocks
}

describe('api gateway', function () {
  this.timeout(120_000)
  let dir: { path: string, cleanup: () => Promise<void> }
  let a: DaemonProcess & { gateway: string }
  let b: DaemonProcess & { gateway: string }
  let root: string
  let ticket: string
  let big: Buffer
  const notes = Buffer.from('first notes, with a few words')
  const cli = async (d: DaemonProcess, ...args: string[]): Promise<CliResult> => await runCli(['--repo', d.repo, ...args], {}, 60_000)
  const get = async (d: { gateway: string }, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Response> =>
    await fetch(`http://${d.gateway}${path}`, { method, headers, signal: AbortSignal.timeout(60_000) })
  const bytes = async (r: Response): Promise<Buffer> => Buffer.from(await r.arrayBuffer())

  before(async () => {
    dir = await tempDir('peerlink-gateway-')
    a = await gatewayDaemon(join(dir.path, 'a'))
    b = await gatewayDaemon(join(dir.path, 'b'), a.dialable)
    // album/ { notes.txt, <nasty name>, raw/ { big.bin: 32 chunks of 64 KiB, 8 stripes of k = 4 } }
    const album = join(dir.path, 'album')
    await mkdir(join(album, 'raw'), { recursive: true })
    await writeFile(join(album, 'notes.txt'), notes)
    await writeFile(join(album, NASTY), 'nasty')
    big = (await randomFile(join(album, 'raw'), 'big.bin', 2 * 1024 * KiB)).bytes
    const added = await cli(a, 'add', '-r', '--json', '--chunk-size', '64KiB', '-k', '4', '-m', '2', album)
    expect(added.code, added.stderr).to.equal(0);
    [{ cid: root, ticket }] = JSON.parse(added.stdout) as Array<{ cid: string, ticket: string }>
  })
  after(async () => {
    for (const d of [a, b]) if (d !== undefined) await stopDaemonProcess(d)
    await dir?.cleanup()
  })

  it('serves a range of a root the daemon lacks, fetching only the stripes the range touches, unpinned', async () => {
    const before = await blocksIn(b)
    // Chunks 13 and 14: both in stripe 3 (chunks 12-15).
    const start = 13 * 64 * KiB + 5
    const end = start + 64 * KiB - 1
    const r = await get(b, `/ipfs/${root}/raw/big.bin`, { range: `bytes=${start}-${end}` })
    expect(r.status).to.equal(206)
    expect(r.headers.get('content-range')).to.equal(`bytes ${start}-${end}/${big.length}`)
    expect((await bytes(r)).equals(big.subarray(start, end + 1))).to.equal(true)
    // album and raw (directories), big.bin's manifest, stripe node 3, chunks 13 and 14.
    expect(await blocksIn(b) - before).to.equal(6)
    expect(JSON.parse((await cli(b, 'ls', '--json')).stdout)).to.deep.equal([])
    // The whole file from the provider, streamed.
    const whole = await get(b, `/ipfs/${root}/raw/big.bin`)
    expect(whole.status).to.equal(200)
    expect((await bytes(whole)).equals(big)).to.equal(true)
  })

  it('serves a whole file with its headers, and no token is asked for', async () => {
    const st = JSON.parse((await cli(a, 'stat', `${root}/notes.txt`, '--json')).stdout) as { cid: string, mediaType: string }
    const r = await get(a, `/ipfs/${root}/notes.txt`)
    expect(r.status).to.equal(200)
    expect((await bytes(r)).equals(notes)).to.equal(true)
    expect(r.headers.get('content-type')).to.equal(st.mediaType)
    expect(r.headers.get('content-length')).to.equal(String(notes.length))
    expect(r.headers.get('etag')).to.equal(`"${st.cid}"`)
    expect(r.headers.get('cache-control')).to.equal('public, max-age=29030400, immutable')
    expect(r.headers.get('accept-ranges')).to.equal('bytes')
    expect(r.headers.get('x-content-type-options')).to.equal('nosniff')
    expect(r.headers.get('content-security-policy')).to.include("default-src 'none'").and.include('sandbox')
    expect(r.headers.get('content-disposition')).to.match(/^inline; filename="notes.txt"/)
    expect((await get(a, `/ipfs/${root}/notes.txt?download=1`)).headers.get('content-disposition')).to.match(/^attachment; filename="notes.txt"/)
    expect((await get(a, `/ipfs/${root}/notes.txt?filename=n%C3%B6tes.md`)).headers.get('content-disposition')).to.equal('attachment; filename="n_tes.md"; filename*=UTF-8\'\'n%C3%B6tes.md')
  })

  it('answers ranges: first byte, last byte, middle, suffix, open-ended; 416 beyond the end; several ranges as the whole', async () => {
    const path = `/ipfs/${root}/raw/big.bin`
    const size = big.length
    const cases: Array<[string, number, number]> = [['bytes=0-0', 0, 0], [`bytes=${size - 1}-${size - 1}`, size - 1, size - 1], ['bytes=100000-300000', 100000, 300000], ['bytes=-10', size - 10, size - 1], [`bytes=${size - 3}-`, size - 3, size - 1], [`bytes=${size - 2}-${size * 2}`, size - 2, size - 1]]
    for (const [range, s, e] of cases) {
      const r = await get(a, path, { range })
      expect(r.status, range).to.equal(206)
      expect(r.headers.get('content-range'), range).to.equal(`bytes ${s}-${e}/${size}`)
      expect(r.headers.get('content-length'), range).to.equal(String(e - s + 1))
      expect((await bytes(r)).equals(big.subarray(s, e + 1)), range).to.equal(true)
    }
    for (const range of [`bytes=${size}-`, `bytes=${size + 10}-${size + 20}`, 'bytes=-0', 'bytes=5-4']) {
      const r = await get(a, path, { range })
      expect(r.status, range).to.equal(416)
      expect(r.headers.get('content-range'), range).to.equal(`bytes */${size}`)
      expect(r.headers.get('etag'), range).to.equal(null)
      expect(await r.text(), range).to.include('asks for no byte')
    }
    const multi = await get(a, path, { range: 'bytes=0-9,20-29' })
    expect(multi.status).to.equal(200)
    expect((await bytes(multi)).length).to.equal(size)
  })

  it('answers HEAD with the headers alone, and If-None-Match with 304', async () => {
    const head = await get(a, `/ipfs/${root}/raw/big.bin`, { range: 'bytes=10-19' }, 'HEAD')
    expect(head.status).to.equal(206)
    expect(head.headers.get('content-length')).to.equal('10')
    expect(head.headers.get('content-range')).to.equal(`bytes 10-19/${big.length}`)
    expect((await bytes(head)).length).to.equal(0)
    const first = await get(a, `/ipfs/${root}/notes.txt`)
    const etag = first.headers.get('etag') as string
    await first.arrayBuffer()
    const again = await get(a, `/ipfs/${root}/notes.txt`, { 'if-none-match': `W/"other", ${etag}` })
    expect(again.status).to.equal(304)
    expect(again.headers.get('etag')).to.equal(etag)
    expect((await bytes(again)).length).to.equal(0)
    expect((await get(a, `/ipfs/${root}/notes.txt`, { 'if-none-match': '"other"' })).status).to.equal(200)
  })

  it('lists a directory as HTML with its names escaped and linked, and serves a path inside it', async () => {
    const r = await get(a, `/ipfs/${root}/`)
    expect(r.status).to.equal(200)
    expect(r.headers.get('content-type')).to.equal('text/html; charset=utf-8')
    expect(r.headers.get('etag')).to.equal(`"${root}"`)
    const html = await r.text()
    expect(html).to.not.include(NASTY)
    expect(html).to.include('&lt;b&gt;&amp;&quot;x&#39;.txt')
    expect(html).to.include(`href="/ipfs/${root}/${encodeURIComponent(NASTY).replace(/'/g, '&#39;')}"`)
    expect(html).to.include(`href="/ipfs/${root}/raw"`).and.include('raw/</a>')
    const nasty = await get(a, `/ipfs/${root}/${encodeURIComponent(NASTY)}`)
    expect(nasty.status).to.equal(200)
    expect(await nasty.text()).to.equal('nasty')
    const sub = await get(a, `/ipfs/${root}/raw`)
    expect(await sub.text()).to.include(`href="/ipfs/${root}/raw/big.bin"`)
  })

  it('accepts a share ticket in place of the CID', async () => {
    const r = await get(b, `/ipfs/${ticket}/notes.txt`)
    expect(r.status, await r.clone().text()).to.equal(200)
    expect((await bytes(r)).equals(notes)).to.equal(true)
  })

  it('serves a private file, by ranges too, with its key in x-peerlink-key, and refuses it without the key or with a wrong one', async () => {
    const secret = (await randomFile(dir.path, 'secret.bin', 700 * KiB)).bytes
    const added = await cli(a, 'add', '--private', '--json', '--chunk-size', '64KiB', '-k', '4', '-m', '2', join(dir.path, 'secret.bin'))
    expect(added.code, added.stderr).to.equal(0)
    const [{ cid, ticket: link }] = JSON.parse(added.stdout) as Array<{ cid: string, ticket: string }>
    const key = /#k=([A-Za-z0-9_-]{43})$/.exec(link)?.[1] as string
    expect(key, link).to.be.a('string')
    const withKey = { 'x-peerlink-key': key }

    const none = await get(b, `/ipfs/${cid}`)
    expect(none.status).to.equal(403)
    expect(await none.text()).to.include('this root is private: fetch it with its share link')
    expect(none.headers.get('cache-control')).to.equal(null)
    const wrong = await get(b, `/ipfs/${cid}`, { 'x-peerlink-key': 'A'.repeat(43) })
    expect(wrong.status).to.equal(422)
    expect((await get(b, `/ipfs/${cid}`, { 'x-peerlink-key': 'short' })).status).to.equal(400)

    const whole = await get(b, `/ipfs/${cid}`, withKey)
    expect(whole.status, await whole.clone().text()).to.equal(200)
    expect((await bytes(whole)).equals(secret)).to.equal(true)
    expect(whole.headers.get('content-disposition')).to.match(/^inline; filename="secret.bin"/)
    expect(whole.headers.get('cache-control'), 'no shared cache keeps plaintext').to.equal('private, max-age=29030400, immutable')
    expect(whole.headers.get('vary')).to.include('x-peerlink-key')
    const size = secret.length
    // Inside one chunk, across a chunk and a stripe boundary, a suffix, the last byte.
    const cases: Array<[string, number, number]> = [['bytes=10-99', 10, 99], [`bytes=${64 * KiB - 5}-${5 * 64 * KiB + 4}`, 64 * KiB - 5, 5 * 64 * KiB + 4], ['bytes=-1000', size - 1000, size - 1], [`bytes=${size - 1}-`, size - 1, size - 1]]
    for (const [range, s, e] of cases) {
      const r = await get(b, `/ipfs/${cid}`, { ...withKey, range })
      expect(r.status, range).to.equal(206)
      expect(r.headers.get('content-range'), range).to.equal(`bytes ${s}-${e}/${size}`)
      expect((await bytes(r)).equals(secret.subarray(s, e + 1)), range).to.equal(true)
    }
    expect((await get(b, `/ipfs/${cid}`, { ...withKey, range: `bytes=${size}-` })).status).to.equal(416)
    for (const d of [a, b]) expect(d.log(), 'the key in no daemon log').to.not.include(key)
  })

  it('serves a private directory\'s listing and a path in it with the key in x-peerlink-key, and refuses them without it', async () => {
    const tree = join(dir.path, 'private-tree')
    await mkdir(join(tree, 'sub'), { recursive: true })
    const inner = (await randomFile(join(tree, 'sub'), 'inner.bin', 200 * KiB)).bytes
    await writeFile(join(tree, 'top.txt'), 'top secret')
    const added = await cli(a, 'add', '--private', '-r', '--json', '--chunk-size', '64KiB', '-k', '2', '-m', '1', tree)
    expect(added.code, added.stderr).to.equal(0)
    const [{ cid, ticket: link }] = JSON.parse(added.stdout) as Array<{ cid: string, ticket: string }>
    const withKey = { 'x-peerlink-key': /#k=([A-Za-z0-9_-]{43})$/.exec(link)?.[1] as string }

    for (const path of [`/ipfs/${cid}`, `/ipfs/${cid}/sub/inner.bin`]) {
      const none = await get(b, path)
      expect(none.status, path).to.equal(403)
      expect(await none.text()).to.include('this root is private: fetch it with its share link')
    }
    const listing = await get(b, `/ipfs/${cid}/sub`, withKey)
    expect(listing.status, await listing.clone().text()).to.equal(200)
    expect(await listing.text()).to.include('inner.bin')
    expect(listing.headers.get('cache-control')).to.equal('private, max-age=29030400, immutable')
    const file = await get(b, `/ipfs/${cid}/sub/inner.bin`, { ...withKey, range: 'bytes=70000-140000' })
    expect(file.status, await file.clone().text()).to.equal(206)
    expect((await bytes(file)).equals(inner.subarray(70_000, 140_001))).to.equal(true)
    expect((await get(b, `/ipfs/${cid}/sub/inner.bin`, { 'x-peerlink-key': 'A'.repeat(43) })).status).to.equal(422)
  })

  it('links a private directory\'s listing through a link the gateway keeps, which a browser follows with no header and no key in the URL', async () => {
    const tree = join(dir.path, 'private-browse')
    await mkdir(join(tree, 'sub'), { recursive: true })
    const inner = (await randomFile(join(tree, 'sub'), 'inner.bin', 150 * KiB)).bytes
    await writeFile(join(tree, NASTY), 'top secret')
    const added = await cli(a, 'add', '--private', '-r', '--json', '--chunk-size', '64KiB', '-k', '2', '-m', '1', tree)
    expect(added.code, added.stderr).to.equal(0)
    const [{ cid, ticket: link }] = JSON.parse(added.stdout) as Array<{ cid: string, ticket: string }>
    const key = /#k=([A-Za-z0-9_-]{43})$/.exec(link)?.[1] as string
    const hrefs = async (r: Response): Promise<string[]> => [...(await r.text()).matchAll(/<a href="([^"]+)">/g)].map(m => m[1].replace(/&#39;/g, "'").replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&'))

    const top = await get(b, `/ipfs/${cid}`, { 'x-peerlink-key': key })
    expect(top.status).to.equal(200)
    expect(top.headers.get('referrer-policy')).to.equal('no-referrer')
    const links = await hrefs(top)
    expect(links).to.have.length(2)
    for (const href of links) {
      expect(href).to.match(/^\/private\/[A-Za-z0-9_-]{32}\//)
      expect(href, 'no key in a URL').to.not.include(key)
    }
    // Followed as a browser does: no header, no fragment.
    const secret = await get(b, links.find(h => h.endsWith(encodeURIComponent(NASTY))) as string)
    expect(secret.status, await secret.clone().text()).to.equal(200)
    expect(await secret.text()).to.equal('top secret')
    const sub = await get(b, links.find(h => h.endsWith('/sub')) as string)
    expect(sub.status).to.equal(200)
    const [innerHref] = await hrefs(sub)
    expect(innerHref).to.match(/^\/private\/[A-Za-z0-9_-]{32}\/sub\/inner\.bin$/)
    const part = await get(b, innerHref, { range: 'bytes=1000-69999' })
    expect(part.status).to.equal(206)
    expect((await bytes(part)).equals(inner.subarray(1000, 70_000))).to.equal(true)
    // An id the gateway never gave is refused.
    const unknown = await get(b, `/private/${'A'.repeat(32)}/sub/inner.bin`)
    expect(unknown.status).to.equal(404)
    expect(await unknown.text()).to.include('open the share link again')
    expect(b.log(), 'the key in no daemon log').to.not.include(key)
  })

  it('serves one verified block with ?format=raw', async () => {
    const st = JSON.parse((await cli(a, 'stat', `${root}/notes.txt`, '--json')).stdout) as { cid: string }
    const r = await get(a, `/ipfs/${st.cid}?format=raw`)
    expect(r.status).to.equal(200)
    expect(r.headers.get('content-type')).to.equal('application/vnd.ipld.raw')
    const block = await bytes(r)
    expect(r.headers.get('content-length')).to.equal(String(block.length))
    // The manifest block of the file: the file's name is in it.
    expect(block.includes(Buffer.from('notes.txt'))).to.equal(true)
    expect((await get(a, `/ipfs/${root}/notes.txt?format=raw`)).status).to.equal(400)
  })

  it('answers bad input with a plain-text error and the status its class declares', async () => {
    const bad = await get(a, '/ipfs/not-a-cid')
    expect(bad.status).to.equal(400)
    expect(bad.headers.get('content-type')).to.equal('text/plain; charset=utf-8')
    expect(bad.headers.get('cache-control')).to.equal(null)
    expect(await bad.text()).to.include('not-a-cid')
    const missing = await get(a, `/ipfs/${root}/no-such-file`)
    expect(missing.status).to.equal(404)
    expect(await missing.text()).to.include('no-such-file')
    expect((await get(a, `/ipfs/${root}/notes.txt?format=car`)).status).to.equal(400)
    expect((await get(a, '/api/v1/ls')).status).to.equal(404)
  })

  it('answers a root that no one provides with 504 and nothing cached', async () => {
    // Added to a repo with no daemon: its CID exists nowhere on the network.
    const repo = join(dir.path, 'offline')
    expect((await runCli(['--repo', repo, 'init'])).code).to.equal(0)
    await writeFile(join(dir.path, 'alone.txt'), 'known to no provider')
    const added = await runCli(['--repo', repo, 'add', '--json', join(dir.path, 'alone.txt')])
    expect(added.code, added.stderr).to.equal(0)
    const [{ cid }] = JSON.parse(added.stdout) as Array<{ cid: string }>
    const r = await get(b, `/ipfs/${cid}`)
    expect(r.status).to.equal(504)
    expect(r.headers.get('cache-control')).to.equal(null)
    expect(await r.text()).to.include(cid)
  })

  it('takes gateway.address host:port or off: off starts no gateway, anything else is refused', async () => {
    const repo = join(dir.path, 'c')
    const init = await runCli(['--repo', repo, 'init', '--listen', '/ip4/127.0.0.1/tcp/0', '--api', '127.0.0.1:0'])
    expect(init.code, init.stderr).to.equal(0)
    const bad = await runCli(['--repo', repo, 'config', 'set', 'gateway.address', 'nowhere'])
    expect(bad.code).to.equal(2)
    expect(bad.stderr).to.include('gateway.address must be host:port or "off"')
    expect((await runCli(['--repo', repo, 'config', 'set', 'gateway.address', 'off'])).code).to.equal(0)
    const c = await startDaemonProcess(repo)
    try {
      expect(JSON.parse(await readFile(join(repo, 'api.json'), 'utf8'))).to.not.have.property('gateway')
    } finally {
      await stopDaemonProcess(c)
    }
  })

  it('lets a media element in Chromium seek in a served file of a root the daemon lacks without fetching the whole', async function () {
    if (!existsSync(CHROMIUM)) {
      console.log(`      skipped: ${CHROMIUM} is absent (install Debian's chromium package)`)
      this.skip()
    }
    // 6000 s of audio, 48 MB: 184 chunks of 256 KiB in 46 stripes of k = 4.
    const seconds = 6000
    const file = join(dir.path, 'long.wav')
    await writeFile(file, wav(seconds))
    const added = await cli(a, 'add', '--json', '--chunk-size', '256KiB', '-k', '4', '-m', '2', file)
    expect(added.code, added.stderr).to.equal(0)
    const [{ cid }] = JSON.parse(added.stdout) as Array<{ cid: string }>
    const before = await blocksIn(b)
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required'], timeout: 60_000 })
    try {
      const page = await browser.newPage()
      page.setDefaultTimeout(60_000)
      const ranges: string[] = []
      page.on('request', (r) => { const range = r.headers().range; if (r.url().includes(cid) && range !== undefined) ranges.push(range) })
      await page.setContent(`<video id="v" preload="metadata" src="http://${b.gateway}/ipfs/${cid}"></video>`)
      // In the page's own terms (strings: the tests are compiled without the DOM's types).
      const v = 'document.getElementById("v")'
      await page.waitForFunction(`${v}.readyState >= 1 && Number.isFinite(${v}.duration)`)
      expect(await page.evaluate(`${v}.duration`)).to.be.closeTo(seconds, 1)
      const target = seconds - 60
      await page.evaluate(`new Promise(resolve => { ${v}.addEventListener('seeked', resolve, { once: true }); ${v}.currentTime = ${target} })`)
      await page.waitForFunction(`${v}.readyState >= 2`)
      expect(await page.evaluate(`${v}.currentTime`)).to.be.closeTo(target, 1)
      // The element asked for the bytes near the end by a range of their own.
      const starts = ranges.map(r => Number(/^bytes=(\d+)-/.exec(r)?.[1] ?? -1))
      expect(Math.max(...starts), ranges.join(', ')).to.be.greaterThan(44 + (target - 10) * RATE)
      // Fewer than half the 184 chunks and 46 stripe nodes the whole file is made of: what
      // the first request read ahead before the element paused it, and the stripes near the end.
      expect(await blocksIn(b) - before, ranges.join(', ')).to.be.lessThan(115)
    } finally {
      await browser.close()
    }
  })
})
