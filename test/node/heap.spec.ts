// The daemon's heap policy: V8 must honour it (the old generation's growth, the young
// generation's cap) when it is set from inside the process, and a bad PEERLINK_HEAP_GROWTH
// or PEERLINK_YOUNG_GENERATION must stop the daemon with a clear error before it starts.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect } from 'chai'
import { HEAP_GROWING_PERCENT, YOUNG_GENERATION_MB, reclaimAfterLoad, tuneHeap } from '../../src/node/heap.js'
import { runCli } from '../helpers/cli.js'
import { tempDir } from '../helpers/repo.js'

const HEAP = fileURLToPath(new URL('../../src/node/heap.ts', import.meta.url))

/** Runs `script` (an ES module, heap.ts importable) in a child node with `flags` and `env`; its stdout once it exited 0. */
function runChild (script: string, env: NodeJS.ProcessEnv = {}, flags: string[] = []): string {
  const r = spawnSync(process.execPath, [...flags, '--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, ...env }
  })
  expect(r.status, r.stderr).to.equal(0)
  return r.stdout
}

/** The growth factor V8 reports when it sets the old generation's limit after a full collection, in a child process. */
function factorAfterFullGc (growth?: string): number {
  const script = `const { tuneHeap } = await import(${JSON.stringify(HEAP)}); tuneHeap(); const live = Array.from({ length: 100000 }, (_, i) => ({ i })); gc(); console.log(live.length)`
  const out = runChild(script, { PEERLINK_HEAP_GROWTH: growth ?? '' }, ['--expose-gc', '--trace-gc-verbose'])
  const limits = [...out.matchAll(/\[HeapController\] Limit: .*\((\d+(?:\.\d+)?)\)/g)]
  expect(limits.length, 'V8 printed no old-generation limit').to.be.greaterThan(0)
  return Number(limits[limits.length - 1][1])
}

/**
 * The young generation's size, MB, after a child process has made garbage with short-lived
 * survivors (as a transfer's promises and frames are) in 3,000 turns of the event loop.
 */
function youngAfterChurn (young?: string): number {
  const script = `const { tuneHeap, youngGenerationBytes } = await import(${JSON.stringify(HEAP)}); tuneHeap()
    let keep = []
    for (let turn = 0; turn < 3000; turn++) {
      for (let i = 0; i < 2000; i++) { keep.push({ i, a: [i] }); if (keep.length > 20000) keep = [] }
      await new Promise(resolve => setImmediate(resolve))
    }
    console.log(youngGenerationBytes() / 1024 / 1024)`
  return Number(runChild(script, { PEERLINK_YOUNG_GENERATION: young ?? '' }).trim())
}

describe('heap policy', function () {
  this.timeout(60_000)

  it('sets the old generation to grow to 5× its live size, or as PEERLINK_HEAP_GROWTH says', () => {
    expect(factorAfterFullGc()).to.equal(1 + HEAP_GROWING_PERCENT / 100)
    expect(factorAfterFullGc('150')).to.equal(2.5)
  })

  it('keeps V8\'s own factor with PEERLINK_HEAP_GROWTH=default and refuses anything else but a percent', () => {
    expect(tuneHeap('default', 'default')).to.deep.equal({ growingPercent: 'v8', youngGenerationMb: 'v8' })
    for (const bad of ['lots', '0', '2001', '12.5', '-3']) {
      expect(() => tuneHeap(bad)).to.throw(`PEERLINK_HEAP_GROWTH must be a percent 1..2000 or "default", not "${bad}"`)
      expect(() => tuneHeap('default', bad)).to.throw(`PEERLINK_YOUNG_GENERATION must be a size in MB 2..32 or "default", not "${bad}"`)
    }
  })

  it('holds the young generation at 8 MB under churn, where V8 alone grows it further', () => {
    expect(youngAfterChurn()).to.be.at.most(YOUNG_GENERATION_MB)
    // 32 MB on Node 20 (two semi-spaces of 16).
    expect(youngAfterChurn('default')).to.be.greaterThan(YOUNG_GENERATION_MB)
  })

  it('stops the daemon before it starts when PEERLINK_HEAP_GROWTH or PEERLINK_YOUNG_GENERATION is out of range', async () => {
    const dir = await tempDir('peerlink-heap-')
    try {
      const repo = join(dir.path, 'repo')
      for (const [name, said] of [['PEERLINK_HEAP_GROWTH', 'must be a percent'], ['PEERLINK_YOUNG_GENERATION', 'must be a size in MB']]) {
        const r = await runCli(['--repo', repo, 'daemon', '--init'], { [name]: 'lots' })
        expect(r.code).to.equal(2)
        expect(r.stderr).to.include(`${name} ${said}`)
        expect(existsSync(repo)).to.equal(false)
      }
    } finally {
      await dir.cleanup()
    }
  })

  it('frees buffers that died in the old generation with one full collection, without --expose-gc', () => {
    // 256 blocks of 1 MiB live across collections (so they are promoted), then dropped: with
    // nothing more allocated, V8 would keep them (checked: 268 MB still held 2 s later).
    const script = `const { tuneHeap, collectGarbage } = await import(${JSON.stringify(HEAP)}); tuneHeap()
      let blocks = Array.from({ length: 256 }, () => Buffer.alloc(1024 * 1024, 1))
      for (let i = 0; i < 20; i++) { Array.from({ length: 200000 }, (_, j) => ({ j })); await new Promise(r => setTimeout(r, 5)) }
      blocks = undefined
      collectGarbage()
      // V8 frees the buffers' memory on a background thread after the collection.
      for (let i = 0; i < 60 && process.memoryUsage().arrayBuffers > 32 * 1024 * 1024; i++) await new Promise(r => setTimeout(r, 50))
      console.log(process.memoryUsage().arrayBuffers)`
    expect(Number(runChild(script).trim())).to.be.below(32 * 1024 * 1024)
  })

  it('collects once after a busy spell ends, and not while the node is idle or busy', async () => {
    let activity = 0
    let collected = 0
    const stop = reclaimAfterLoad(() => String(activity), { tick: 10, quiet: 100, collect: () => { collected++ } })
    try {
      await new Promise(resolve => setTimeout(resolve, 200))
      expect(collected, 'idle from the start').to.equal(0)
      for (let i = 0; i < 20; i++) {
        activity++
        await new Promise(resolve => setTimeout(resolve, 15))
      }
      expect(collected, 'busy').to.equal(0)
      for (let i = 0; i < 100; i++) {
        if (collected > 0) break
        await new Promise(resolve => setTimeout(resolve, 20))
      }
      expect(collected).to.equal(1)
      await new Promise(resolve => setTimeout(resolve, 300))
      expect(collected, 'quiet after the collection').to.equal(1)
    } finally {
      stop()
    }
  })
})
