// Commands about files: add, cat, fetch, share, stat, ls, rm. cat, fetch, stat and ls take a
// root CID or a ticket, either followed by a path inside the root (`<cid>/photos/cat.jpg`).
import { stat } from 'node:fs/promises'
import { join as joinPath, resolve as resolvePath } from 'node:path'
import type { Command } from 'commander'
import type { AddOut } from '../../api/shapes.js'
import { DaemonRequiredError, InvalidArgumentError, UnsafePathError } from '../../errors.js'
import { isSafeName } from '../../files/defaults.js'
import { treeBytes } from '../../files/fs.js'
import type { FetchResult } from '../../node/fetch.js'
import { isTicket, parseCid, parseRootPath, splitKey, withKey } from '../../node/cid.js'
import { parseIntArg, parseSize } from '../arguments.js'
import type { Backend } from '../backend.js'
import type { CommandGroup } from '../commands.js'
import { addedBeforeFailureNote, addedText, fetchedText, notAnnouncedNote, pinsText, skippedNote, statText, unpinnedText, usageNote } from '../format.js'
import { fetchWithProgress } from '../fetch-progress.js'
import { TransferBar, barShown } from '../progress.js'
import { note, print, printJson, repoOf, withBackend, writeOut, type JsonFlag } from '../run.js'
import type { SpreadResult } from '../../storage/service.js'
import { spreadText } from './storage.js'

interface AddFlags extends JsonFlag { recursive?: boolean, chunkSize?: number, k?: number, m?: number, quiet?: boolean, private?: boolean, public?: boolean, spread?: boolean }
interface FetchFlags extends JsonFlag { output?: string, force?: boolean, pinOnly?: boolean }

export const fileCommands: CommandGroup = {
  add: (cmd) => cmd
    .description('import files (or directories with -r), pin them, announce them (with a daemon) and print their CIDs and share tickets')
    .argument('<paths...>', 'files or directories to add')
    .option('-r, --recursive', 'add directories with everything in them')
    .option('--chunk-size <size>', 'chunk size, 64KiB to 2MiB (default from the repo config: 1MiB)', parseSize)
    .option('-k <n>', 'data chunks per stripe, 1 to 128 (default 10)', parseIntArg('k'))
    .option('-m <n>', 'parity blocks per stripe, 0 to 64 (default 4)', parseIntArg('m'))
    .option('--private', 'encrypt the file (with -r, the whole tree, names too) under a fresh key; its share link (printed, and again by `share`) carries the key (default: import.private in the config)')
    .option('--public', 'do not encrypt, whatever import.private says')
    .option('--json', 'print one JSON array')
    .option('-q, --quiet', 'print only the CIDs')
    .option('--spread', 'then spread each root added (a directory with every file under it) over the peers that offer space, as `peerlink spread` does (needs the daemon)')
    .action(addPaths),

  cat: (cmd) => cmd
    .description('write a file to standard output; a file the repo lacks is read from the network (a range: only the stripes it touches)')
    .argument('<cid[/path]|ticket>', 'root CID of a file, or of a directory with the path of a file in it; or a share ticket (with a path)')
    .option('--offset <size>', 'start at this byte (units allowed: 1MiB)', parseSize)
    .option('--length <size>', 'write at most this many bytes (units allowed: 64KiB)', parseSize)
    .action(catFile),

  fetch: (cmd) => cmd
    .description('get a file or directory by CID or share ticket: from the repo when it is here, else from the network (resumes an interrupted fetch); pins and provides it')
    .argument('<cid[/path]|ticket>', 'root CID, or a share ticket (peerlink:…), either with a path inside the root')
    .option('-o, --output <path>', 'write it here, or into this directory under its own name (default: ./<name>); through a temporary file, renamed when complete')
    .option('-f, --force', 'overwrite what is at the output path')
    .option('--pin-only', 'keep it in the repo only, writing no file')
    .option('--json', 'print the result as one JSON object')
    .action(fetchTarget),

  share: (cmd) => cmd
    .description('print the share ticket of a root in the repo (it works while the daemon runs); a private root\'s is its whole link, with the key')
    .argument('<cid>', 'root CID')
    .option('--json', 'print { cid, ticket }')
    .action(shareRoot),

  stat: (cmd) => cmd
    .description('describe a file or directory root (asked of the network when the repo lacks it)')
    .argument('<cid[/path]|ticket>', 'root CID, or a share ticket, either with a path inside the root')
    .option('--json', 'print one JSON object')
    .action(statRoot),

  ls: (cmd) => cmd
    .description('list a directory\'s entries (CID, type, size, name); with no argument, the pinned roots')
    .argument('[cid[/path]|ticket]', 'a directory (or file) root, or a path inside one')
    .option('--json', 'print one JSON array')
    .action(listEntries),

  rm: (cmd) => cmd
    .description('unpin roots (their blocks go at the next gc)')
    .argument('<cids...>', 'root CIDs')
    .action(unpin)
}

