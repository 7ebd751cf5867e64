// Reading what the user typed: a CID, or a share ticket (root CID plus the sharer's peer id
// and addresses), each refused with an error that says what is wrong with it.
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'chai'
import { InvalidCidError, InvalidTicketError } from '../../src/errors.js'
import { cidOf } from '../../src/hash/index.js'
import { parseCid, TICKET_PREFIX } from '../../src/node/cid.js'
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
})
