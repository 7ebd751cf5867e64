// Reading what the user typed: a CID, or a share ticket (root CID plus the sharer's peer id
// and addresses), each refused with an error that says what is wrong with it.
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'chai'
import { InvalidArgumentError, InvalidCidError, InvalidTicketError } from '../../src/errors.js'
import { cidOf } from '../../src/hash/index.js'
import { formatRootPath, MAX_PATH_NAMES, parseCid, parseRootPath, TICKET_PREFIX } from '../../src/node/cid.js'
import { encodeTicket, parseTarget } from '../../src/node/ticket.js'

function thrown (fn: () => unknown): Error {
  try { fn() } catch (err) { return err as Error }
  throw new Error('expected an error')
}

describe('parsing CIDs and tickets', () => {
  it('reads a CID with the spaces around it trimmed', () => {
    const cid = cidOf(new TextEncoder().encode('hello'))
    expect(parseCid(`  ${cid.toString()}\n`).equals(cid)).to.equal(true)
    const target = parseTarget(` ${cid.toString()} `)
    expect(target.root.equals(cid)).to.equal(true)
    expect(target.peer).to.equal(undefined)
    expect(target.addrs).to.deep.equal([])
  })

  it('refuses an empty or malformed CID, quoting it and saying why', () => {
    const empty = thrown(() => parseCid('   '))
    expect(empty).to.be.instanceOf(InvalidCidError)
    expect(empty.message).to.match(/is not a valid CID: it is empty/)
    const bad = thrown(() => parseCid('bafy-not-a-cid'))
    expect(bad).to.be.instanceOf(InvalidCidError)
    expect(bad.message).to.contain('"bafy-not-a-cid" is not a valid CID')
    expect(thrown(() => parseTarget('nonsense'))).to.be.instanceOf(InvalidCidError)
  })

  it('round-trips a ticket and refuses broken ones with the reason', async () => {
    const root = cidOf(new TextEncoder().encode('shared'))
    const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const addrs = [multiaddr('/ip4/127.0.0.1/tcp/4001')]
    const ticket = encodeTicket({ root, peer, addrs })
    expect(ticket.startsWith(TICKET_PREFIX)).to.equal(true)
    const back = parseTarget(ticket)
    expect(back.root.equals(root)).to.equal(true)
    expect(back.peer?.equals(peer)).to.equal(true)
    expect(back.addrs.map(a => a.toString())).to.deep.equal(['/ip4/127.0.0.1/tcp/4001'])

    const notBase32 = thrown(() => parseTarget(`${TICKET_PREFIX}b!!!`))
    expect(notBase32).to.be.instanceOf(InvalidTicketError)
    expect(notBase32.message).to.contain('not valid base32')
    const cut = thrown(() => parseTarget(ticket.slice(0, ticket.length - 20)))
    expect(cut).to.be.instanceOf(InvalidTicketError)
    expect(cut.message).to.match(/is not a PeerLink CID or share ticket: /)
  })

  it('reads a path inside a root after a CID or a ticket, and refuses . and ..', async () => {
    const root = cidOf(new TextEncoder().encode('album'))
    const r = parseRootPath(` ${root.toString()}/raw//my photo.jpg/ `)
    expect(r.root.equals(root)).to.equal(true)
    expect(r.path).to.deep.equal(['raw', 'my photo.jpg'])
    expect(formatRootPath(r)).to.equal(`${root.toString()}/raw/my photo.jpg`)
    expect(parseRootPath(root.toString().toUpperCase() + '/a').path).to.deep.equal(['a'])
    expect(parseTarget(`${root.toString()}/a/b`).path).to.deep.equal(['a', 'b'])
    const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const ticket = encodeTicket({ root, peer, addrs: [] })
    const t = parseTarget(`${ticket}/a/b.txt`)
    expect(t.root.equals(root)).to.equal(true)
    expect(t.peer?.equals(peer)).to.equal(true)
    expect(t.path).to.deep.equal(['a', 'b.txt'])
    expect(parseTarget(ticket).path).to.deep.equal([])
    for (const bad of ['..', '.']) {
      const err = thrown(() => parseRootPath(`${root.toString()}/a/${bad}/b`))
      expect(err).to.be.instanceOf(InvalidArgumentError)
      expect(err.message).to.contain(`"${bad}" is not allowed`)
    }
    expect(thrown(() => parseRootPath(`${root.toString()}/${'a/'.repeat(MAX_PATH_NAMES + 1)}`)).message).to.contain(`at most ${MAX_PATH_NAMES} names`)
    expect(thrown(() => parseRootPath('bafy-bad/a'))).to.be.instanceOf(InvalidCidError)
    // Where a root CID alone is taken, a path says so.
    expect(thrown(() => parseCid(`${root.toString()}/a`)).message).to.contain('it names a path inside a root, and this takes a root CID alone')
  })
})
