import { expect } from 'chai'
import { CID } from 'multiformats/cid'
import type { OfferingHolder } from '../../src/storage/owner.js'
import type { SpreadRecord } from '../../src/storage/records.js'
import { spreadOut } from '../../src/storage/spread.js'
import { closestHolders, placeReplicas, placeStripe, position, refillStripe, stripeKey, type Holder } from '../../src/storage/placement.js'

function holders (n: number): Holder[] {
  return Array.from({ length: n }, (_, i) => ({ id: `h${i}`, key: new TextEncoder().encode(`holder-${i}`) }))
}

/** The XOR distance as a bigint, computed independently of the module's comparison. */
function distance (key: Uint8Array, holder: Holder): bigint {
  const a = position(key)
  const b = position(holder.key)
  let d = 0n
  for (let i = 0; i < a.length; i++) d = (d << 8n) | BigInt(a[i] ^ b[i])
  return d
}

describe('storage: placement', () => {
  const root = new TextEncoder().encode('a root cid')

  it('places each shard of a stripe on a distinct holder, closest first', () => {
    const all = holders(12)
    const key = stripeKey(root, 3)
    const p = placeStripe(key, 6, all)
    expect(p.distinct).to.equal(6)
    expect(new Set(p.holders).size).to.equal(6)
    const byDistance = [...all].sort((a, b) => distance(key, a) < distance(key, b) ? -1 : 1).slice(0, 6).map(h => h.id)
    expect(p.holders).to.deep.equal(byDistance)
  })

  it('is the same whatever order the holders are known in', () => {
    const all = holders(20)
    const key = stripeKey(root, 0)
    const shuffled = [...all].reverse()
    expect(placeStripe(key, 6, shuffled)).to.deep.equal(placeStripe(key, 6, all))
  })

  it('spreads different stripes over different holders', () => {
    const all = holders(20)
    const firsts = new Set(Array.from({ length: 40 }, (_, i) => placeStripe(stripeKey(root, i), 6, all).holders[0]))
    expect(firsts.size).to.be.greaterThan(5)
  })

  it('repeats holders when there are fewer than shards and says how distinct', () => {
    const p = placeStripe(stripeKey(root, 1), 6, holders(4))
    expect(p.distinct).to.equal(4)
    expect(p.holders).to.have.length(6)
    expect(p.holders.slice(4)).to.deep.equal(p.holders.slice(0, 2))
  })

  it('keeps the ranking of the others when a holder leaves', () => {
    const all = holders(12)
    const key = stripeKey(root, 7)
    const before = placeStripe(key, 6, all).holders
    const gone = before[2]
    const after = placeStripe(key, 6, all.filter(h => h.id !== gone)).holders
    // Everyone closer than the lost holder keeps its rank; the rest move up by one.
    expect(after.slice(0, 2)).to.deep.equal(before.slice(0, 2))
    expect(after.slice(2, 5)).to.deep.equal(before.slice(3, 6))
    expect(after).to.not.include(gone)
  })

  it('replicates a node on the closest holders and ignores duplicates', () => {
    const all = holders(8)
    const key = new TextEncoder().encode('node')
    const r = placeReplicas(key, 3, [...all, ...all])
    expect(r).to.deep.equal(closestHolders(key, all).slice(0, 3).map(h => h.id))
  })

  it('refuses nonsense', () => {
    expect(() => placeStripe(root, 0, holders(3))).to.throw(/at least one shard/)
    expect(() => placeStripe(root, 3, [])).to.throw(/no holders/)
    expect(() => stripeKey(root, -1)).to.throw(/non-negative/)
  })
})

describe('storage: refilling a stripe', () => {
  const key = stripeKey(new TextEncoder().encode('root'), 2)

  it('moves only the lost shards, to the closest holders not in the stripe', () => {
    const all = holders(12)
    const before = placeStripe(key, 6, all).holders
    const lost = [before[1], before[4]]
    const live = all.filter(h => !lost.includes(h.id))
    const current = before.map(h => lost.includes(h) ? null : h)
    const after = refillStripe(key, current, live)
    expect(after.distinct).to.equal(6)
    for (const i of [0, 2, 3, 5]) expect(after.holders[i]).to.equal(before[i])
    const unused = closestHolders(key, live).map(h => h.id).filter(id => !before.includes(id))
    expect([after.holders[1], after.holders[4]]).to.deep.equal(unused.slice(0, 2))
  })

  it('repeats holders only when all are used', () => {
    const all = holders(4)
    const after = refillStripe(key, ['h0', 'h1', 'h2', 'h3', null, null], all)
    expect(after.distinct).to.equal(4)
    expect(after.holders.slice(0, 4)).to.deep.equal(['h0', 'h1', 'h2', 'h3'])
  })
})

describe('storage: spreading out a crowded stripe', () => {
  const root = CID.parse('bafkr4ihkr4ld3m4gqkjf4reryxsy2s5tkbxprqkow6fws2rtlh3q3ei6s4')
  const blocks = ['b0', 'b1', 'b2', 'b3', 'b4', 'b5']
  const offering = (n: number): OfferingHolder[] => holders(n).map(h => ({ ...h, free: 1000 }))
  const record = (stripe: string[]): SpreadRecord => ({ root: root.toString(), stripes: [{ blocks: [...blocks], sizes: blocks.map(() => 10), holders: stripe, k: 4 }], nodes: [], lease: 0, expires: 0 })

  it('moves the second shards of a shared holder to holders the stripe does not use, the first shards staying', () => {
    const r = record(['h0', 'h1', 'h2', 'h3', 'h0', 'h1'])
    const moved = spreadOut(root, r, () => true, offering(8), new Map(offering(8).map(h => [h.id, h.free])), 64)
    const after = r.stripes[0].holders
    expect(new Set(after).size).to.equal(6)
    expect(after.slice(0, 4)).to.deep.equal(['h0', 'h1', 'h2', 'h3'])
    expect([...moved.values()].flatMap(m => m.cids).sort()).to.deep.equal(['b4', 'b5'])
  })

  it('moves only as many as there are new holders and the budget allows, never onto another shared holder, and leaves a lost shard to the repair', () => {
    const r = record(['h0', 'h0', 'h0', 'h1', 'h2', 'h3'])
    spreadOut(root, r, () => true, offering(5), new Map(offering(5).map(h => [h.id, h.free])), 64)
    expect(r.stripes[0].holders.filter(h => h === 'h0')).to.have.length(2)
    expect(r.stripes[0].holders).to.include('h4')

    const budget = record(['h0', 'h0', 'h0', 'h1', 'h2', 'h3'])
    expect([...spreadOut(root, budget, () => true, offering(8), new Map(offering(8).map(h => [h.id, h.free])), 1).values()].flatMap(m => m.cids)).to.have.length(1)

    const gone = record(['h0', 'h1', 'h2', 'h3', 'h0', 'h1'])
    spreadOut(root, gone, (h, c) => c !== 'b5', offering(8), new Map(offering(8).map(h => [h.id, h.free])), 64)
    expect(gone.stripes[0].holders[5]).to.equal('h1')
    expect(gone.stripes[0].holders[4]).to.not.equal('h0')

    const full = record(['h0', 'h1', 'h2', 'h3', 'h0', 'h1'])
    expect(spreadOut(root, full, () => true, offering(8), new Map(offering(8).map(h => [h.id, 5])), 64).size).to.equal(0)
  })
})
