// Private roots through the daemon's HTTP API: an upload made private, then read with the
// key in its header, refused without it (403) or with a wrong one (422).
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'chai'
import { daemonScratch, startDaemonProcess } from '../helpers/cli.js'

describe('api private roots', function () {
  this.timeout(120_000)
  const scratch = daemonScratch('peerlink-api-private-', { each: true })

  it('uploads a private file and reads it only with the key in the x-peerlink-key header', async () => {
    scratch.daemon = await startDaemonProcess(join(scratch.path, 'a'))
    const token = (await readFile(join(scratch.daemon.repo, 'api.token'), 'utf8')).trim()
    const api = `http://${scratch.daemon.info.address}/api/v1`
    const auth = { authorization: `Bearer ${token}` }
    const body = randomBytes(300_000)
    const up = await fetch(`${api}/upload?name=secret.bin&private=true`, { method: 'POST', headers: { ...auth, 'content-type': 'application/octet-stream' }, body })
    expect(up.status, await up.clone().text()).to.equal(200)
    const added = await up.json() as { cid: string, name: string, size: number, ticket: string }
    expect(added).to.include({ name: 'secret.bin', size: body.length })
    const key = /#k=([A-Za-z0-9_-]{43})$/.exec(added.ticket)?.[1] as string
    expect(key, added.ticket).to.be.a('string')
    expect(JSON.stringify(added).split(key).length - 1, 'the key only in the link').to.equal(1)
    expect((await (await fetch(`${api}/ticket/${added.cid}`, { headers: auth })).json() as { ticket: string }).ticket).to.equal(added.ticket)

    const none = await fetch(`${api}/cat/${added.cid}`, { headers: auth })
    expect(none.status).to.equal(403)
    expect((await none.json() as { code: string }).code).to.equal('ERR_PRIVATE_ROOT')
    const got = await fetch(`${api}/cat/${added.cid}?offset=1000&length=200000`, { headers: { ...auth, 'x-peerlink-key': key } })
    expect(got.status).to.equal(200)
    expect(Buffer.from(await got.arrayBuffer()).equals(body.subarray(1000, 201_000))).to.equal(true)
    const st = await fetch(`${api}/stat/${added.cid}`, { headers: { ...auth, 'x-peerlink-key': key } })
    expect(await st.json()).to.include({ name: 'secret.bin', size: body.length, private: true })
    const wrong = await fetch(`${api}/cat/${added.cid}`, { headers: { ...auth, 'x-peerlink-key': 'A'.repeat(43) } })
    expect(wrong.status).to.equal(422)
    expect((await wrong.json() as { code: string }).code).to.equal('ERR_DECRYPTION')
    const bad = await fetch(`${api}/stat/${added.cid}`, { headers: { ...auth, 'x-peerlink-key': 'short' } })
    expect(bad.status).to.equal(400)
    // The daemon's log never saw the key.
    expect(scratch.daemon.log()).to.not.include(key)
  })
})
