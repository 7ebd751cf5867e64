// The shares command: this node's pinned roots and who fetched each from it, as the running
// daemon recorded them (receivers are kept in its memory only, so it needs the daemon).
import type { Command } from 'commander'
import type { ShareStatusOut } from '../../api/routes/shares.js'
import { DaemonRequiredError } from '../../errors.js'
import { findDaemon } from '../client.js'
import type { CommandGroup } from '../commands.js'
import { sharesText } from '../format.js'
import { print, printJson, repoOf, type JsonFlag } from '../run.js'

export const shareCommands: CommandGroup = {
  shares: (cmd) => cmd
    .description('list this node\'s shares and who received each: fetching, or completed with the bytes it got from here (needs the daemon)')
    .option('--json', 'print one JSON array')
    .action(listShares)
}

async function listShares (o: JsonFlag, cmd: Command): Promise<void> {
  const repo = repoOf(cmd)
  const daemon = await findDaemon(repo)
  if (daemon === undefined) throw new DaemonRequiredError('shares (receivers are recorded by the daemon that served them)', repo)
  const shares = await daemon.call<ShareStatusOut[]>('GET', '/shares')
  if (o.json === true) printJson(shares)
  else print(sharesText(shares))
}
