// The page's routes on a real daemon: a folder uploaded in one body (POST /upload/folder)
// keeps its tree, and a malformed one is refused with a clear message and leaves nothing
// behind; save links (POST /saves) stream a file, a private one's plaintext included,
// without its key in any URL. SaveLinks' bounds on a clock the test moves.
import { randomBytes } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'chai'
import { MAX_SAVE_LINKS, SAVE_LINK_TTL, SaveLinks } from '../../src/api/save-links.js'
import { parseTarget } from '../../src/node/ticket.js'
import { startDaemonProcess, stopDaemonProcess, type DaemonProcess } from '../helpers/cli.js'
import { smallDisk, tempDir } from '../helpers/repo.js'

const FOLDER_TYPE = 'application/x-peerlink-folder'

/** A folder body as the page builds it: per file a 4-byte length, the JSON header, the bytes. */
function folderBody (files: Array<{ path: string, bytes: Uint8Array, size?: number }>, rawHeader?: Uint8Array): Buffer {
  const parts: Uint8Array[] = []
  for (const f of files) {
    const header = rawHeader ?? Buffer.from(JSON.stringify({ path: f.path, size: f.size ?? f.bytes.byteLength }))
    const len = Buffer.alloc(4)
    len.writeUInt32BE(header.byteLength)
    parts.push(len, header, f.bytes)
  }
  return Buffer.concat(parts)
}

async function uploadTemps (): Promise<string[]> {
  return (await readdir(tmpdir())).filter(n => n.startsWith('peerlink-upload-'))
}

