// The built CLI and daemon processes, run as a user would (shared with the benchmarks and
// simulations).
export { CLI, runCli, runCliInTerminal, startDaemonProcess, stopDaemonProcess, type CliResult, type DaemonProcess } from '../../scripts/lib/daemons.js'
