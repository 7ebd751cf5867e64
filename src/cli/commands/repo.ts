// Commands about this node's own repo and installation: doctor, init, gc, verify.
import { join } from 'node:path'
import type { Command } from 'commander'
import { DataLossError, InvalidArgumentError } from '../../errors.js'
import { parseCid } from '../../node/cid.js'
import { initRepo } from '../../repo/repo.js'
import { parseConfigValue } from '../config.js'
import type { CommandGroup } from '../commands.js'
import { doctorText, gcText, initText, verifyText } from '../format.js'
import { print, printJson, repoOf, withBackend, type JsonFlag } from '../run.js'

interface InitFlags { listen?: string[], bootstrap?: string[], api?: string, offer?: string }

export const repoCommands: CommandGroup = {
  doctor: (cmd) => cmd
    .description('check the whole node: repo, daemon and its API, addresses, peers, DHT, hash and erasure cores, disk against the quota (exits non-zero when a check fails)')
    .option('--json', 'print one JSON object')
    .action(showDoctor),

  init: (cmd) => cmd
    .description('create the repo (config and API token; the identity and blockstore follow on first use) if it does not exist')
    .option('--listen <multiaddr...>', 'addresses the node listens on (default /ip4/0.0.0.0/tcp/4021)')
    .option('--bootstrap <multiaddr...>', 'peers to join the network through')
    .option('--api <host:port>', 'where the daemon\'s HTTP API listens (default 127.0.0.1:5021)')
    .option('--offer <size>', 'space this node holds for other peers\' spread files: 50GiB, 500MB (default 0: none)')
    .action(createRepo),

  gc: (cmd) => cmd
    .description('delete every block that no pin reaches')
    .option('--json', 'print one JSON object')
    .action(collectGarbage),

  verify: (cmd) => cmd
    .description('re-hash every block of a root, report damage and repair it from parity')
    .argument('<cid>', 'root CID')
    .option('--no-repair', 'only report')
    .option('--json', 'print one JSON object')
    .action(verifyRoot)
}

async function showDoctor (o: JsonFlag, cmd: Command): Promise<void> {
  // Loaded here: its checks load the hash and erasure cores, which other commands need not wait for.
  const { doctorExitCode, doctorReport } = await import('../doctor.js')
  const report = await doctorReport(repoOf(cmd))
  if (o.json === true) printJson(report)
  else print(doctorText(report))
  // A warning is not a failure; a failed check exits with the status of what it stands for.
  process.exitCode = doctorExitCode(report)
}

async function createRepo (o: InitFlags, cmd: Command): Promise<void> {
  const path = repoOf(cmd)
  // Checked before anything is written.
  const offer = o.offer === undefined ? undefined : parseConfigValue('storage.offer', o.offer) as number
  const { created } = await initRepo(path, (c) => {
    if (o.listen !== undefined) c.network.listen = o.listen
    if (o.bootstrap !== undefined) c.network.bootstrap = o.bootstrap
    if (o.api !== undefined) c.api.address = o.api
    if (offer !== undefined) c.storage.offer = offer
  })
  if (!created && (o.listen !== undefined || o.bootstrap !== undefined || o.api !== undefined || o.offer !== undefined)) {
    throw new InvalidArgumentError(`a PeerLink repo already exists at ${path}, and init does not change it: edit ${join(path, 'config.json')} with \`peerlink config set <key> <value>\` (or a text editor)`)
  }
  print(initText(path, created))
}

async function collectGarbage (o: JsonFlag, cmd: Command): Promise<void> {
  await withBackend(cmd, async (b) => {
    const r = await b.gc()
    if (o.json === true) printJson(r)
    else print(gcText(r))
  })
}

async function verifyRoot (text: string, o: JsonFlag & { repair: boolean }, cmd: Command): Promise<void> {
  const cid = parseCid(text).toString()
  await withBackend(cmd, async (b) => {
    const r = await b.verify(cid, o.repair)
    if (o.json === true) printJson(r)
    else print(verifyText(r, o.repair))
    // Damage left in place exits as lost data does (DataLossError's status).
    if (!r.ok || (!o.repair && r.damaged.length > 0)) process.exitCode = DataLossError.exitCode
  })
}
