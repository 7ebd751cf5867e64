// The reprovide plan on its own: no peers, no network, no DHT. Peers are names with seeded
// places in the keyspace, and every lookup the plan asks for is answered with the K truly
// closest of them (as a converged Kademlia lookup returns them), so each run is the same.
import { createHash } from 'node:crypto'
import { expect } from 'chai'
import { InvalidArgumentError } from '../../src/errors.js'
import { ReprovidePlan, toBig, type Known, type LookupAnswer, type PlanRoot, type PlanStep } from '../../src/routing/reprovide-plan.js'

const K = 20
const placeOf = (key: Uint8Array): Uint8Array => createHash('sha256').update(key).digest()

/** Deterministic bytes from a seed (mulberry32). */
function seeded (seed: number): (n: number) => Uint8Array<ArrayBuffer> {
  let s = seed >>> 0
  const next = (): number => {
    s = (s + 0x6D2B79F5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) & 0xff
  }
  return n => Uint8Array.from({ length: n }, next)
}

interface World { peers: Array<Known<string>>, roots: Array<PlanRoot<string>> }

function world (seed: number, peerCount: number, rootCount: number): World {
  const bytes = seeded(seed)
  const peers = Array.from({ length: peerCount }, (_, i) => ({ id: `peer${i}`, key: toBig(bytes(32)) }))
  const roots = Array.from({ length: rootCount }, (_, i) => {
    const target = bytes(34)
    return { root: `root${i}`, target, key: toBig(placeOf(target)) }
  })
  return { peers, roots }
}

function closest (peers: Array<Known<string>>, key: bigint): Array<Known<string>> {
  return [...peers].sort((a, b) => (a.key ^ key) < (b.key ^ key) ? -1 : 1).slice(0, K)
}

interface Outcome { lookups: number, placed: Map<string, string[]>, unplaced: string[], order: string[] }

/**
 * Runs the plan to the end. `answer` answers the n-th lookup (default: the K closest);
 * returning an Error fails that lookup.
 */
function run (w: World, answer?: (n: number, key: bigint) => LookupAnswer<string> | Error): Outcome {
  const steps = new ReprovidePlan<string, string>(w.roots, { k: K, placeOf }).steps()
  const out: Outcome = { lookups: 0, placed: new Map(), unplaced: [], order: [] }
  let next = steps.next()
  while (next.done !== true) {
    const step: PlanStep<string, string> = next.value
    if (step.kind === 'lookup') {
      expect(step.key).to.equal(toBig(placeOf(step.target)), 'a lookup is asked for the place of its own key')
      const a = answer?.(out.lookups, step.key) ?? { closest: closest(w.peers, step.key), incomplete: false }
      out.lookups++
      next = a instanceof Error ? steps.throw(a) : steps.next(a)
      continue
    }
    out.order.push(step.root)
    if (step.kind === 'unplaced') out.unplaced.push(step.root)
    else out.placed.set(step.root, step.peers.map(p => p.id).sort())
    next = steps.next()
  }
  return out
}

/** Roots whose record does not go to exactly their K closest peers. */
function misplaced (w: World, out: Outcome): string[] {
  return w.roots.filter(r => closest(w.peers, r.key).map(p => p.id).sort().join() !== (out.placed.get(r.root) ?? []).join()).map(r => r.root)
}

describe('reprovide plan', function () {
  this.timeout(60_000)

  it('places every root at exactly its K closest peers, with one lookup for a network under K', () => {
    const w = world(1, 12, 100)
    const out = run(w)
    expect(out.lookups).to.equal(1)
    expect(misplaced(w, out)).to.deep.equal([])
    expect(out.unplaced).to.deep.equal([])
  })

  it('needs a few lookups per K peers of the network, not one per root', () => {
    const w = world(2, 400, 400)
    const out = run(w)
    expect(misplaced(w, out)).to.deep.equal([])
    // About 2 × 400 / 20 regions of the keyspace; one lookup per root would be 400.
    expect(out.lookups).to.be.at.most(100)
  })

  it('never makes more lookups than roots, over many seeded rounds', () => {
    const shapes = [{ peers: 400, roots: 10 }, { peers: 400, roots: 3 }, { peers: 150, roots: 25 }, { peers: 600, roots: 40 }, { peers: 30, roots: 2 }]
    for (const shape of shapes) {
      for (let seed = 0; seed < 40; seed++) {
        const w = world(1000 * shape.peers + seed, shape.peers, shape.roots)
        const out = run(w)
        expect(out.lookups, `seed ${seed}, ${shape.roots} roots on ${shape.peers} peers`).to.be.at.most(shape.roots)
        expect(misplaced(w, out), `seed ${seed}, ${shape.roots} roots on ${shape.peers} peers`).to.deep.equal([])
      }
    }
  })

  it('gives each root its turn once, in keyspace order', () => {
    const w = world(3, 400, 60)
    const out = run(w)
    const byKey = [...w.roots].sort((a, b) => a.key < b.key ? -1 : 1).map(r => r.root)
    expect(out.order).to.deep.equal(byKey)
  })

  it('plans the same steps for the same roots and answers', () => {
    const w = world(4, 300, 50)
    expect(run(w)).to.deep.equal(run(w))
  })

  it('takes a lookup that met fewer than K peers because some did not answer for no region', () => {
    const w = world(5, 400, 200)
    // The first lookup meets only 5 peers, half of those asked not answering.
    const out = run(w, (n, key) => n === 0 ? { closest: closest(w.peers, key).slice(0, 5), incomplete: true } : { closest: closest(w.peers, key), incomplete: false })
    // Taken for the whole network, its 5 peers would get the records of every later root.
    expect(misplaced(w, out)).to.have.length(1)
    expect(out.unplaced).to.deep.equal([])
  })

  it('takes a lookup that met every peer, all answering, for the whole network', () => {
    const w = world(6, 400, 50)
    // Fewer than K found with nobody silent: the network is that small.
    const few = w.peers.slice(0, 7)
    const out = run(w, (_, key) => ({ closest: closest(few, key), incomplete: false }))
    expect(out.lookups).to.equal(1)
    for (const peers of out.placed.values()) expect(peers).to.deep.equal(few.map(p => p.id).sort())
  })

  it('leaves a root whose lookup failed unplaced and places the others', () => {
    const w = world(7, 400, 30)
    const out = run(w, (n, key) => n === 0 ? new Error('lookup timed out') : { closest: closest(w.peers, key), incomplete: false })
    expect(out.unplaced).to.have.length(1)
    expect(out.placed.size).to.equal(29)
    expect(misplaced(w, out)).to.deep.equal(out.unplaced)
  })

  it('leaves a root unplaced when its lookup found no peer', () => {
    const w = world(8, 400, 1)
    const out = run(w, () => ({ closest: [], incomplete: true }))
    expect(out.unplaced).to.deep.equal(['root0'])
  })

  it('plans nothing for no roots', () => {
    expect(run(world(9, 10, 0))).to.deep.equal({ lookups: 0, placed: new Map(), unplaced: [], order: [] })
  })

  it('refuses a lookup step resumed without its answer', () => {
    const steps = new ReprovidePlan(world(10, 10, 1).roots, { k: K, placeOf }).steps()
    expect(steps.next().value).to.include({ kind: 'lookup' })
    expect(() => steps.next()).to.throw(InvalidArgumentError)
  })
})
