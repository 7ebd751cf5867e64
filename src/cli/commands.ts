// The offline commands: each opens the repo, does one thing, and closes it.
import { once } from 'node:events'
import cliProgress from 'cli-progress'
import type { Command } from 'commander'
import { InvalidArgumentError } from '../errors.js'
import { treeBytes } from '../files/fs.js'
import { PeerLinkNode, parseCid } from '../node/peerlink.js'
import { initRepo, resolveRepoPath } from '../repo/repo.js'

interface GlobalOptions { repo?: string }

function repoOf (cmd: Command): string {
  return resolveRepoPath((cmd.optsWithGlobals() as GlobalOptions).repo)
}

async function withNode<T> (cmd: Command, fn: (node: PeerLinkNode) => Promise<T>): Promise<T> {
  const node = await PeerLinkNode.open(repoOf(cmd))
  const stop = (): void => { process.exitCode = 130; node.stop().finally(() => process.exit()) }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  try {
    return await fn(node)
  } finally {
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
    await node.stop()
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
    .description('create the repo (config and blockstore) if it does not exist')
    .action(async (_o, cmd: Command) => {
      const path = repoOf(cmd)
      const { created } = await initRepo(path)
      out(created ? `initialized a PeerLink repo at ${path}` : `a PeerLink repo already exists at ${path}`)
    })

  program.command('add')
    .description('import files (or directories with -r), pin them and print their CIDs')
    .argument('<paths...>', 'files or directories to add')
    .option('-r, --recursive', 'add directories with everything in them')
    .option('--chunk-size <size>', 'chunk size, 64KiB to 2MiB (default from the repo config: 1MiB)', parseSize)
    .option('-k <n>', 'data chunks per stripe, 1 to 128 (default 10)', parseIntArg('k'))
    .option('-m <n>', 'parity blocks per stripe, 0 to 64 (default 4)', parseIntArg('m'))
    .option('--json', 'print one JSON array')
    .option('-q, --quiet', 'print only the CIDs')
    .action(async (paths: string[], o: { recursive?: boolean, chunkSize?: number, k?: number, m?: number, json?: boolean, quiet?: boolean }, cmd: Command) => {
      await withNode(cmd, async (node) => {
        const bar = process.stderr.isTTY && o.json !== true && o.quiet !== true
          ? new cliProgress.SingleBar({ format: 'adding {bar} {percentage}% | {done} of {total_h} | {rate}', hideCursor: true, stream: process.stderr }, cliProgress.Presets.shades_classic)
          : undefined
        const total = bar !== undefined ? (await Promise.all(paths.map(treeBytes))).reduce((a, b) => a + b, 0) : 0
        const started = Date.now()
        let before = 0
        bar?.start(Math.max(1, total), 0, { done: formatBytes(0), total_h: formatBytes(total), rate: '' })
        const results = []
        try {
          for (const p of paths) {
            const r = await node.add(p, {
              recursive: o.recursive,
              chunkSize: o.chunkSize,
              k: o.k,
              m: o.m,
              onProgress: (e) => {
                const done = before + e.detail.bytes
                const rate = done / Math.max(0.001, (Date.now() - started) / 1000)
                bar?.update(done, { done: formatBytes(done), rate: `${formatBytes(rate)}/s` })
              }
            })
            before += r.size
            results.push({ cid: r.cid.toString(), name: r.name, type: r.type, size: r.size, files: r.files, skipped: r.skipped })
          }
        } finally {
          bar?.stop()
        }
        if (o.json === true) { json(results); return }
        for (const r of results) {
          out(o.quiet === true ? r.cid : `added ${r.cid} ${r.name} (${r.type === 'directory' ? `${r.files} files, ` : ''}${formatBytes(r.size)})`)
          for (const s of r.skipped) process.stderr.write(`skipped ${s}: not a regular file or directory\n`)
        }
      })
    })

  program.command('cat')
    .description('write a file to standard output')
    .argument('<cid>', 'root CID of a file')
    .option('--offset <bytes>', 'start at this byte', parseIntArg('offset'))
    .option('--length <bytes>', 'write at most this many bytes', parseIntArg('length'))
    .action(async (text: string, o: { offset?: number, length?: number }, cmd: Command) => {
      const cid = parseCid(text)
      process.stdout.on('error', (err: NodeJS.ErrnoException) => { if (err.code === 'EPIPE') process.exit(0) })
      await withNode(cmd, async (node) => {
        for await (const piece of node.cat(cid, { offset: o.offset, length: o.length })) await writeOut(piece)
      })
    })

  program.command('fetch')
    .description('write a file or directory from the repo to a path (through a temporary file, renamed when complete)')
    .argument('<cid>', 'root CID')
    .requiredOption('-o, --output <path>', 'where to write it')
    .option('-f, --force', 'overwrite what is there')
    .action(async (text: string, o: { output: string, force?: boolean }, cmd: Command) => {
      const cid = parseCid(text)
      await withNode(cmd, async (node) => {
        const r = await node.exportTo(cid, o.output, { force: o.force })
        out(`wrote ${o.output} (${r.files > 1 ? `${r.files} files, ` : ''}${formatBytes(r.bytes)})`)
      })
    })

  program.command('stat')
    .description('describe a file or directory root')
    .argument('<cid>', 'root CID')
    .option('--json', 'print one JSON object')
    .action(async (text: string, o: { json?: boolean }, cmd: Command) => {
      const cid = parseCid(text)
      await withNode(cmd, async (node) => {
        const s = await node.stat(cid)
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
      await withNode(cmd, async (node) => {
        const pins = await node.ls()
        if (o.json === true) { json(pins.map(p => ({ ...p, cid: p.cid.toString() }))); return }
        for (const p of pins) out(`${p.cid.toString()}  ${p.type === 'directory' ? 'dir ' : 'file'}  ${formatBytes(p.size).padStart(10)}  ${p.name}`)
        const u = await node.usage()
        process.stderr.write(`${pins.length} pinned; the blockstore holds ${u.blocks} blocks, ${formatBytes(u.bytes)}\n`)
      })
    })

  program.command('rm')
    .description('unpin roots (their blocks go at the next gc)')
    .argument('<cids...>', 'root CIDs')
    .action(async (texts: string[], _o, cmd: Command) => {
      const cids = texts.map(parseCid)
      await withNode(cmd, async (node) => {
        for (const c of cids) { await node.rm(c); out(`unpinned ${c.toString()}`) }
      })
    })

  program.command('gc')
    .description('delete every block that no pin reaches')
    .option('--json', 'print one JSON object')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      await withNode(cmd, async (node) => {
        const r = await node.gc()
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
      const cid = parseCid(text)
      await withNode(cmd, async (node) => {
        const r = await node.verify(cid, { repair: o.repair })
        if (o.json === true) json(r)
        else {
          out(`checked ${r.blocks} intact blocks; ${r.damaged.length} damaged, ${r.repaired.length} repaired, ${r.unrecoverable.length} unrecoverable`)
          for (const d of r.damaged) {
            const fate = r.repaired.includes(d) ? 'repaired from parity' : o.repair ? 'NOT repairable' : 'not repaired (--no-repair)'
            out(`  ${d.what}: ${d.reason} (${d.cid}): ${fate}`)
          }
        }
        if (!r.ok || (!o.repair && r.damaged.length > 0)) process.exitCode = 6
      })
    })
}
