// The built CLI and daemon processes, run as a user would (shared with the benchmarks and
// simulations).
export { CLI, runCli, runCliInTerminal, startCliInTerminal, type CliResult } from '../../simulations/lib/cli.js'
import { startDaemonProcess, stopDaemonProcess, type DaemonProcess } from '../../simulations/lib/daemons.js'
import { tempDir } from '../../simulations/lib/network.js'
export { startDaemonProcess, stopDaemonProcess, type DaemonProcess }

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

/** A describe block's scratch: a temporary folder, and the daemon a test started in it, if any. */
export interface DaemonScratch {
  /** The folder (valid from the hook on). */
  readonly path: string
  /** Set by a test that starts one; stopped after. */
  daemon: DaemonProcess | undefined
}

/**
 * Registers the hooks of a describe block that works in a temporary folder and may start one
 * daemon there: the folder is made before all its tests (`each`: before each), and after them
 * the daemon, if one was set, is stopped and the folder removed.
 */
export function daemonScratch (prefix?: string, options: { each?: boolean } = {}): DaemonScratch {
  let dir: { path: string, cleanup: () => Promise<void> } | undefined
  const scratch: DaemonScratch = {
    get path () {
      if (dir === undefined) throw new Error('the scratch folder is made by a mocha hook: use it inside a test or hook')
      return dir.path
    },
    daemon: undefined
  }
  const setUp = async (): Promise<void> => { dir = await tempDir(prefix) }
  const tearDown = async (): Promise<void> => {
    if (scratch.daemon !== undefined) await stopDaemonProcess(scratch.daemon)
    scratch.daemon = undefined
    await dir?.cleanup()
    dir = undefined
  }
  if (options.each === true) {
    beforeEach(setUp)
    afterEach(tearDown)
  } else {
    before(setUp)
    after(tearDown)
  }
  return scratch
}