async function addPaths (paths: string[], o: AddFlags, cmd: Command): Promise<void> {
  if (o.private === true && o.public === true) throw new InvalidArgumentError('--private and --public contradict each other: give one')
  // Every path is checked before any is added, so a typo in the last does not leave the
  // first ones added with no CID printed.
  for (const p of paths) {
    await stat(p).catch((err: NodeJS.ErrnoException) => {
      throw new InvalidArgumentError(`cannot add ${p}: ${err.code === 'ENOENT' ? 'no such file or directory' : err.message}; nothing was added`)
    })
  }
  await withBackend(cmd, async (b) => {
    // Refused before anything is added, rather than after.
    if (o.spread === true && b.kind === 'local') throw new DaemonRequiredError('add --spread (holders pull the blocks from this node)', repoOf(cmd))
    const results = await addEach(b, paths, o)
    const spread = o.spread === true ? await spreadEach(b, results) : undefined
    if (o.json === true) { printJson(spread === undefined ? results : results.map((r, i) => ({ ...r, spread: spread[i] }))); return }
    for (const [i, r] of results.entries()) {
      print(addedText(r, o.quiet === true))
      for (const s of r.skipped) note(skippedNote(s))
      if (spread !== undefined && o.quiet !== true) print(spreadText(spread[i]))
    }
    if (b.kind === 'local' && o.quiet !== true) note(notAnnouncedNote('files'))
  })
}

/** Spreads each root added: a file, or a directory with every file under it as one root. */
async function spreadEach (b: Backend, added: AddOut[]): Promise<SpreadResult[]> {
  const out: SpreadResult[] = []
  for (const r of added) out.push(await b.spread(r.cid))
  return out
}

/** Adds the paths one after another under one progress bar for all of them. */
async function addEach (b: Backend, paths: string[], o: AddFlags): Promise<AddOut[]> {
  const shown = barShown(o.json !== true && o.quiet !== true)
  const total = shown ? (await Promise.all(paths.map(treeBytes))).reduce((a, c) => a + c, 0) : 0
  // Made once the total is known, so the time spent summing it is not counted in the rate.
  const bar = shown ? new TransferBar('adding') : undefined
  bar?.start(total)
  let before = 0
  const results: AddOut[] = []
  try {
    for (const p of paths) {
      // The daemon may run in another directory: it gets absolute paths.
      // Progress is asked for only when a bar shows it (through a daemon it is a stream).
      const r = await b.add(resolvePath(p), { recursive: o.recursive, chunkSize: o.chunkSize, k: o.k, m: o.m, private: o.public === true ? false : o.private }, bar === undefined ? undefined : (bytes) => { bar.update(before + bytes) })
      before += r.size
      results.push(r)
    }
    bar?.complete()
  } catch (err) {
    bar?.stop()
    for (const r of results) note(addedBeforeFailureNote(r))
    throw err
  } finally {
    bar?.stop()
  }
  return results
}

/**
 * Checks a `<cid>[/path]` here, before any daemon or node is reached; a ticket is checked
 * where it is used, as its peer id needs libp2p's crypto, which no other CLI call loads.
 */
function checkRef (text: string): void {
  const { text: ref } = splitKey(text)
  if (!isTicket(ref)) parseRootPath(ref)
}

async function catFile (text: string, o: { offset?: number, length?: number }, cmd: Command): Promise<void> {
  checkRef(text)
  process.stdout.on('error', (err: NodeJS.ErrnoException) => { if (err.code === 'EPIPE') process.exit(0) })
  await withBackend(cmd, async (b) => {
    for await (const piece of b.cat(text, { offset: o.offset, length: o.length })) await writeOut(piece)
  })
}

async function fetchTarget (text: string, o: FetchFlags, cmd: Command): Promise<void> {
  checkRef(text)
  if (o.pinOnly === true && o.output !== undefined) throw new InvalidArgumentError('--pin-only writes no file: leave out -o, or --pin-only')
  await withBackend(cmd, async (b) => {
    const r = await fetchToOutput(b, text, o)
    if (o.json === true) { printJson(r); return }
    print(fetchedText(r, r.output))
    if (b.kind === 'local' && r.providers.length > 0) note(notAnnouncedNote('root'))
  })
}

