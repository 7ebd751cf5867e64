// The commands, one module per group (commands/*.ts). Each runs against the daemon's API when
// a daemon holds the repo, or opens the repo itself otherwise (see backend.ts), does one
// thing, and closes it.
import type { Command } from 'commander'
import { configCommands } from './commands/config.js'
import { fileCommands } from './commands/files.js'
import { networkCommands } from './commands/network.js'
import { repoCommands } from './commands/repo.js'
import { shareCommands } from './commands/shares.js'
import { storageCommands } from './commands/storage.js'
import { uiCommands } from './commands/ui.js'

/** A group's commands by name, each setting up its Command: description, arguments, options, action. */
export type CommandGroup = Record<string, (cmd: Command) => void>

/** The order `peerlink --help` lists the commands in: as a user meets them, not by group. */
const HELP_ORDER = ['doctor', 'init', 'config', 'daemon', 'add', 'share', 'cat', 'fetch', 'provide', 'find-providers', 'id', 'peers', 'connect', 'stat', 'ls', 'rm', 'gc', 'verify', 'shares', 'spread', 'status', 'ui']

export function registerCommands (program: Command): void {
  const groups: CommandGroup = { ...repoCommands, ...configCommands, ...fileCommands, ...networkCommands, ...shareCommands, ...storageCommands, ...uiCommands }
  const names = Object.keys(groups).sort((a, b) => helpPlace(a) - helpPlace(b))
  for (const name of names) groups[name](program.command(name))
}

/** A command left out of HELP_ORDER is listed after the others rather than not at all. */
function helpPlace (name: string): number {
  const i = HELP_ORDER.indexOf(name)
  return i < 0 ? HELP_ORDER.length : i
}
