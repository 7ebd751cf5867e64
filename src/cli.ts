#!/usr/bin/env node
// The `peerlink` command. The polyfill must load before anything that may use libp2p.
import './polyfill.js'
import { Command, CommanderError } from 'commander'
import { registerCommands } from './cli/commands.js'
import { PeerLinkError } from './errors.js'

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
  if (err instanceof CommanderError) {
    // Commander has printed the message (and the help after it); --help and --version exit 0.
    process.exitCode = err.exitCode === 0 ? 0 : 2
  } else if (err instanceof PeerLinkError) {
    process.stderr.write(`peerlink: ${err.message}\n`)
    process.exitCode = err.exitCode
  } else {
    const e = err as NodeJS.ErrnoException
    process.stderr.write(`peerlink: unexpected error: ${e.message}${process.env.DEBUG !== undefined ? `\n${String(e.stack)}` : ''}\n`)
    process.exitCode = 1
  }
}
