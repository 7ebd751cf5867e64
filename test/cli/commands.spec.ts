// The command set: every group's commands registered, in the order `peerlink --help` lists them.
import { Command } from 'commander'
import { expect } from 'chai'
import { registerCommands } from '../../src/cli/commands.js'

describe('cli commands', () => {
  it('registers every command once, in the help order', () => {
    const program = new Command()
    registerCommands(program)
    expect(program.commands.map(c => c.name())).to.deep.equal([
      'doctor', 'init', 'config', 'daemon', 'add', 'share', 'cat', 'fetch', 'provide', 'find-providers', 'id', 'peers', 'connect', 'stat', 'ls', 'rm', 'gc', 'verify', 'shares', 'spread', 'status', 'ui'
    ])
  })
})
