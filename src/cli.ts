#!/usr/bin/env node
// The `peerlink` command. The polyfill must load before anything that may use libp2p.
import './polyfill.js'
import { Command, CommanderError } from 'commander'
import { registerCommands } from './cli/commands.js'
import { fail, wantsJson } from './cli/run.js'

// Output piped into a reader that stops early (`| head`) ends the command quietly.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0)
  throw err
})

const program = new Command()
  .name('peerlink')
  .description('Peer-to-peer, content-addressed file network')
  .version('0.1.0')
  .option('--repo <path>', 'repo directory (default: $PEERLINK_REPO or ~/.peerlink)')
  .showHelpAfterError()
  // Usage errors (unknown option or command, missing argument) exit 2, as the README says.
  .exitOverride()

try {
  registerCommands(program)
  await program.parseAsync(process.argv)
} catch (err) {
  const json = wantsJson(process.argv.slice(2))
  if (!(err instanceof CommanderError)) fail(err, json)
  else if (err.exitCode === 0) process.exitCode = 0 // --help and --version
  // Commander has printed the message (and the help after it); usage errors exit 2.
  else fail(err, json, err.message)
}
