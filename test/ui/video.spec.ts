// A <video> element in Chromium seeks in a WebM the gateway serves without downloading the
// whole file. The video is made in the test: Chromium's VideoEncoder encodes noise as VP8 (a
// key frame a second), test/helpers/webm.ts muxes it with its duration and cues, the daemon
// adds it. The page reaches the gateway through a small proxy of the test's that counts the
// bytes it passes on and notes each request's range.
import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'chai'
import type { Browser, BrowserContext } from 'playwright-core'
import { startDaemonProcess, stopDaemonProcess, type DaemonProcess } from '../helpers/cli.js'
import { tempDir } from '../helpers/repo.js'
import { muxWebm, type EncodedFrame } from '../helpers/webm.js'
import { launch, needChromium, shot } from './browser.js'

const WIDTH = 320
const HEIGHT = 240
const FPS = 10
const SECONDS = 30

/** Encodes noise frames in the page and POSTs them to /frames; resolves to each frame's timestamp, key flag and length. */
const ENCODE = `(async () => {
  const W = ${WIDTH}, H = ${HEIGHT}, FPS = ${FPS}, N = ${FPS * SECONDS}
  const frames = []
  const enc = new VideoEncoder({
    output: (c) => { const b = new Uint8Array(c.byteLength); c.copyTo(b); frames.push({ timestamp: c.timestamp, key: c.type === 'key', data: b }) },
    error: (e) => { throw e }
  })
  enc.configure({ codec: 'vp8', width: W, height: H, bitrate: 6000000, framerate: FPS })
  const pixels = new Uint8ClampedArray(W * H * 4)
  for (let i = 0; i < N; i++) {
    for (let o = 0; o < pixels.length; o += 65536) crypto.getRandomValues(pixels.subarray(o, o + 65536))
    const frame = new VideoFrame(pixels, { format: 'RGBA', codedWidth: W, codedHeight: H, timestamp: Math.round(i * 1e6 / FPS) })
    enc.encode(frame, { keyFrame: i % FPS === 0 })
    frame.close()
    while (enc.encodeQueueSize > 4) await new Promise(r => enc.addEventListener('dequeue', r, { once: true }))
  }
  await enc.flush()
  await fetch('/frames', { method: 'POST', body: new Blob(frames.map(f => f.data)) })
  return frames.map(f => ({ timestamp: f.timestamp, key: f.key, length: f.data.byteLength }))
})()`

/** Plays the video at `src` to its metadata, seeks to a second before its end, waits for a frame there. */
const SEEK = (src: string): string => `(async () => {
  const v = document.createElement('video')
  v.preload = 'metadata'
  v.muted = true
  v.width = ${WIDTH}
  document.body.append(v)
  const event = (name) => new Promise((resolve, reject) => {
    v.addEventListener(name, resolve, { once: true })
    v.addEventListener('error', () => reject(new Error('video error: ' + (v.error && v.error.message))), { once: true })
  })
  const loaded = event('loadedmetadata')
  v.src = ${JSON.stringify(src)}
  await loaded
  const seeked = event('seeked')
  v.currentTime = v.duration - 1
  await seeked
  if (v.readyState < 2) await event('loadeddata')
  return { duration: v.duration, time: v.currentTime, width: v.videoWidth, ready: v.readyState }
})()`

interface Served { range: string, bytes: number }

describe('a <video> seeking through the gateway (Chromium)', function () {
  this.timeout(240_000)
  let dir: { path: string, cleanup: () => Promise<void> }
  let daemon: DaemonProcess | undefined
  let browser: Browser | undefined
  let context: BrowserContext
  let proxy: Server | undefined

  before(async function () {
    await needChromium(this)
    dir = await tempDir('peerlink-ui-video-')
    daemon = await startDaemonProcess(join(dir.path, 'a'))
    const launched = await launch()
    browser = launched.browser
    context = launched.context
  })

  after(async () => {
    proxy?.close()
    await browser?.close()
    if (daemon !== undefined) await stopDaemonProcess(daemon)
    await dir?.cleanup()
  })

  it('plays a second before the end having fetched well under the whole file, by a range past its start', async () => {
    const d = daemon as DaemonProcess
    const served: Served[] = []
    let posted: Buffer | undefined
    const gateway = d.info.gateway as string
    proxy = createServer((req, res) => {
      if (req.url === '/frames' && req.method === 'POST') {
        const parts: Buffer[] = []
        req.on('data', (b: Buffer) => parts.push(b))
        req.on('end', () => { posted = Buffer.concat(parts); res.end() })
        return
      }
      if (req.url?.startsWith('/ipfs/') !== true) { res.setHeader('content-type', 'text/html'); res.end('<!doctype html><title>video</title>'); return }
      const entry: Served = { range: req.headers.range ?? '', bytes: 0 }
      served.push(entry)
      const up = request(`http://${gateway}${req.url}`, { method: req.method, headers: req.headers.range !== undefined ? { range: req.headers.range } : {} }, (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers)
        upRes.on('data', (b: Buffer) => { entry.bytes += b.byteLength; if (!res.write(b)) upRes.pause() })
        res.on('drain', () => upRes.resume())
        upRes.on('end', () => res.end())
      })
      // The player drops a response it has read enough of: the gateway's is dropped too.
      res.on('close', () => up.destroy())
      up.on('error', () => res.destroy())
      up.end()
    })
    await new Promise<void>((resolve) => { proxy?.listen(0, '127.0.0.1', resolve) })
    const origin = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`

    const page = await context.newPage()
    await page.goto(origin)
    const meta = await page.evaluate(ENCODE) as Array<{ timestamp: number, key: boolean, length: number }>
    expect(posted?.byteLength).to.equal(meta.reduce((a, f) => a + f.length, 0))
    let at = 0
    const frames: EncodedFrame[] = meta.map((f) => { const data = (posted as Buffer).subarray(at, at + f.length); at += f.length; return { ...f, data } })
    const webm = muxWebm(frames, WIDTH, HEIGHT, 1000 / FPS)

    const token = (await readFile(join(d.repo, 'api.token'), 'utf8')).trim()
    const added = await fetch(`http://${d.info.address}/api/v1/upload?name=noise.webm&private=false`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' }, body: webm })
    expect(added.status, await added.clone().text()).to.equal(200)
    const { cid } = await added.json() as { cid: string }

    const r = await page.evaluate(SEEK(`/ipfs/${cid}`)) as { duration: number, time: number, width: number, ready: number }
    expect(r.duration).to.be.closeTo(SECONDS, 0.5)
    expect(r.time).to.be.closeTo(SECONDS - 1, 0.5)
    expect(r.width).to.equal(WIDTH)
    await shot(page, '15-video-seeked')
    const total = served.reduce((a, s) => a + s.bytes, 0)
    const starts = served.map(s => Number(/^bytes=(\d+)-/.exec(s.range)?.[1] ?? 0))
    console.log(`      ${webm.byteLength} bytes of video; served ${total} in ${served.length} requests: ${served.map(s => `${s.range || 'whole'} (${s.bytes})`).join(', ')}`)
    expect(Math.max(...starts), 'a range request past the start').to.be.above(webm.byteLength / 2)
    // Reading on to the seek point would take (SECONDS - 1) / SECONDS of the file. How much of
    // the first response Chromium reads before it drops it for the range is its own and varies
    // with the machine's load (49.5 % of the file on one loaded run).
    expect(total, 'bytes served').to.be.below(webm.byteLength * 0.75)
    await page.close()
  })
})
