// A local network in one command: N daemons on loopback, each with its own repo and ports,
// the first one the others bootstrap from, until Ctrl-C stops them all.
//
//   npm run devnet -- [--nodes N] [--dir D] [--json]
//
// Without --dir the repos live in a temporary directory removed at the end; with --dir they
// are kept (dir/node-1 …) and a later run reuses them, their files and identities included.
// Once every node is up it prints one line a node with its web page's one-time login URL
// (or, with --json, one JSON line with them all), then waits for SIGINT or SIGTERM.
import '../src/polyfill.js'
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { CLI, peerlinkJson } from '../simulations/lib/cli.js'
import { startDaemonProcess, stopDaemonProcess, type DaemonProcess } from '../simulations/lib/daemons.js'
import { ProcessSet } from '../simulations/lib/processes.js'

const MAX_NODES = 32

export interface DevnetNode { name: string, repo: string, peerId: string, api: string, ui: string, gateway?: string, addresses: string[] }

function args (): { nodes: number, dir?: string, json: boolean } {
  const { values } = parseArgs({
    options: {
      nodes: { type: 'string', default: '5' },
      dir: { type: 'string' },
      json: { type: 'boolean', default: false }
    }
  })
  const nodes = Number(values.nodes)
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > MAX_NODES) throw new Error(`--nodes must be 1..${MAX_NODES}`)
  return { nodes, dir: values.dir === undefined ? undefined : resolve(values.dir), json: values.json }
}

/** Starts node 1, then the rest bootstrapped from it; a node that fails stops the whole start. */
async function start (root: string, count: number, processes: ProcessSet, signal: AbortSignal): Promise<DaemonProcess[]> {
  const first = await startDaemonProcess(join(root, 'node-1'), { processes, signal })
  const rest = await Promise.all(Array.from({ length: count - 1 }, async (_, i) =>
    await startDaemonProcess(join(root, `node-${i + 2}`), { processes, signal, bootstrap: first.dialable })))
  return [first, ...rest]
}

/** A node's line: its addresses and a login URL for its web page (`peerlink ui`). */
async function describe (d: DaemonProcess, i: number): Promise<DevnetNode> {
  const login = await peerlinkJson<{ url: string }>(['--repo', d.repo, 'ui'])
  if (login.value === undefined) throw new Error(`node-${i + 1} gave no login URL for its web page: ${login.error}`)
  return { name: `node-${i + 1}`, repo: d.repo, peerId: d.info.peerId, api: `http://${d.info.address}`, ui: login.value.url, ...(d.info.gateway !== undefined ? { gateway: `http://${d.info.gateway}` } : {}), addresses: d.dialable }
}

function print (nodes: DevnetNode[], json: boolean): void {
  if (json) {
    process.stdout.write(JSON.stringify({ ready: true, nodes }) + '\n')
    return
  }
  const width = Math.max(...nodes.map(n => n.api.length))
  for (const n of nodes) process.stdout.write(`${n.name}  api ${n.api.padEnd(width)}  gateway ${(n.gateway ?? 'none').padEnd(width)}  ${n.peerId}  ${n.repo}\n`)
  process.stdout.write('\nweb pages (each login URL is good once, for 60 s; `peerlink ui` makes a new one):\n')
  for (const n of nodes) process.stdout.write(`${n.name}  ${n.ui}\n`)
  process.stdout.write(`\nuse a node: PEERLINK_REPO=${nodes[0].repo} node ${relative(process.cwd(), CLI)} <command>\n`)
  process.stdout.write(`${nodes.length} node${nodes.length === 1 ? '' : 's'} up; Ctrl-C stops them all\n`)
}

async function main (): Promise<void> {
  const o = args()
  const root = o.dir ?? mkdtempSync(join(tmpdir(), 'peerlink-devnet-'))
  if (!existsSync(root)) mkdirSync(root, { recursive: true })
  const processes = new ProcessSet('devnet')
  const stopping = new AbortController()
  const stop = (): void => { stopping.abort() }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  let daemons: DaemonProcess[] = []
  try {
    daemons = await start(root, o.nodes, processes, stopping.signal)
    print(await Promise.all(daemons.map(describe)), o.json)
    const exited = daemons.map(async d => await new Promise<string>(resolve => d.child.once('exit', () => { resolve(d.repo) })))
    const gone = await Promise.race([
      new Promise<undefined>(resolve => stopping.signal.addEventListener('abort', () => { resolve(undefined) }, { once: true })),
      ...exited
    ])
    if (gone !== undefined) throw new Error(`the daemon of ${gone} exited on its own: ${daemons.find(d => d.repo === gone)?.log().trim() ?? ''}`)
  } finally {
    await Promise.all(daemons.map(async d => await stopDaemonProcess(d)))
    await processes.close()
    if (o.dir === undefined) rmSync(root, { recursive: true, force: true })
    if (!o.json) process.stderr.write('devnet stopped\n')
  }
}

main().catch((err: Error) => {
  if (err.name !== 'AbortError') process.stderr.write(`devnet: ${err.message}\n`)
  process.exitCode = err.name === 'AbortError' ? 130 : 1
})
