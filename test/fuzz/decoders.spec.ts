// Property-based tests over every decoder that reads bytes or text from outside: the file
// DAG's nodes, share tickets and CIDs. Random and mutated inputs must be either decoded or
// refused with a PeerLink error: never a crash, never another exception, never a result that
// breaks the format's limits.
import * as dagCbor from '@ipld/dag-cbor'
import { expect } from 'chai'
import fc from 'fast-check'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { InvalidArgumentError, InvalidCidError, InvalidManifestError, InvalidTicketError, PeerLinkError } from '../../src/errors.js'
import { decodeNode, encodeNode, MAX_DIRECTORY_ENTRIES, MAX_STRIPE_SHARDS, type Node } from '../../src/files/format.js'
import { cidOf } from '../../src/hash/index.js'
import { parseCid } from '../../src/node/cid.js'
import { encodeTicket, parseTarget } from '../../src/node/ticket.js'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { check, mutated, refusesOrDecodes } from './runs.js'

const rawCid = cidOf(new Uint8Array([1, 2, 3]))
const nodeCid = (bytes: Uint8Array): CID => CID.createV1(dagCbor.code, cidOf(bytes).multihash)

function validNodes (): Node[] {
  const stripe = encodeNode({ peerlink: 1, type: 'stripe', index: 0, shardSize: 65536, data: [rawCid, rawCid], parity: [rawCid] })
  return [
    { peerlink: 1, type: 'file', name: 'a.txt', mediaType: 'text/plain', size: 100_000, chunkSize: 65536, hash: { alg: 'blake3', digest: new Uint8Array(32) }, erasure: { scheme: 'reed-solomon/cauchy/gf256-11d', k: 2, m: 1 }, stripeCount: 1, stripes: { depth: 0, fanout: 16, links: [stripe.cid] } },
    { peerlink: 1, type: 'stripe', index: 3, shardSize: 65536, data: [rawCid, rawCid], parity: [rawCid] },
    { peerlink: 1, type: 'index', depth: 0, links: [stripe.cid, stripe.cid] },
    { peerlink: 1, type: 'directory', name: 'd', size: 5, entries: [{ name: 'x', cid: stripe.cid, size: 5, type: 'file' }] }
  ]
}

/** What a decoded node may never be, whatever the bytes said. */
function checkLimits (node: Node): void {
  if (node.type === 'directory') expect(node.entries.length).to.be.at.most(MAX_DIRECTORY_ENTRIES)
  if (node.type === 'stripe') expect(node.data.length + node.parity.length).to.be.at.most(MAX_STRIPE_SHARDS)
  if (node.type === 'file') expect(node.erasure.k + node.erasure.m).to.be.at.most(MAX_STRIPE_SHARDS)
}

function decodesOrRefuses (bytes: Uint8Array): void {
  const out = refusesOrDecodes(() => decodeNode(nodeCid(bytes), bytes))
  if (out instanceof PeerLinkError) expect(out).to.be.instanceOf(InvalidManifestError)
  else checkLimits(out)
}

/** dag-cbor values shaped like nodes, with fields of any type. */
const anyValue = fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.string(), fc.boolean(), fc.constant(null),
  fc.constant(rawCid), fc.uint8Array({ maxLength: 40 }), fc.array(fc.oneof(fc.constant(rawCid), fc.integer()), { maxLength: 300 }))
const nodeShaped = fc.record({
  peerlink: fc.oneof(fc.constant(1), anyValue),
  type: fc.constantFrom('file', 'stripe', 'index', 'directory', 'other'),
  name: anyValue,
  mediaType: anyValue,
  size: anyValue,
  chunkSize: anyValue,
  index: anyValue,
  depth: anyValue,
  shardSize: anyValue,
  data: anyValue,
  parity: anyValue,
  links: anyValue,
  entries: fc.oneof(anyValue, fc.array(fc.record({ name: anyValue, cid: anyValue, size: anyValue, type: fc.constantFrom('file', 'directory', 'x') }), { maxLength: 20 })),
  stripeCount: anyValue,
  stripes: fc.oneof(anyValue, fc.record({ depth: anyValue, fanout: anyValue, links: anyValue })),
  erasure: fc.oneof(anyValue, fc.record({ scheme: fc.constant('reed-solomon/cauchy/gf256-11d'), k: anyValue, m: anyValue })),
  hash: fc.oneof(anyValue, fc.record({ alg: fc.constant('blake3'), digest: fc.uint8Array({ minLength: 32, maxLength: 32 }) }))
}, { requiredKeys: ['peerlink', 'type'] })

describe('fuzz: decoders', function () {
  this.timeout(120_000)

  it('file DAG nodes: random bytes are refused with InvalidManifestError', () => {
    check(fc.uint8Array({ maxLength: 512 }), decodesOrRefuses)
  })

  it('file DAG nodes: mutations of every valid node type decode or are refused', () => {
    for (const node of validNodes()) {
      const { bytes } = encodeNode(node)
      expect(decodeNode(nodeCid(bytes), bytes).type).to.equal(node.type)
      check(mutated(bytes), decodesOrRefuses)
    }
  })

  it('file DAG nodes: node-shaped values with fields of any type decode within limits or are refused', () => {
    check(nodeShaped, value => { decodesOrRefuses(dagCbor.encode(value)) })
  })

  it('file DAG nodes: a raw CID is refused as no node at all', () => {
    check(fc.uint8Array({ maxLength: 64 }), bytes => {
      expect(refusesOrDecodes(() => decodeNode(CID.createV1(raw.code, cidOf(bytes).multihash), bytes))).to.be.instanceOf(InvalidManifestError)
    })
  })

  it('CIDs: any text is parsed or refused with InvalidCidError', () => {
    check(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), mutated(new TextEncoder().encode(rawCid.toString())).map(b => new TextDecoder().decode(b))), text => {
      const out = refusesOrDecodes(() => parseCid(text))
      if (out instanceof PeerLinkError) expect(out).to.be.instanceOf(InvalidCidError)
    })
  })

  it('tickets: random and mutated tickets (and key fragments) are parsed or refused with InvalidTicketError, InvalidCidError or a bad-key error', () => {
    const ticket = encodeTicket({
      root: rawCid,
      peer: peerIdFromString('12D3KooWLjAqS2R6cRaQBTj5FEgTF2hFZp9Jfb6EHqsz2JMrC3Ry'),
      addrs: [multiaddr('/ip4/127.0.0.1/tcp/4021'), multiaddr('/ip6/::1/tcp/4021')]
    })
    expect(parseTarget(ticket).root.equals(rawCid)).to.equal(true)
    const body = new TextEncoder().encode(ticket)
    const texts = fc.oneof(
      fc.string().map(s => 'peerlink:' + s),
      fc.string({ unit: 'binary' }),
      mutated(body).map(b => new TextDecoder().decode(b)),
      fc.constant(ticket.slice(0, ticket.length - 7)),
      fc.string().map(s => ticket + '#' + s),
      fc.string().map(s => ticket + '#k=' + s)
    )
    // What follows '#' is a private root's key: a bad one is an InvalidArgumentError about the key.
    const badKey = (e: Error): boolean => e instanceof InvalidArgumentError && /key/.test(e.message)
    check(texts, text => {
      const out = refusesOrDecodes(() => parseTarget(text))
      if (out instanceof PeerLinkError) expect(out).to.satisfy((e: Error) => e instanceof InvalidTicketError || e instanceof InvalidCidError || badKey(e))
      else expect(out.addrs.length).to.be.at.most(16)
    })
  })
})