describe('api folder uploads and save links', function () {
  this.timeout(120_000)
  let dir: { path: string, cleanup: () => Promise<void> }
  let daemon: DaemonProcess
  let api: string
  let auth: Record<string, string>
  before(async () => {
    dir = await tempDir('peerlink-api-folder-')
    daemon = await startDaemonProcess(join(dir.path, 'a'))
    auth = { authorization: `Bearer ${(await readFile(join(daemon.repo, 'api.token'), 'utf8')).trim()}` }
    api = `http://${daemon.info.address}/api/v1`
  })
  after(async () => {
    await stopDaemonProcess(daemon)
    await dir.cleanup()
  })

  const upload = async (name: string, body: Uint8Array, type = FOLDER_TYPE): Promise<Response> =>
    await fetch(`${api}/upload/folder?name=${encodeURIComponent(name)}&private=false`, { method: 'POST', headers: { ...auth, 'content-type': type }, body })

  it('adds a folder sent in one body as the tree it was, pinned, each file readable by its path', async () => {
    const before = await uploadTemps()
    const big = randomBytes(2_500_000)
    const files = [{ path: 'a.txt', bytes: Buffer.from('first') }, { path: 'sub/deep/big.bin', bytes: big }, { path: 'sub/empty.txt', bytes: new Uint8Array(0) }]
    const res = await upload('my folder', folderBody(files))
    expect(res.status, await res.clone().text()).to.equal(200)
    const added = await res.json() as { cid: string, name: string, type: string, files: number, size: number }
    expect(added).to.include({ name: 'my folder', type: 'directory', files: 3, size: 5 + big.length })
    const ls = await (await fetch(`${api}/ls/${added.cid}/sub`, { headers: auth })).json() as Array<{ name: string, type: string }>
    expect(ls.map(e => `${e.name}:${e.type}`)).to.deep.equal(['deep:directory', 'empty.txt:file'])
    const got = await fetch(`${api}/cat/${added.cid}/sub/deep/big.bin`, { headers: auth })
    expect(Buffer.from(await got.arrayBuffer()).equals(big)).to.equal(true)
    const pins = await (await fetch(`${api}/ls`, { headers: auth })).json() as { pins: Array<{ cid: string }> }
    expect(pins.pins.map(p => p.cid)).to.include(added.cid)
    // The temporary copy is gone.
    expect((await uploadTemps()).filter(n => !before.includes(n))).to.deep.equal([])
  })

  it('refuses a malformed folder body with a message that says what is wrong, leaving nothing behind', async () => {
    const before = await uploadTemps()
    const one = Buffer.from('x')
    const cases: Array<[string, Uint8Array, RegExp]> = [
      ['a path that climbs out', folderBody([{ path: '../escape.txt', bytes: one }]), /not a usable path/],
      ['an absolute path', folderBody([{ path: '/etc/x', bytes: one }]), /not a usable path/],
      ['an empty name in a path', folderBody([{ path: 'a//b', bytes: one }]), /not a usable path/],
      ['a file twice', folderBody([{ path: 'a', bytes: one }, { path: 'a', bytes: one }]), /comes twice/],
      ['a name both file and folder', folderBody([{ path: 'a', bytes: one }, { path: 'a/b', bytes: one }]), /both a file and a folder/],
      ['a body cut in a file', folderBody([{ path: 'a', bytes: one, size: 10 }]), /ended 9 bytes short of a file/],
      ['a body cut in a header', folderBody([{ path: 'a', bytes: one }]).subarray(0, 7), /short of a header/],
      ['a header that is not JSON', folderBody([{ path: 'a', bytes: one }], Buffer.from('{nope')), /not JSON/],
      ['a header without a size', folderBody([{ path: 'a', bytes: one }], Buffer.from('{"path":"a"}')), /needs a path .* and a size/],
      ['a header past 16 KiB', Buffer.from([0, 1, 0, 0]), /header of 65536 bytes/],
      ['no file at all', new Uint8Array(0), /holds no file/]
    ]
    for (const [what, body, message] of cases) {
      const res = await upload('f', body)
      const err = await res.json() as { code: string, message: string }
      expect(res.status, what).to.equal(400)
      expect(err.code, what).to.equal('ERR_INVALID_ARGUMENT')
      expect(err.message, what).to.match(message)
    }
    expect((await (await upload('..', folderBody([{ path: 'a', bytes: one }]))).json() as { message: string }).message).to.match(/not a usable folder name/)
    expect((await upload('f', folderBody([{ path: 'a', bytes: one }]), 'application/octet-stream')).status).to.equal(400)
    // A private folder is sealed whole; its link carries the key.
    const priv = await fetch(`${api}/upload/folder?name=f&private=true`, { method: 'POST', headers: { ...auth, 'content-type': FOLDER_TYPE }, body: folderBody([{ path: 'a', bytes: one }]) })
    expect(priv.status).to.equal(200)
    expect(JSON.stringify(await priv.json())).to.match(/#k=/).and.not.include(tmpdir())
    expect((await uploadTemps()).filter(n => !before.includes(n))).to.deep.equal([])
  })

  it('saves a private file through a save link that holds no key; an unknown link is 404', async () => {
    const body = randomBytes(200_000)
    const up = await fetch(`${api}/upload?name=secret.bin&private=true`, { method: 'POST', headers: { ...auth, 'content-type': 'application/octet-stream' }, body })
    const { ticket } = await up.json() as { ticket: string }
    const key = ticket.slice(ticket.indexOf('#k=') + 3)
    const json = { ...auth, 'content-type': 'application/json' }
    const made = await fetch(`${api}/saves`, { method: 'POST', headers: json, body: JSON.stringify({ target: ticket }) })
    expect(made.status, await made.clone().text()).to.equal(200)
    const { url } = await made.json() as { url: string }
    expect(url).to.match(/^\/api\/v1\/saves\/[\w-]{32}$/).and.not.include(key)
    const got = await fetch(`http://${daemon.info.address}${url}`, { headers: auth })
    expect(got.headers.get('content-disposition')).to.include('secret.bin')
    expect(Buffer.from(await got.arrayBuffer()).equals(body)).to.equal(true)

    // Without the key: refused when the link is asked for, not when it is followed.
    const keyless = await fetch(`${api}/saves`, { method: 'POST', headers: json, body: JSON.stringify({ target: ticket.slice(0, ticket.indexOf('#')) }) })
    expect(keyless.status).to.equal(403)
    expect((await keyless.json() as { code: string }).code).to.equal('ERR_PRIVATE_ROOT')
    const gone = await fetch(`${api}/saves/${'A'.repeat(32)}`, { headers: auth })
    expect(gone.status).to.equal(404)
    expect((await gone.json() as { code: string }).code).to.equal('ERR_SAVE_LINK_GONE')
    expect(daemon.log()).to.not.include(key)
  })

  it('says a full temporary directory is a full disk (507), leaving nothing behind', async function () {
    const disk = await smallDisk(this, join(dir.path, 'small-tmp'), 4)
    const d = await startDaemonProcess(join(dir.path, 'small'), { env: { TMPDIR: disk.path } })
    try {
      const token = (await readFile(join(d.repo, 'api.token'), 'utf8')).trim()
      const res = await fetch(`http://${d.info.address}/api/v1/upload/folder?name=f`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': FOLDER_TYPE }, body: folderBody([{ path: 'big.bin', bytes: randomBytes(6 * 1024 * 1024) }]) })
      expect(res.status).to.equal(507)
      expect((await res.json() as { code: string }).code).to.equal('ERR_DISK_FULL')
      expect(await readdir(disk.path)).to.deep.equal([])
    } finally {
      await stopDaemonProcess(d)
      disk.unmount()
    }
  })

  it('keeps a save link 10 minutes and at most 64 of them, the oldest dropped first', () => {
    let now = 1_000_000
    const links = new SaveLinks(() => now)
    const target = parseTarget('bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy')
    const first = links.keep(target)
    expect(links.get(first).root.toString()).to.equal(target.root.toString())
    now += SAVE_LINK_TTL + 1
    expect(() => links.get(first)).to.throw(/expired/)
    const ids = Array.from({ length: MAX_SAVE_LINKS + 1 }, () => links.keep(target))
    expect(() => links.get(ids[0])).to.throw(/expired/)
    expect(links.get(ids[1]).root.toString()).to.equal(target.root.toString())
  })
})
