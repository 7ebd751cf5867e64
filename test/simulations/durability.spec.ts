// The durability model on worlds small enough to follow by hand: which blocks a departure
// takes, what a repair moves and counts, who repairs while the owner is away.
import { expect } from 'chai'
import { placeStripe, stripeKey } from '../../src/storage/placement.js'
import { simulate, type Geometry } from '../../simulations/scenarios/durability/model.js'
import { drawSchedule, type NodeLife, type Params, type Schedule } from '../../simulations/scenarios/durability/schedule.js'
import { quickParams } from '../../simulations/scenarios/durability/index.js'
import { summarize } from '../../simulations/scenarios/durability/report.js'

const RS42: Geometry = { name: 'RS(4,2)', k: 4, m: 2 }
const B = 1024
const ROOT = new TextEncoder().encode('a root')

function params (days: number): Params {
  return { nodes: 20, days, files: 1, owners: 1, dataBlocks: 4, blockBytes: B, leavePerDay: 0, joinPerDay: 0, outagePerDay: 0, outageHours: [1, 1], awayPerDay: 0, awayDays: [1, 1], checkHours: 24, takeoverHours: 48, graceHours: 0 }
}

/** 20 nodes up from the start, one file checked at hours 0, 24, 48 …; `away` is the owner's absence [from, to). */
function world (days: number, away?: [number, number]): { s: Schedule, holders: number[] } {
  const nodes: NodeLife[] = Array.from({ length: 20 }, (_, i) => ({ id: `n${i}`, key: new TextEncoder().encode(`node-${i}`), join: 0, leave: Infinity, outages: [] }))
  const awaySince = new Int32Array(days * 24).fill(-1)
  if (away !== undefined) awaySince.fill(away[0], away[0], away[1])
  const s: Schedule = { hours: days * 24, nodes, awaySince: [awaySince], files: [{ root: ROOT, owner: 0, checkOffset: 0 }] }
  const holders = placeStripe(stripeKey(ROOT, 0), 6, nodes).holders.map(id => Number(id.slice(1)))
  return { s, holders }
}

describe('simulation: durability model', () => {
  it('a repair after one departure counts k blocks read and the lost one written', () => {
    const { s, holders } = world(3)
    s.nodes[holders[2]].leave = 5
    const run = simulate(RS42, 'owner', params(3), s)
    expect(run.days.map(d => d.stripesRepaired)).to.deep.equal([0, 1, 0])
    expect(run.days[1].repairBytes).to.equal((4 + 1) * B)
    expect(run.days.every(d => d.surviving === 1)).to.equal(true)
  })

  it('without repair m + 1 departures lose the file; with repair, spread over checks, it survives', () => {
    const leaveDaily = (s: Schedule, holders: number[]): void => { holders.slice(0, 3).forEach((h, i) => { s.nodes[h].leave = 5 + 24 * i }) }
    const off = world(4)
    leaveDaily(off.s, off.holders)
    const lost = simulate(RS42, 'off', params(4), off.s)
    expect(lost.days.map(d => d.surviving)).to.deep.equal([1, 1, 0, 0])
    expect(lost.firstLossDay).to.equal(3)
    const on = world(4)
    leaveDaily(on.s, on.holders)
    const kept = simulate(RS42, 'owner', params(4), on.s)
    expect(kept.days.map(d => d.surviving)).to.deep.equal([1, 1, 1, 1])
    expect(kept.firstLossDay).to.equal(null)
  })

  it('while the owner is away, only holders taking over keep the file', () => {
    const run = (repair: 'owner' | 'holders'): number[] => {
      const { s, holders } = world(6, [0, 6 * 24])
      holders.slice(0, 3).forEach((h, i) => { s.nodes[h].leave = 53 + 24 * i })
      return simulate(RS42, repair, params(6), s).days.map(d => d.surviving)
    }
    expect(run('owner')).to.deep.equal([1, 1, 1, 1, 0, 0])
    expect(run('holders')).to.deep.equal([1, 1, 1, 1, 1, 1])
  })

  it('a holder that is down but comes back still holds its block', () => {
    const { s, holders } = world(3)
    for (const h of holders.slice(0, 3)) s.nodes[h].outages.push([5, 30])
    const run = simulate(RS42, 'off', params(3), s)
    expect(run.days.map(d => [d.surviving, d.available])).to.deep.equal([[1, 0], [1, 1], [1, 1]])
  })

  it('waits out a holder down for less than the grace period instead of replacing it', () => {
    const run = (graceHours: number): number[] => {
      const { s, holders } = world(3)
      s.nodes[holders[1]].outages.push([5, 30])
      return simulate(RS42, 'owner', { ...params(3), graceHours }, s).days.map(d => d.repairBytes)
    }
    expect(run(0)).to.deep.equal([0, 5 * B, 0])
    expect(run(24)).to.deep.equal([0, 0, 0])
  })

  it('is the same world and the same figures for the same seed, another for another seed', () => {
    const p = { ...quickParams(40), days: 10, files: 4 }
    const a = simulate(RS42, 'holders', p, drawSchedule(p, 3))
    expect(simulate(RS42, 'holders', p, drawSchedule(p, 3))).to.deep.equal(a)
    expect(drawSchedule(p, 4).nodes.map(n => n.leave)).to.not.deep.equal(drawSchedule(p, 3).nodes.map(n => n.leave))
  })

  it('refuses a file that does not split into stripes', () => {
    const { s } = world(1)
    expect(() => simulate({ name: 'RS(3,2)', k: 3, m: 2 }, 'off', params(1), s)).to.throw(/do not split into stripes of k = 3/)
  })

  it('sums a run into shares of files, the overhead and repair traffic', () => {
    const day = (n: number, surviving: number, repairBytes: number): { day: number, surviving: number, available: number, repairBytes: number, stripesRepaired: number, liveNodes: number } => ({ day: n, surviving, available: surviving - 1, repairBytes, stripesRepaired: repairBytes > 0 ? 1 : 0, liveNodes: 100 })
    const run = { geometry: { name: 'RS(10,4)', k: 10, m: 4 }, repair: 'holders' as const, firstLossDay: 2, days: [day(1, 10, 0), day(2, 9, 3 * 2 ** 20), day(3, 8, 2 ** 20)] }
    expect(summarize(run, 10)).to.deep.equal({ geometry: 'RS(10,4)', k: 10, m: 4, overhead: 1.4, repair: 'holders', surviving: 0.8, available: 0.7, firstLossDay: 2, repairGiB: 0, repairMiBPerDay: 1.3, stripesRepaired: 2 })
  })
})
