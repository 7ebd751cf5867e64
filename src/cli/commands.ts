// The commands. Each runs against the daemon's API when a daemon holds the repo, or opens
// the repo itself otherwise (see backend.ts), does one thing, and closes it.
import { once } from 'node:events'
import { stat } from 'node:fs/promises'
import { constants as osConstants } from 'node:os'
import { join, resolve as resolvePath } from 'node:path'
import cliProgress from 'cli-progress'
import type { Command } from 'commander'
import { InvalidArgumentError } from '../errors.js'
import { treeBytes } from '../files/fs.js'
import { tuneHeap } from '../node/heap.js'
import { isTicket, parseCid } from '../node/cid.js'
import { initRepo, resolveRepoPath } from '../repo/repo.js'
import { openBackend, type Backend, type ProgressLine } from './backend.js'

interface GlobalOptions { repo?: string }

function repoOf (cmd: Command): string {
  return resolveRepoPath((cmd.optsWithGlobals() as GlobalOptions).repo)
}

async function withBackend<T> (cmd: Command, fn: (b: Backend) => Promise<T>): Promise<T> {
  const backend = await openBackend(repoOf(cmd))
  // A signal interrupts the command (the local backend aborts it and waits for it to clean
  // up), then the process exits as a shell reports a signal: 128 + its number.
  let interrupted: Promise<void> | undefined
  const stop = (signal: NodeJS.Signals): void => {
    const code = 128 + osConstants.signals[signal]
    process.exitCode = code
    interrupted ??= backend.close().finally(() => process.exit(code))
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  try {
    return await fn(backend)
  } catch (err) {
    if (interrupted !== undefined) await interrupted // the command failed because it was stopped
    throw err
  } finally {
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
    if (interrupted === undefined) await backend.close()
  }
}

const out = (s: string): void => { process.stdout.write(s + '\n') }
const json = (v: unknown): void => out(JSON.stringify(v, null, 2))

/** "1048576", "64KiB", "1MiB", "2M" -> bytes. */
export function parseSize (text: string): number {
  const m = /^\s*(\d+)\s*(|b|k|kb|kib|m|mb|mib)\s*$/i.exec(text)
  if (m == null) throw new InvalidArgumentError(`"${text}" is not a size (try 1048576, 256KiB or 1MiB)`)
  const unit = m[2].toLowerCase()
  const mult = unit.startsWith('k') ? 1024 : unit.startsWith('m') ? 1024 * 1024 : 1
  return Number(m[1]) * mult
}

function parseIntArg (name: string): (v: string) => number {
  return (v) => {
    if (!/^\d+$/.test(v.trim())) throw new InvalidArgumentError(`${name} must be a whole number, not "${v}"`)
    return Number(v)
  }
}

export function formatBytes (n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let i = 0
  let x = n
  while (x >= 1024 && i < units.length - 1) { x /= 1024; i++ }
  return `${i === 0 ? x : x.toFixed(1)} ${units[i]}`
}

async function writeOut (piece: Uint8Array): Promise<void> {
  if (!process.stdout.write(piece)) await once(process.stdout, 'drain')
}

export function registerCommands (program: Command): void {
  program.command('init')
    .description('create the repo (config and API token; the identity and blockstore follow on first use) if it does not exist')
    .option('--listen <multiaddr...>', 'addresses the node listens on (default /ip4/0.0.0.0/tcp/4021)')
    .option('--bootstrap <multiaddr...>', 'peers to join the network through')
    .option('--api <host:port>', 'where the daemon\'s HTTP API listens (default 127.0.0.1:5021)')
    .action(async (o: { listen?: string[], bootstrap?: string[], api?: string }, cmd: Command) => {
      const path = repoOf(cmd)
      const { created } = await initRepo(path, (c) => {
        if (o.listen !== undefined) c.network.listen = o.listen
        if (o.bootstrap !== undefined) c.network.bootstrap = o.bootstrap
        if (o.api !== undefined) c.api.address = o.api
      })
      if (!created && (o.listen !== undefined || o.bootstrap !== undefined || o.api !== undefined)) {
        throw new InvalidArgumentError(`a PeerLink repo already exists at ${path}, and init does not change it: edit ${join(path, 'config.json')} instead`)
      }
      out(created ? `initialized a PeerLink repo at ${path}` : `a PeerLink repo already exists at ${path}`)
    })

  program.command('daemon')
    .description('run a node on the repo: join the network, serve blocks, and answer the CLI through the local HTTP API')
    .option('--init', 'create the repo first if it does not exist')
    .action(async (o: { init?: boolean }, cmd: Command) => {
      const repo = repoOf(cmd)
      const heap = tuneHeap()
      if (o.init === true) await initRepo(repo)
      const { startDaemon } = await import('../api/daemon.js')
      const daemon = await startDaemon(repo)
      out(`peer id  ${daemon.info.peerId}`)
      // libp2p's addresses already end in /p2p/<peer id>.
      for (const a of daemon.info.addresses) out(`listen   ${a.includes('/p2p/') ? a : `${a}/p2p/${daemon.info.peerId}`}`)
      out(`api      http://${daemon.info.address} (token in ${repo}/api.token)`)
      out(`heap     ${heap.growingPercent === 'v8' ? 'V8\'s own growth factor' : `old generation grows to ${1 + heap.growingPercent / 100}× its live size between full collections`}`)
      await new Promise<void>((resolve) => {
        const stop = (): void => { daemon.stop().then(resolve, (err: Error) => { process.stderr.write(`peerlink: stopping failed: ${err.message}\n`); process.exitCode = 1; resolve() }) }
        process.once('SIGINT', stop)
        process.once('SIGTERM', stop)
      })
      // Stopped and closed: libp2p's leftover timers would keep the process up about 3 s more.
      process.exit()
    })

  program.command('add')
    .description('import files (or directories with -r), pin them, announce them and print their CIDs and share tickets')
    .argument('<paths...>', 'files or directories to add')
    .option('-r, --recursive', 'add directories with everything in them')
    .option('--chunk-size <size>', 'chunk size, 64KiB to 2MiB (default from the repo config: 1MiB)', parseSize)
    .option('-k <n>', 'data chunks per stripe, 1 to 128 (default 10)', parseIntArg('k'))
    .option('-m <n>', 'parity blocks per stripe, 0 to 64 (default 4)', parseIntArg('m'))
    .option('--json', 'print one JSON array')
    .option('-q, --quiet', 'print only the CIDs')
    .action(async (paths: string[], o: { recursive?: boolean, chunkSize?: number, k?: number, m?: number, json?: boolean, quiet?: boolean }, cmd: Command) => {
      // Every path is checked before any is added, so a typo in the last does not leave the
      // first ones added with no CID printed.
      for (const p of paths) {
        await stat(p).catch((err: NodeJS.ErrnoException) => {
          throw new InvalidArgumentError(`cannot add ${p}: ${err.code === 'ENOENT' ? 'no such file or directory' : err.message}; nothing was added`)
        })
      }
      await withBackend(cmd, async (b) => {
        const bar = process.stderr.isTTY && o.json !== true && o.quiet !== true
          ? new cliProgress.SingleBar({ format: 'adding {bar} {percentage}% | {done} of {total_h} | {rate}', hideCursor: true, stream: process.stderr }, cliProgress.Presets.shades_classic)
          : undefined
        const total = bar !== undefined ? (await Promise.all(paths.map(treeBytes))).reduce((a, c) => a + c, 0) : 0
        const started = Date.now()
        let before = 0
        bar?.start(Math.max(1, total), 0, { done: formatBytes(0), total_h: formatBytes(total), rate: '' })
        const results = []
        try {
          for (const p of paths) {
            // The daemon may run in another directory: it gets absolute paths.
            // Progress is asked for only when a bar shows it (through a daemon it is a stream).
            const r = await b.add(resolvePath(p), { recursive: o.recursive, chunkSize: o.chunkSize, k: o.k, m: o.m }, bar === undefined ? undefined : (bytes) => {
              const done = before + bytes
              const rate = done / Math.max(0.001, (Date.now() - started) / 1000)
              bar.update(done, { done: formatBytes(done), rate: `${formatBytes(rate)}/s` })
            })
            before += r.size
            results.push(r)
          }
        } catch (err) {
          bar?.stop()
          for (const r of results) process.stderr.write(`added before the failure: ${r.cid} ${r.name}\n`)
          throw err
        } finally {
          bar?.stop()
        }
        if (o.json === true) { json(results); return }
        for (const r of results) {
          out(o.quiet === true ? r.cid : `added ${r.cid} ${r.name} (${r.type === 'directory' ? `${r.files} files, ` : ''}${formatBytes(r.size)})`)
          if (o.quiet !== true && r.ticket !== undefined) out(`share ${r.ticket}`)
          for (const s of r.skipped) process.stderr.write(`skipped ${s}: not a regular file or directory\n`)
        }
        if (b.kind === 'local' && o.quiet !== true) process.stderr.write('no daemon is running: the files are in the repo and will be announced when `peerlink daemon` starts\n')
      })
    })

  program.command('cat')
    .description('write a file to standard output')
    .argument('<cid>', 'root CID of a file')
    .option('--offset <bytes>', 'start at this byte', parseIntArg('offset'))
    .option('--length <bytes>', 'write at most this many bytes', parseIntArg('length'))
    .action(async (text: string, o: { offset?: number, length?: number }, cmd: Command) => {
      const cid = parseCid(text).toString()
      process.stdout.on('error', (err: NodeJS.ErrnoException) => { if (err.code === 'EPIPE') process.exit(0) })
      await withBackend(cmd, async (b) => {
        for await (const piece of b.cat(cid, { offset: o.offset, length: o.length })) await writeOut(piece)
      })
    })

  program.command('fetch')
    .description('get a file or directory by CID or share ticket: from the repo when it is here, else from the network (resumes an interrupted fetch); pins and provides it')
    .argument('<cid|ticket>', 'root CID, or a share ticket (peerlink:…)')
    .option('-o, --output <path>', 'write it here (through a temporary file, renamed when complete)')
    .option('-f, --force', 'overwrite what is at the output path')
    .option('--json', 'print the result as one JSON object')
    .action(async (text: string, o: { output?: string, force?: boolean, json?: boolean }, cmd: Command) => {
      // A CID is checked here; a ticket where it is used (by the daemon, or the local node),
      // as its peer id needs libp2p's crypto, which no other CLI call loads.
      if (!isTicket(text)) parseCid(text)
      await withBackend(cmd, async (b) => {
        const bar = process.stderr.isTTY && o.json !== true
          ? new cliProgress.SingleBar({ format: 'fetching {bar} {percentage}% | {done} of {total_h} | {rate} | {peers} peers', hideCursor: true, stream: process.stderr }, cliProgress.Presets.shades_classic)
          : undefined
        const started = Date.now()
        let peers = 0
        const onProgress = (line: ProgressLine): void => {
          if (line.event === 'fetch:start') bar?.start(Math.max(1, line.detail.size), 0, { done: formatBytes(0), total_h: formatBytes(line.detail.size), rate: '', peers })
          if (line.event === 'exchange:session:provider') peers += line.detail.status === 'joined' ? 1 : -1
          if (line.event === 'files:export:progress') {
            const rate = line.detail.bytes / Math.max(0.001, (Date.now() - started) / 1000)
            bar?.update(line.detail.bytes, { done: formatBytes(line.detail.bytes), rate: `${formatBytes(rate)}/s`, peers })
          }
        }
        let r
        try {
          r = await b.fetch(text, { output: o.output === undefined ? undefined : resolvePath(o.output), force: o.force }, onProgress)
        } finally {
          bar?.stop()
        }
        if (o.json === true) { json(r); return }
        const secs = r.ms / 1000
        const from = r.providers.length === 0 ? 'the repo' : `${r.providers.filter(p => p.blocks > 0).length} of ${r.providers.length} providers`
        out(`fetched ${r.cid} ${r.name} (${formatBytes(r.size)}) from ${from} in ${secs.toFixed(1)} s${r.fetchedBytes > 0 ? `, ${formatBytes(r.fetchedBytes / Math.max(secs, 0.001))}/s` : ''}`)
        if (r.rebuiltChunks > 0) out(`rebuilt ${r.rebuiltChunks} chunks from parity`)
        if (o.output !== undefined) out(`wrote ${o.output}`)
        if (b.kind === 'local' && r.providers.length > 0) process.stderr.write('no daemon is running: the root is pinned and will be announced when `peerlink daemon` starts\n')
      })
    })

  program.command('provide')
    .description('announce in the DHT that this node holds a root (needs the daemon)')
    .argument('<cid>', 'root CID')
    .action(async (text: string, _o, cmd: Command) => {
      const cid = parseCid(text).toString()
      await withBackend(cmd, async (b) => {
        const r = await b.provide(cid)
        out(`provided ${r.cid} (${r.ms} ms)`)
      })
    })

  program.command('find-providers')
    .description('ask the DHT who provides a root')
    .argument('<cid>', 'root CID')
    .option('--timeout <ms>', 'give up after this long (default 10000)', parseIntArg('timeout'))
    .option('--json', 'print one JSON array')
    .action(async (text: string, o: { timeout?: number, json?: boolean }, cmd: Command) => {
      const cid = parseCid(text).toString()
      await withBackend(cmd, async (b) => {
        const found = await b.findProviders(cid, o.timeout)
        if (o.json === true) { json(found); return }
        for (const p of found) out(`${p.peer}  ${p.addrs.join(' ')}`)
        if (found.length === 0) { process.stderr.write(`no providers of ${cid} found\n`); process.exitCode = 16 }
      })
    })

  program.command('id')
    .description('show this node\'s peer id and addresses (needs the daemon)')
    .option('--json', 'print one JSON object')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      await withBackend(cmd, async (b) => {
        const r = await b.id()
        if (o.json === true) { json(r); return }
        out(`peer id  ${r.peerId}`)
        for (const a of r.addresses) out(`address  ${a}`)
      })
    })

  program.command('peers')
    .description('list connected peers (needs the daemon)')
    .option('--json', 'print one JSON array')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      await withBackend(cmd, async (b) => {
        const r = await b.peers()
        if (o.json === true) { json(r); return }
        for (const p of r) out(`${p.peer}  ${p.addrs.join(' ')}`)
      })
    })

  program.command('connect')
    .description('connect to a peer by multiaddr (…/p2p/<peer id>) (needs the daemon)')
    .argument('<multiaddr>', 'the peer\'s address')
    .action(async (addr: string, _o, cmd: Command) => {
      await withBackend(cmd, async (b) => { out(`connected to ${(await b.connect(addr)).peer}`) })
    })

  program.command('stat')
    .description('describe a file or directory root')
    .argument('<cid>', 'root CID')
    .option('--json', 'print one JSON object')
    .action(async (text: string, o: { json?: boolean }, cmd: Command) => {
      const cid = parseCid(text).toString()
      await withBackend(cmd, async (b) => {
        const s = await b.stat(cid)
        if (o.json === true) { json(s); return }
        out(`cid        ${s.cid}`)
        out(`type       ${s.type}${s.pinned ? ' (pinned)' : ''}`)
        out(`name       ${s.name}`)
        out(`size       ${s.size} bytes (${formatBytes(s.size)})`)
        if (s.type === 'file') {
          out(`media type ${String(s.mediaType)}`)
          out(`chunks     ${formatBytes(s.chunkSize as number)} each, stripes of k=${String(s.k)} data + m=${String(s.m)} parity, ${String(s.stripes)} stripes`)
          out(`blake3     ${String(s.hash)}`)
        } else {
          out(`entries    ${String(s.entries)}`)
        }
      })
    })

  program.command('ls')
    .description('list pinned roots with names and sizes')
    .option('--json', 'print one JSON array')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      await withBackend(cmd, async (b) => {
        const { pins, usage } = await b.ls()
        if (o.json === true) { json(pins); return }
        for (const p of pins) out(`${p.cid}  ${p.type === 'directory' ? 'dir ' : 'file'}  ${formatBytes(p.size).padStart(10)}  ${p.name}`)
        process.stderr.write(`${pins.length} pinned; the blockstore holds ${usage.blocks} blocks, ${formatBytes(usage.bytes)}\n`)
      })
    })

  program.command('rm')
    .description('unpin roots (their blocks go at the next gc)')
    .argument('<cids...>', 'root CIDs')
    .action(async (texts: string[], _o, cmd: Command) => {
      const cids = texts.map(t => parseCid(t).toString())
      await withBackend(cmd, async (b) => {
        // One at a time, each reported as done: a failure part-way says what was unpinned.
        for (const c of cids) {
          await b.rm([c])
          out(`unpinned ${c}`)
        }
      })
    })

  program.command('gc')
    .description('delete every block that no pin reaches')
    .option('--json', 'print one JSON object')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      await withBackend(cmd, async (b) => {
        const r = await b.gc()
        if (o.json === true) { json(r); return }
        out(`removed ${r.removedBlocks} blocks (${formatBytes(r.removedBytes)}); ${r.kept} blocks kept`)
      })
    })

  program.command('verify')
    .description('re-hash every block of a root, report damage and repair it from parity')
    .argument('<cid>', 'root CID')
    .option('--no-repair', 'only report')
    .option('--json', 'print one JSON object')
    .action(async (text: string, o: { repair: boolean, json?: boolean }, cmd: Command) => {
      const cid = parseCid(text).toString()
      await withBackend(cmd, async (b) => {
        const r = await b.verify(cid, o.repair)
        if (o.json === true) json(r)
        else {
          out(`checked ${r.blocks} intact blocks; ${r.damaged.length} damaged, ${r.repaired.length} repaired, ${r.unrecoverable.length} unrecoverable`)
          for (const d of r.damaged) {
            const fate = r.repaired.some(x => x.cid === d.cid) ? 'repaired from parity' : o.repair ? 'NOT repairable' : 'not repaired (--no-repair)'
            out(`  ${d.what}: ${d.reason} (${d.cid}): ${fate}`)
          }
        }
        if (!r.ok || (!o.repair && r.damaged.length > 0)) process.exitCode = 6
      })
    })
}
