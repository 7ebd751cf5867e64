// The built CLI and daemon processes, run as a user would (shared with the benchmarks and
// simulations).
export { CLI, runCli, runCliInTerminal, type CliResult } from '../../simulations/lib/cli.js'
export { startDaemonProcess, stopDaemonProcess, type DaemonProcess } from '../../simulations/lib/daemons.js'
