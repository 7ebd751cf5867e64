// What a user reads when what they typed is wrong: a CID mistyped, cut short, in upper case or
// from IPFS, a ticket cut short; through the real CLI, offline and through a daemon, in text
// and as the one JSON object `--json` prints.
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'chai'
import { CID } from 'multiformats/cid'
import { encodeTicket } from '../../src/node/ticket.js'
import { runCli, startDaemonProcess, stopDaemonProcess, type CliResult, type DaemonProcess } from '../helpers/cli.js'
import { tempDir } from '../helpers/repo.js'

const HINT = 'PeerLink CIDs start with bafy… (CIDv1, base32, lower case'
const IPFS_V0 = 'QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG'
const IPFS_V1 = 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi'
/** What no message may show: the decoders' own words. */
const INTERNALS = /Unexpected end of data|multibase decoder|Non-base32 character|Incorrect length|unexpected error/

interface ErrorOut { error: { name: string, code: string, message: string, exitCode: number } }

/** The one JSON object a failed `--json` command printed, checked against its exit status. */
function jsonError (r: CliResult): ErrorOut['error'] {
  const lines = r.stdout.trim().split('\n')
  expect(lines, r.stdout).to.have.length(1)
  const out = JSON.parse(lines[0]) as ErrorOut
  expect(Object.keys(out.error).sort()).to.deep.equal(['code', 'exitCode', 'message', 'name'])
  expect(out.error.exitCode).to.equal(r.code)
  return out.error
}

async function ticketFor (root: CID): Promise<string> {
  const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  return encodeTicket({ root, peer, addrs: [multiaddr('/ip4/127.0.0.1/tcp/4021')] })
}

