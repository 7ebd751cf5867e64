// A node started for one CLI command (no daemon on its repo) sends no provider records: they
// would name a port that closes when the command ends, and live in the DHT for 24 h.
import { join } from 'node:path'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { expect } from 'chai'
import { DaemonRequiredError } from '../../src/errors.js'
import { loadIdentity } from '../../src/node/identity.js'
import type { PeerLinkNode } from '../../src/node/peerlink.js'
import { holdsRecord } from '../routing/holds-record.js'
import { daemonScratch, runCli, startDaemonProcess, type CliResult } from '../helpers/cli.js'
import { bootstrapFrom, randomFile, startNode, waitUntil } from '../helpers/network.js'

/** The peers `find-providers --json` listed (none found is exit 5 with an empty list). */
function providerIds (r: CliResult): string[] {
  return (JSON.parse(r.stdout) as Array<{ peer: string }>).map(p => p.peer)
}

describe('a short-lived CLI node', function () {
  this.timeout(90_000)
  const scratch = daemonScratch()

  it('announces neither its pinned roots nor what it fetched', async () => {
    scratch.daemon = await startDaemonProcess(join(scratch.path, 'daemon'))
    const daemon = scratch.daemon
    const served = await randomFile(scratch.path, 'served.bin', 300_000)
    const servedCid = (await runCli(['--repo', daemon.repo, 'add', '-q', served.path], {}, 30_000)).stdout.trim()

    // Another repo, no daemon on it, with a pinned root and the daemon as its bootstrap peer.
    const repo = join(scratch.path, 'cli-only')
    expect((await runCli(['--repo', repo, 'init', '--listen', '/ip4/127.0.0.1/tcp/0', '--bootstrap', ...daemon.dialable])).code).to.equal(0)
    const pinned = await randomFile(scratch.path, 'pinned.bin', 200_000)
    const pinnedCid = (await runCli(['--repo', repo, 'add', '-q', pinned.path])).stdout.trim()
    const self = peerIdFromPrivateKey(await loadIdentity(repo)).toString()

    // Each of these starts a node on a random port for as long as the command runs.
    const found = await runCli(['--repo', repo, 'find-providers', '--json', '--timeout', '4000', pinnedCid], {}, 30_000)
    expect(providerIds(found)).to.not.include(self)
    const fetched = await runCli(['--repo', repo, 'fetch', servedCid, '-o', join(scratch.path, 'copy.bin')], {}, 30_000)
    expect(fetched.code, fetched.stderr).to.equal(0)

    const ask = async (cid: string): Promise<string[]> => providerIds(await runCli(['--repo', daemon.repo, 'find-providers', '--json', '--timeout', '3000', cid], {}, 30_000))
    expect(await ask(pinnedCid), 'the pinned root was announced').to.not.include(self)
    expect(await ask(servedCid), 'the fetched root was announced').to.not.include(self)
  })

  it('in the library: a node opened with announce false adds without providing and refuses provide', async () => {
    const nodes: PeerLinkNode[] = []
    try {
      const boot = await startNode(join(scratch.path, 'lib-boot'))
      nodes.push(boot)
      const quiet = await startNode(join(scratch.path, 'lib-quiet'), bootstrapFrom([boot]), { announce: false })
      nodes.push(quiet)
      await waitUntil(() => quiet.network.host.getConnections().length > 0, 10_000, 'no connection to the bootstrap node')
      const f = await randomFile(scratch.path, 'lib.bin', 100_000)
      const added = await quiet.add(f.path)
      expect(added.provided).to.equal(undefined)
      let refused: unknown
      await quiet.provide(added.cid).catch(err => { refused = err })
      expect(refused).to.be.instanceOf(DaemonRequiredError)
      expect(quiet.network.reprovider.lastRound).to.equal(undefined)
      expect(await holdsRecord(boot, added.cid, quiet)).to.equal(false)
      // The default is unchanged: a node opened without the option tries to announce what it adds.
      expect((await boot.add(f.path)).provided).to.be.a('boolean')
    } finally {
      for (const n of nodes.reverse()) await n.stop()
    }
  })
})
