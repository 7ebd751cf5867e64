// Commands about storage on other peers: spread (a pinned file or tree over the peers that
// offer space) and status (how a spread root stands). Both need the daemon: holders pull blocks
// from it, and it renews and repairs what it spread.
import type { Command } from 'commander'
import { parseCid } from '../../node/cid.js'
import type { SpreadResult, SpreadStatus } from '../../storage/service.js'
import { parseDuration } from '../arguments.js'
import type { CommandGroup } from '../commands.js'
import { formatBytes } from '../format.js'
import { print, printJson, withBackend, type JsonFlag } from '../run.js'

interface SpreadFlags extends JsonFlag { lease?: number }

export const storageCommands: CommandGroup = {
  spread: (cmd) => cmd
    .description('spread a pinned file, or a directory with every file under it, over the peers that offer space: each stripe\'s k+m blocks on distinct holders, the DAG nodes copied, under leases the daemon renews (needs the daemon)')
    .argument('<cid>', 'root CID of a pinned file or directory')
    .option('--lease <duration>', 'how long each lease runs before it must be renewed: 30d, 12h, 90s (default 30d)', parseDuration)
    .option('--json', 'print one JSON object, with the holders of every stripe')
    .action(spreadRoot),

  status: (cmd) => cmd
    .description('how a file or tree this node spread, or holds blocks of for another, stands: per stripe the live holders and blocks each holds, healthy / degraded / lost, and the repairs this node made (asks holders, downloads no file block; needs the daemon)')
    .argument('<cid>', 'root CID of a spread file or directory')
    .option('--json', 'print one JSON object')
    .action(showStatus)
}

async function spreadRoot (text: string, o: SpreadFlags, cmd: Command): Promise<void> {
  const cid = parseCid(text).toString()
  await withBackend(cmd, async (b) => {
    const r = await b.spread(cid, o.lease)
    if (o.json === true) printJson(r)
    else print(spreadText(r))
  })
}

async function showStatus (text: string, o: JsonFlag, cmd: Command): Promise<void> {
  const cid = parseCid(text).toString()
  await withBackend(cmd, async (b) => {
    const r = await b.health(cid)
    if (o.json === true) printJson(r)
    else print(healthText(r))
  })
}

/** What a spread did: how distinct the placement is, what it sent, what was refused. */
export function spreadText (r: SpreadResult): string[] {
  const lines = [r.distinct === r.shards
    ? `spread ${r.cid} over ${r.holders} holders: every stripe's ${r.shards} blocks on ${r.shards} distinct holders`
    : `spread ${r.cid} over ${r.holders} holders: only ${r.distinct} distinct holders for a stripe's ${r.shards} blocks (too few peers offer space); some hold two blocks of a stripe`]
  lines.push(`  sent ${formatBytes(r.bytesSent)} in ${(r.ms / 1000).toFixed(1)} s; leases until ${new Date(r.expires).toISOString()}, renewed by the daemon while the file stays pinned`)
  for (const x of r.refused) lines.push(`  refused by ${x.holder}: ${x.reason} (its blocks went to other holders)`)
  return lines
}

export function healthText (r: SpreadStatus): string[] {
  const lines = [`${r.cid}: ${r.health} (${r.stripes.length} stripes; DAG nodes: ${r.nodes.total}, ${r.nodes.degraded} with copies missing, ${r.nodes.lost} with none)`]
  for (const s of r.stripes) {
    const holders = s.holders.map(h => `${short(h.peer)}${h.reachable ? '' : ' (unreachable)'}:${h.shards.join(',') || '-'}`).join('  ')
    lines.push(`  stripe ${s.index}: ${s.health}, ${s.live}/${s.shards} blocks live on ${s.distinct} holders (any ${s.k} rebuild it)  ${holders}`)
  }
  for (const x of r.repairs) lines.push(`  repaired at ${new Date(x.at).toISOString()} (it was ${x.found}): ${x.blocks} blocks placed on new holders, ${formatBytes(x.bytesSent)} sent`)
  return lines
}

/** A peer id's last characters, enough to tell holders apart in a line. */
const short = (peer: string): string => `…${peer.slice(-8)}`
