// Crash torture (scripts/lib/torture.ts): a daemon killed with SIGKILL at random moments of
// add, fetch, gc and verify leaves a repo that opens, holds no damaged or missing indexed
// block, no half-made pin, and resumes a fetch without bringing indexed blocks again. The
// script runs many kills (`npm run torture`); here a few, with a fixed seed. The checks are
// themselves shown to catch what a crash must never leave.
import { open, truncate, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'chai'
import type { CID } from 'multiformats/cid'
import { PeerLinkNode } from '../../src/node/peerlink.js'
import { checkRepo } from '../../scripts/lib/torture-checks.js'
import { OPERATIONS, runTorture } from '../../scripts/lib/torture.js'
import { runCli } from '../helpers/cli.js'
import { randomFile } from '../helpers/network.js'
import { stripesOf, tempDir } from '../helpers/repo.js'

describe('crash torture', function () {
  this.timeout(240_000)

  it('reports a missing block file, a damaged block, a half-made pin, a finished add left unpinned and files and packs a gc left', async () => {
    const dir = await tempDir()
    try {
      const repo = join(dir.path, 'repo')
      expect((await runCli(['--repo', repo, 'init'])).code).to.equal(0)
      const f = await randomFile(dir.path, 'f.bin', 3 * 1024 * 1024)
      const node = await PeerLinkNode.open(repo)
      const root = (await node.add(f.path, { chunkSize: 256 * 1024 })).cid
      const [stripe, last] = await stripesOf(node.blockstore, root)
      await node.stop()
      const file = (id: string): string => join(repo, 'blocks', 'data', id.slice(-2), id)
      // The data chunks are in the file's pack, at their offsets in the file; parity is loose.
      const pack = join(repo, 'blocks', 'packs', root.toString())
      const sound = await checkRepo(repo, { damaged: new Set(), pinned: [root.toString()], count: new Map() })
      expect(sound.problems).to.deep.equal([])

      // The file's last chunk (chunk 11, in the second stripe) cut off the pack's end.
      const missing = (last.node.data.at(-1) as CID).toString()
      await truncate(pack, 11 * 256 * 1024)
      const damaged = stripe.node.data[1].toString()
      const fh = await open(pack, 'r+')
      await fh.write(Buffer.from('not the bytes it had'), 0, undefined, 256 * 1024 + 1000)
      await fh.close()
      // Five of the first stripe's 14 blocks gone (m = 4): beyond what parity rebuilds.
      const parity = stripe.node.parity.map(c => c.toString())
      for (const c of parity) await unlink(file(c))
      const r = await checkRepo(repo, { damaged: new Set(), pinned: [root.toString(), 'bafkreinotpinned'], count: new Map() })
      expect(r.problems.join('\n')).to.include(`the index names ${missing} but its file is missing`)
        .and.to.include(`indexed block ${damaged} is damaged`)
        .and.to.match(new RegExp(`pin ${root.toString()} \\(f.bin\\) is half-made`))
        .and.to.include('bafkreinotpinned finished before the kill but is not pinned')
      // A file no index entry names, and a temporary a kill left, after a gc that finished.
      await writeFile(join(repo, 'blocks', 'data', parity[0].slice(-2), `${parity[0]}.0a1b2c.tmp`), 'half a block')
      await writeFile(join(repo, 'blocks', 'packs', 'import0a1b2c'), 'an add killed before its pack was named')
      const gc = await checkRepo(repo, { damaged: new Set([damaged]), pinned: [], count: new Map(), collected: true })
      expect(gc.problems.join('\n')).to.include(`gc finished but left 1 files the index does not name (${parity[0]}.0a1b2c.tmp)`)
        .and.to.include('gc finished but left 1 packs no index entry is in (import0a1b2c)')
      // A block damaged on purpose (a verify round) is not counted as damage a crash left.
      const allowed = await checkRepo(repo, { damaged: new Set([damaged]), pinned: [], count: new Map() })
      expect(allowed.problems.join('\n')).to.not.include(damaged)
    } finally {
      await dir.cleanup()
    }
  })

  it('survives kills at random moments of add, fetch, gc and verify (seed 24)', async () => {
    const r = await runTorture({ kills: 8, seed: 24, maxSeconds: 180 })
    expect(r.failures, JSON.stringify(r.failures, null, 2)).to.deep.equal([])
    expect(r.stopped).to.equal(undefined)
    expect(r.kills).to.equal(8)
    // The operations come in shuffles of all four: each is killed twice in eight rounds.
    for (const op of OPERATIONS) expect(r.by_operation[op].kills, op).to.equal(2)
  })
})