/**
 * Fetches, then writes the root where the flags say: `-o` as given, unless it names an
 * existing directory, which (like no `-o`, the working directory) gets it under its own name.
 * Paths are made absolute here, as the daemon may run in another directory.
 */
async function fetchToOutput (b: Backend, target: string, o: FetchFlags): Promise<FetchResult & { output?: string }> {
  if (o.pinOnly === true) return await fetchShowingProgress(b, target, {}, o)
  const dir = await existingDirectory(o.output ?? '.')
  if (dir === undefined) {
    const output = resolvePath(o.output as string)
    return { ...await fetchShowingProgress(b, target, { output, force: o.force }, o), output }
  }
  // With the manifest here already, the name is known and one call fetches and writes.
  const here = isTicket(target) ? undefined : await b.stat(target, { local: true }).catch(() => undefined)
  if (here !== undefined) {
    const output = pathInside(dir, here.name)
    return { ...await fetchShowingProgress(b, target, { output, force: o.force }, o), output }
  }
  // Otherwise the name comes with the root: fetch into the repo, then write from there.
  const r = await fetchShowingProgress(b, target, {}, o)
  const key = splitKey(target).key
  // A private root fetched without its key has no name to show: stat says why (ERR_PRIVATE_ROOT).
  if (r.name === '') await b.stat(withKey(r.cid, key), { local: true })
  const output = pathInside(dir, r.name)
  await b.fetch(withKey(r.cid, key), { output, force: o.force }, () => {})
  return { ...r, output }
}

async function existingDirectory (path: string): Promise<string | undefined> {
  const full = resolvePath(path)
  return (await stat(full).catch(() => undefined))?.isDirectory() === true ? full : undefined
}

/** `dir/name` for a name a root carries, refused when it could point outside `dir`. */
function pathInside (dir: string, name: string): string {
  if (!isSafeName(name)) throw new UnsafePathError(name)
  return joinPath(dir, name)
}

/** Fetches with the provider line and the bar (see fetch-progress.ts). */
async function fetchShowingProgress (b: Backend, target: string, to: { output?: string, force?: boolean }, o: FetchFlags): Promise<FetchResult> {
  return await fetchWithProgress(o.json !== true, async (onProgress) => await b.fetch(target, to, onProgress))
}

async function statRoot (text: string, o: JsonFlag, cmd: Command): Promise<void> {
  checkRef(text)
  await withBackend(cmd, async (b) => {
    const s = await b.stat(text)
    if (o.json === true) printJson(s)
    else print(statText(s))
  })
}

async function shareRoot (text: string, o: JsonFlag, cmd: Command): Promise<void> {
  const cid = parseCid(text).toString()
  await withBackend(cmd, async (b) => {
    // A ticket for a root the repo lacks would lead receivers to a node that cannot serve it.
    // A private root's manifest is here when stat refuses it for want of the key.
    await b.stat(cid, { local: true }).catch((err: { code?: string, remoteCode?: string }) => {
      if (err.code !== 'ERR_PRIVATE_ROOT' && err.remoteCode !== 'ERR_PRIVATE_ROOT') throw err
    })
    const ticket = await b.share(cid)
    if (o.json === true) printJson({ cid, ticket })
    else print(ticket)
  })
}

async function listEntries (text: string | undefined, o: JsonFlag, cmd: Command): Promise<void> {
  if (text === undefined) { await listPins(o, cmd); return }
  checkRef(text)
  await withBackend(cmd, async (b) => {
    const entries = await b.list(text)
    if (o.json === true) printJson(entries)
    else print(pinsText(entries))
  })
}

async function listPins (o: JsonFlag, cmd: Command): Promise<void> {
  await withBackend(cmd, async (b) => {
    const { pins, usage } = await b.ls()
    if (o.json === true) { printJson(pins); return }
    print(pinsText(pins))
    note(usageNote(pins.length, usage))
  })
}

async function unpin (texts: string[], _o: unknown, cmd: Command): Promise<void> {
  const cids = texts.map(t => parseCid(t).toString())
  await withBackend(cmd, async (b) => {
    // One at a time, each reported as done: a failure part-way says what was unpinned.
    for (const c of cids) {
      await b.rm([c])
      print(unpinnedText(c))
    }
  })
}
