// Reading part of what a root holds without fetching all of it: a file or directory inside a
// root, reached through the directory nodes on its path, and a byte range of a file, read
// stripe by stripe and streamed as each stripe is verified. Blocks come from the repo and, on
// an online node, what the repo lacks from the root's providers (only the manifest, the index
// nodes on the way and the stripes the range touches); those are verified and stored, never
// pinned, so a second read is local and gc may take them. `cat`, `stat` and `ls` run on this,
// through the CLI and the API alike, and so can a gateway answering byte ranges.
import { InvalidArgumentError } from '../errors.js'
import type { LevelBlockstore } from '../blockstore/level.js'
import type { SessionProgressEvents } from '../exchange/session.js'
import { resolvePath, type Resolved } from '../files/directory.js'
import type { BlockSource, ExportOptions, ExportProgressEvents } from '../files/exporter.js'
import { exportContent } from '../files/private.js'
import { formatRootPath } from './cid.js'
import type { ProviderLookupEvents } from './fetch.js'
import type { PeerLinkNetwork } from './network.js'
import type { Ticket } from './ticket.js'

export interface ReadOptions {
  /**
   * On an online node, fetch what the repo lacks from the root's providers (a root pinned
   * here is read from the repo alone). False reads the repo only.
   * @default true
   */
  network?: boolean
  /**
   * Longest the DHT lookup for providers may take, in ms.
   * @default 10000
   */
  findTimeout?: number
  signal?: AbortSignal
  onProgress?: (event: SessionProgressEvents | ProviderLookupEvents) => void
}

export interface RangeOptions extends Omit<ReadOptions, 'onProgress'>, Pick<ExportOptions, 'offset' | 'length'> {
  onProgress?: (event: SessionProgressEvents | ProviderLookupEvents | ExportProgressEvents) => void
}

/** Where a read gets its blocks, what to report for a failure, and what to end after it. */
interface Reader {
  source: BlockSource
  failure: (err: unknown) => unknown
  close: () => Promise<void>
}

/** Every root is a dag-cbor node: a CID of another codec is never asked of the network. */
const DAG_CBOR = 0x71

/** The repo alone (offline, asked to, or the root pinned here), or the repo and the root's providers. */
async function openReader (store: LevelBlockstore, net: PeerLinkNetwork | undefined, target: Ticket, options: ReadOptions): Promise<Reader> {
  if (net === undefined || options.network === false || target.root.code !== DAG_CBOR || await store.isPinned(target.root)) {
    return { source: store, failure: (err) => err, close: async () => {} }
  }
  const source = net.source(target, { signal: options.signal, findTimeout: options.findTimeout, onProgress: options.onProgress })
  return { source, failure: (err) => source.failure(err), close: async () => { await source.close() } }
}

/** Runs `read` over the file or directory `target` names (a root, or a path inside one). */
export async function withResolved<T> (store: LevelBlockstore, net: PeerLinkNetwork | undefined, target: Ticket, options: ReadOptions,
  read: (resolved: Resolved, source: BlockSource) => Promise<T>): Promise<T> {
  const reader = await openReader(store, net, target, options)
  try {
    return await read(await resolvePath(reader.source, target.root, target.path ?? [], { signal: options.signal, key: target.key }), reader.source)
  } catch (err) {
    throw reader.failure(err)
  } finally {
    await reader.close()
  }
}

/**
 * The bytes `offset` … `offset + length` of the file `target` names, yielded stripe by
 * stripe as each is verified (rebuilt from parity where a chunk cannot be had): memory holds
 * the stripe being read and the read-ahead, whatever the range's length.
 */
export async function * readRange (store: LevelBlockstore, net: PeerLinkNetwork | undefined, target: Ticket, options: RangeOptions = {}): AsyncGenerator<Uint8Array> {
  const reader = await openReader(store, net, target, options)
  try {
    const file = await resolvePath(reader.source, target.root, target.path ?? [], { signal: options.signal, key: target.key })
    if (file.node.type !== 'file') {
      throw new InvalidArgumentError(`${formatRootPath({ root: target.root, path: target.path ?? [] })} is a directory: \`ls\` lists it, \`fetch\` writes it`)
    }
    yield * exportContent(reader.source, file.cid, { offset: options.offset, length: options.length, key: file.key, signal: options.signal, onProgress: options.onProgress })
  } catch (err) {
    throw reader.failure(err)
  } finally {
    await reader.close()
  }
}
