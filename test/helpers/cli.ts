// The built CLI and daemon processes, run as a user would (shared with the benchmarks and
// simulations).
export { CLI, runCli, runCliInTerminal, startCliInTerminal, type CliResult } from '../../simulations/lib/cli.js'
export { startDaemonProcess, stopDaemonProcess, type DaemonProcess } from '../../simulations/lib/daemons.js'

/**
 * The progress-bar frames a terminal showed: each redraw starts at column 1 (CSI 1 G), other
 * control sequences are dropped, and only the lines starting with `prefix` are kept.
 */
export function terminalFrames (output: string, prefix: string): string[] {
  // Terminal control sequences are what is parsed here.
  // eslint-disable-next-line no-control-regex
  const text = output.replace(/\x1b\[1G/g, '\r').replace(/\x1b(\[[0-9;?]*[A-Za-z]|[78])/g, '')
  return text.split(/[\r\n]+/).map(l => l.trim()).filter(l => l.startsWith(prefix))
}
