// Commands about the network: daemon, provide, find-providers, id, peers, connect.
import type { Command } from 'commander'
import type { Daemon } from '../../api/daemon.js'
import { NoProvidersError } from '../../errors.js'
import { parseCid } from '../../node/cid.js'
import { tuneHeap } from '../../node/heap.js'
import { configWith, initRepo } from '../../repo/repo.js'
import { parseDuration } from '../arguments.js'
import type { CommandGroup } from '../commands.js'
import { parseConfigValue } from '../config.js'
import { connectedText, daemonText, idText, noPeersHint, noProvidersNote, peersText, providedText } from '../format.js'
import { note, print, printJson, repoOf, withBackend, type JsonFlag } from '../run.js'

export const networkCommands: CommandGroup = {
  daemon: (cmd) => cmd
    .description('run a node on the repo: join the network, serve blocks, and answer the CLI through the local HTTP API')
    .option('--init', 'create the repo first if it does not exist')
    .option('--listen <multiaddr,...>', 'listen here for this run instead of network.listen (config.json is not changed)')
    .option('--api <host:port>', 'serve the API here for this run instead of api.address (host:port or /ip4/<host>/tcp/<port>)')
    .action(runDaemon),

  provide: (cmd) => cmd
    .description('announce in the DHT that this node holds a root (needs the daemon)')
    .argument('<cid>', 'root CID')
    .action(provideRoot),

  'find-providers': (cmd) => cmd
    .description('ask the DHT who provides a root')
    .argument('<cid>', 'root CID')
    .option('--timeout <duration>', 'give up after this long: 5s, 500ms, 2m, a plain number is ms (default 10s)', parseDuration)
    .option('--json', 'print one JSON array')
    .action(findProviders),

  id: (cmd) => cmd
    .description('show this node\'s peer id and addresses (needs the daemon)')
    .option('--json', 'print one JSON object')
    .action(showId),

  peers: (cmd) => cmd
    .description('list connected peers (needs the daemon)')
    .option('--json', 'print one JSON array')
    .action(listPeers),

  connect: (cmd) => cmd
    .description('connect to a peer by multiaddr (…/p2p/<peer id>) (needs the daemon)')
    .argument('<multiaddr>', 'the peer\'s address')
    .option('--json', 'print one JSON object')
    .action(connectPeer)
}

interface DaemonFlags { init?: boolean, listen?: string, api?: string }

async function runDaemon (o: DaemonFlags, cmd: Command): Promise<void> {
  const repo = repoOf(cmd)
  const heap = tuneHeap()
  if (o.init === true) await initRepo(repo)
  // The flags are read and checked as `config set` would take them, but only for this run.
  const changes: Record<string, unknown> = {}
  if (o.listen !== undefined) changes['network.listen'] = parseConfigValue('network.listen', o.listen)
  if (o.api !== undefined) changes['api.address'] = parseConfigValue('api.address', o.api)
  const flags = Object.keys(changes).map(k => k === 'api.address' ? '--api' : '--listen').join(' and ')
  const { config } = await configWith(repo, changes, flags)
  const { startDaemon } = await import('../../api/daemon.js')
  const daemon = await startDaemon(repo, { network: config.network, apiAddress: config.api.address })
  print(daemonText(daemon.info, repo, heap))
  // A first node (npm start) knows no network: say how to join one, or let another join it.
  if (config.network.bootstrap.length === 0 && daemon.node.network.host.getConnections().length === 0) note(noPeersHint(daemon.info.addresses))
  await untilStopped(daemon)
  // Stopped and closed: libp2p's leftover timers would keep the process up about 3 s more.
  process.exit()
}

/** Waits for SIGINT or SIGTERM, then stops the daemon (a failure to stop exits 1). */
async function untilStopped (daemon: Daemon): Promise<void> {
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      daemon.stop().then(resolve, (err: Error) => {
        note(`peerlink: stopping failed: ${err.message}`)
        process.exitCode = 1
        resolve()
      })
    }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
}

async function provideRoot (text: string, _o: unknown, cmd: Command): Promise<void> {
  const cid = parseCid(text).toString()
  await withBackend(cmd, async (b) => { print(providedText(await b.provide(cid))) })
}

async function findProviders (text: string, o: JsonFlag & { timeout?: number }, cmd: Command): Promise<void> {
  const cid = parseCid(text).toString()
  await withBackend(cmd, async (b) => {
    const found = await b.findProviders(cid, o.timeout)
    if (o.json === true) { printJson(found); return }
    print(peersText(found))
    // None found exits as NoProvidersError does.
    if (found.length === 0) { note(noProvidersNote(cid)); process.exitCode = NoProvidersError.exitCode }
  })
}

async function showId (o: JsonFlag, cmd: Command): Promise<void> {
  await withBackend(cmd, async (b) => {
    const r = await b.id()
    if (o.json === true) printJson(r)
    else print(idText(r))
  })
}

async function listPeers (o: JsonFlag, cmd: Command): Promise<void> {
  await withBackend(cmd, async (b) => {
    const r = await b.peers()
    if (o.json === true) printJson(r)
    else print(peersText(r))
  })
}

async function connectPeer (addr: string, o: JsonFlag, cmd: Command): Promise<void> {
  await withBackend(cmd, async (b) => {
    const r = await b.connect(addr)
    if (o.json === true) printJson(r)
    else print(connectedText(r))
  })
}
