// `peerlink config show|get|set|unset`: the repo's config.json read and changed without an
// editor. Each change is checked as a repo's open checks it, then written whole; a running
// daemon keeps the config it loaded until it restarts, and the command says so.
import type { Command } from 'commander'
import { configKey, configValue } from '../../repo/config.js'
import { readConfig, updateConfig } from '../../repo/repo.js'
import { findDaemon } from '../client.js'
import type { CommandGroup } from '../commands.js'
import { parseConfigValue } from '../config.js'
import { configSetText, configValueText, daemonKeepsConfigNote } from '../format.js'
import { note, print, printJson, repoOf, type JsonFlag } from '../run.js'

export const configCommands: CommandGroup = {
  config: (cmd) => {
    cmd.description('show, get or set the repo\'s configuration (config.json)')
    cmd.command('show')
      .description('the whole configuration in effect, as JSON, defaults filled in')
      .option('--json', 'the same JSON (accepted for symmetry with the other commands)')
      .action(showConfig)
    cmd.command('get')
      .description('one key (storage.quota) or section (network)')
      .argument('<key>', 'dotted key, e.g. storage.quota or network.listen')
      .option('--json', 'print the value as JSON')
      .action(getConfig)
    cmd.command('set')
      .description('check a value by its key\'s type and write it to config.json')
      .argument('<key>', 'dotted key, e.g. storage.quota')
      .argument('<value>', 'sizes take units (20GiB); lists a JSON array or multiaddrs separated by commas; booleans true or false')
      .action(setConfig)
    cmd.command('unset')
      .description('remove a key from config.json, so it takes its default')
      .argument('<key>', 'dotted key')
      .action(unsetConfig)
  }
}

async function showConfig (_o: JsonFlag, cmd: Command): Promise<void> {
  printJson(await readConfig(repoOf(cmd)))
}

async function getConfig (key: string, o: JsonFlag, cmd: Command): Promise<void> {
  const value = configValue(await readConfig(repoOf(cmd)), key)
  if (o.json === true) print(JSON.stringify(value, null, 2))
  else print(configValueText(value))
}

async function setConfig (key: string, text: string, _o: unknown, cmd: Command): Promise<void> {
  await changeConfig(cmd, key, parseConfigValue(key, text))
}

async function unsetConfig (key: string, _o: unknown, cmd: Command): Promise<void> {
  configKey(key)
  await changeConfig(cmd, key, undefined)
}

async function changeConfig (cmd: Command, key: string, value: unknown): Promise<void> {
  const repo = repoOf(cmd)
  const config = await updateConfig(repo, key, value)
  print(configSetText(key, configValue(config, key), configKey(key).type, value === undefined))
  const daemon = await findDaemon(repo)
  if (daemon !== undefined) note(daemonKeepsConfigNote(daemon.info.pid))
}