describe('cli errors in PeerLink\'s words', function () {
  this.timeout(90_000)
  let dir: { path: string, cleanup: () => Promise<void> }
  let repo: string
  let cid: string
  const cli = async (...args: string[]): Promise<CliResult> => await runCli(['--repo', repo, ...args])
  before(async () => {
    dir = await tempDir('peerlink-errors-')
    repo = join(dir.path, 'repo')
    expect((await cli('init')).code).to.equal(0)
    await writeFile(join(dir.path, 'note.txt'), 'hello')
    cid = (await cli('add', '-q', join(dir.path, 'note.txt'))).stdout.trim()
    expect(cid).to.match(/^bafy/)
  })
  after(async () => { await dir.cleanup() })

  it('says what is wrong with a mistyped or truncated CID and what a valid one looks like (exit 2)', async () => {
    const cases: Array<[string, RegExp]> = [
      [cid.slice(0, 30), /its 30 characters do not spell a CID \(cut short, or a character mistyped\?\)/],
      [cid.slice(0, 10) + '!' + cid.slice(11), /it has "!" at position 11/],
      [cid.slice(0, 10) + '1' + cid.slice(11), /it has "1" at position 11/],
      ['zzz', /it starts with "z"/]
    ]
    for (const [text, why] of cases) {
      const r = await cli('stat', text)
      expect(r.code, text).to.equal(2)
      expect(r.stderr).to.contain(`peerlink: "${text}" is not a valid CID: `)
      expect(r.stderr).to.match(why)
      expect(r.stderr).to.contain(HINT)
      expect(r.stderr).to.not.match(INTERNALS)
    }
  })

  it('accepts an upper-case CID as the same CID', async () => {
    const r = await cli('stat', cid.toUpperCase(), '--json')
    expect(r.code, r.stderr).to.equal(0)
    expect(JSON.parse(r.stdout)).to.include({ cid, size: 5 })
    const cat = await cli('cat', cid.toUpperCase())
    expect(cat.stdout).to.equal('hello')
  })

  it('refuses an IPFS CID at once as not a PeerLink root (exit 11), without looking it up', async () => {
    for (const text of [IPFS_V0, IPFS_V1]) {
      const started = Date.now()
      // fetch of a CID not in the repo would otherwise start a node and ask the DHT.
      const r = await cli('fetch', text, '-o', join(dir.path, 'ipfs.out'))
      expect(r.code, r.stderr).to.equal(11)
      expect(r.stderr).to.match(/is an IPFS CID \((CIDv0, )?dag-pb\), not a PeerLink root/)
      expect(r.stderr).to.contain(HINT)
      expect(Date.now() - started).to.be.below(5000)
    }
    expect(jsonError(await cli('stat', IPFS_V0, '--json'))).to.include({ name: 'NotPeerLinkCidError', code: 'ERR_NOT_PEERLINK_CID', exitCode: 11 })
  })

  it('says a truncated ticket is cut short, and that a ticket is not a CID where a CID is asked for', async () => {
    const ticket = await ticketFor(CID.parse(cid))
    for (const cut of [ticket.slice(0, ticket.length - 20), ticket.slice(0, ticket.length - 1), ticket.slice(0, 20)]) {
      const r = await cli('fetch', cut, '-o', join(dir.path, 'cut.out'))
      expect(r.code, r.stderr).to.equal(2)
      expect(r.stderr).to.contain('is not a PeerLink CID or share ticket: its body does not decode: it is cut short or mistyped (copy the whole ticket, from "peerlink:" to its last character)')
      expect(r.stderr).to.not.match(INTERNALS)
    }
    const r = await cli('verify', ticket)
    expect(r.code).to.equal(2)
    expect(r.stderr).to.contain('it is a share ticket, and this takes a root CID alone (`fetch`, `cat`, `stat` and `ls` take either)')
  })

  it('prints one JSON error object with --json, for errors and for usage errors', async () => {
    const bad = await cli('stat', 'zzz', '--json')
    expect(bad.code).to.equal(2)
    const e = jsonError(bad)
    expect(e).to.include({ name: 'InvalidCidError', code: 'ERR_INVALID_CID', exitCode: 2 })
    expect(e.message).to.contain('"zzz" is not a valid CID').and.contain(HINT)

    const noRepo = await runCli(['--repo', join(dir.path, 'nothing-here'), 'gc', '--json'])
    expect(noRepo.code).to.equal(14)
    expect(jsonError(noRepo)).to.include({ name: 'RepoNotFoundError', code: 'ERR_REPO_NOT_FOUND', exitCode: 14 })

    const usage = await cli('stat', cid, '--json', '--bogus')
    expect(usage.code).to.equal(2)
    expect(jsonError(usage)).to.deep.equal({ name: 'InvalidArgumentError', code: 'ERR_INVALID_ARGUMENT', message: "unknown option '--bogus'", exitCode: 2 })
    const option = await cli('find-providers', cid, '--timeout', '5 parsecs', '--json')
    expect(option.code).to.equal(2)
    expect(jsonError(option).message).to.equal('"5 parsecs" is not a duration (try 5s, 500ms, 2m or 10000 for milliseconds)')
    // Without --json, nothing on stdout.
    expect((await cli('stat', 'zzz')).stdout).to.equal('')
  })

  it('takes sizes with units for cat --offset and --length', async () => {
    const r = await cli('cat', cid, '--offset', '1B', '--length', '3')
    expect(r.stdout).to.equal('ell')
    const bad = await cli('cat', cid, '--offset', '1 parsec')
    expect(bad.code).to.equal(2)
    expect(bad.stderr).to.contain('is not a size')
  })

  describe('through a daemon', () => {
    let daemon: DaemonProcess
    before(async () => { daemon = await startDaemonProcess(join(dir.path, 'daemon')) })
    after(async () => { await stopDaemonProcess(daemon) })
    const viaDaemon = async (...args: string[]): Promise<CliResult> => await runCli(['--repo', daemon.repo, ...args], {}, 60_000)

    it('relays the daemon\'s error name, code and message for a truncated ticket', async () => {
      const ticket = await ticketFor(CID.parse(cid))
      const r = await viaDaemon('fetch', ticket.slice(0, ticket.length - 20), '-o', join(dir.path, 'cut.out'), '--json')
      expect(r.code, r.stderr).to.equal(2)
      const e = jsonError(r)
      expect(e).to.include({ name: 'InvalidTicketError', code: 'ERR_INVALID_TICKET', exitCode: 2 })
      expect(e.message).to.contain('it is cut short or mistyped').and.not.match(INTERNALS)
    })

    it('gives up find-providers after a --timeout with units', async () => {
      const started = Date.now()
      const r = await viaDaemon('find-providers', cid, '--timeout', '500ms', '--json')
      expect(r.code, r.stderr).to.be.oneOf([0, 16])
      expect(Date.now() - started).to.be.below(8000)
    })
  })
})
