// The web page's command: a one-time login URL from the running daemon.
import { spawn } from 'node:child_process'
import type { Command } from 'commander'
import type { LoginCode } from '../../api/ui-sessions.js'
import { DaemonRequiredError } from '../../errors.js'
import { findDaemon } from '../client.js'
import type { CommandGroup } from '../commands.js'
import { note, print, printJson, repoOf, type JsonFlag } from '../run.js'

export const uiCommands: CommandGroup = {
  ui: (cmd) => cmd
    .description('print a one-time login URL for the web page (good once, for 60 s; needs the daemon)')
    .option('--open', 'open it in the desktop\'s browser too (xdg-open)')
    .option('--json', 'print one JSON object: { url, expires }')
    .action(loginUrl)
}

async function loginUrl (o: JsonFlag & { open?: boolean }, cmd: Command): Promise<void> {
  const repo = repoOf(cmd)
  const daemon = await findDaemon(repo)
  if (daemon === undefined) throw new DaemonRequiredError('the web page', repo)
  const { code, expires } = await daemon.call<LoginCode>('POST', '/ui/code')
  const url = `${pageOrigin(daemon.info.address)}/ui/login?code=${code}`
  if (o.json === true) printJson({ url, expires: new Date(expires).toISOString() })
  else print(url)
  if (o.open === true) openInBrowser(url)
}

/** The API's address as a browser reaches it: an any-address listener is reached on loopback. */
export function pageOrigin (address: string): string {
  const i = address.lastIndexOf(':')
  const host = address.slice(0, i).replace(/^\[|\]$/g, '')
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${address.slice(i + 1)}`
}

/** Best effort: without a desktop (no xdg-open), the printed URL is the way in. */
function openInBrowser (url: string): void {
  const child = spawn('xdg-open', [url], { stdio: 'ignore', detached: true })
  child.once('error', () => { note('peerlink: could not run xdg-open; open the URL above in a browser') })
  child.unref()
}
