// A repo: one node's directory. config.json, identity.key (the node's Ed25519 key),
// api.token (the HTTP API's bearer token), api.json (where a running daemon listens),
// dht/ (the DHT's datastore) and blocks/ (the LevelDB blockstore).
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, unlink, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { DiskFullError, FileExistsError, InvalidArgumentError, RepoNotFoundError } from '../errors.js'
import { moveIntoPlace } from '../files/fs.js'
import { DEFAULT_CHUNK_SIZE, DEFAULT_K, DEFAULT_M, MAX_TREE_ENTRIES } from '../files/format.js'

export interface NetworkConfig {
  /** Multiaddrs to listen on. */
  listen: string[]
  /** Multiaddrs of peers to join the network through. */
  bootstrap: string[]
  /** Find peers on the local network by mDNS. */
  mdns: boolean
  /**
   * Keep private and loopback addresses in DHT answers. On for a LAN or one machine; off on
   * the internet, where such addresses only waste dials.
   */
  privateAddresses: boolean
  /** Multiaddr ranges never rate-limited or refused for lack of connection slots. */
  allow: string[]
  /** Most open connections (peers on `allow` are not counted). */
  maxConnections: number
  /** Most bytes the exchange holds for all peers' streams together (their fair shares of it). */
  maxBufferedBytes: number
  /** Most inbound exchange streams from all peers together. */
  maxExchangeStreams: number
}

export interface RepoConfig {
  version: 1
  /** Defaults for `add`. */
  import: { chunkSize: number, k: number, m: number }
  network: NetworkConfig
  /** Where the daemon's HTTP API listens: host:port. Beyond loopback only when set so. */
  api: { address: string }
  /** Largest number of bytes the blockstore may hold; 0 for no limit. */
  storage: { quota: number }
  /** Most files and directories, and bytes (0: no limit), one fetch or export writes. */
  export: { maxEntries: number, maxBytes: number }
}

export const defaultNetworkConfig = (): NetworkConfig => ({
  listen: ['/ip4/0.0.0.0/tcp/4021'],
  bootstrap: [],
  mdns: false,
  privateAddresses: true,
  allow: ['/ip4/127.0.0.0/ipcidr/8'],
  maxConnections: 300,
  maxBufferedBytes: 256 * 1024 * 1024,
  maxExchangeStreams: 256
})

export function defaultConfig (): RepoConfig {
  return {
    version: REPO_VERSION,
    import: { chunkSize: DEFAULT_CHUNK_SIZE, k: DEFAULT_K, m: DEFAULT_M },
    network: defaultNetworkConfig(),
    api: { address: '127.0.0.1:5021' },
    storage: { quota: 0 },
    export: { maxEntries: MAX_TREE_ENTRIES, maxBytes: 0 }
  }
}

export const REPO_VERSION = 1

export function resolveRepoPath (flag?: string): string {
  const p = flag ?? process.env.PEERLINK_REPO ?? join(homedir(), '.peerlink')
  if (p === '') throw new InvalidArgumentError('the repo path is empty')
  return resolve(p)
}

export const repoPaths = (root: string): { config: string, blocks: string, identity: string, token: string, api: string, dht: string } => ({
  config: join(root, 'config.json'),
  blocks: join(root, 'blocks'),
  identity: join(root, 'identity.key'),
  token: join(root, 'api.token'),
  api: join(root, 'api.json'),
  dht: join(root, 'dht')
})

/** Creates the repo if it does not exist; returns whether it was created. */
export async function initRepo (root: string, overrides: (config: RepoConfig) => void = () => {}): Promise<{ created: boolean, config: RepoConfig }> {
  const paths = repoPaths(root)
  try {
    return { created: false, config: await readConfig(root) }
  } catch (err) {
    if (!(err instanceof RepoNotFoundError)) throw err
  }
  await mkdir(root, { recursive: true, mode: 0o700 })
  const config = defaultConfig()
  overrides(config)
  await writeWhole(paths.config, JSON.stringify(config, null, 2) + '\n', 'new')
  await readToken(root)
  return { created: true, config }
}

/**
 * Writes a small repo file so that it is there whole or not at all: a full disk or a crash
 * leaves no empty or half-written file behind (an empty api.token would be a token anyone
 * can present). 'new' fails with FileExistsError when the file exists; 'replace' replaces it.
 */
export async function writeWhole (path: string, text: string, how: 'new' | 'replace'): Promise<void> {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`
  try {
    await writeFile(tmp, text, { mode: 0o600, flag: 'wx' })
    await moveIntoPlace(tmp, path, how === 'replace') // the temp file is gone once it is in place
  } catch (err) {
    await unlink(tmp).catch(() => {})
    if ((err as NodeJS.ErrnoException).code === 'ENOSPC') throw new DiskFullError(path, { cause: err })
    throw err
  }
}

export async function readConfig (root: string): Promise<RepoConfig> {
  let text: string
  try {
    text = await readFile(repoPaths(root).config, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new RepoNotFoundError(root)
    throw err
  }
  let raw: Partial<RepoConfig>
  try {
    raw = JSON.parse(text)
  } catch {
    throw new InvalidArgumentError(`${repoPaths(root).config} is not valid JSON`)
  }
  if (raw.version !== REPO_VERSION) throw new InvalidArgumentError(`${repoPaths(root).config} has repo version ${String(raw.version)}; this PeerLink reads version ${REPO_VERSION}`)
  // Sections a config lacks (written by an older PeerLink) take their defaults.
  const d = defaultConfig()
  const config: RepoConfig = {
    version: REPO_VERSION,
    import: { ...d.import, ...raw.import },
    network: { ...d.network, ...raw.network },
    api: { ...d.api, ...raw.api },
    storage: { ...d.storage, ...raw.storage },
    export: { ...d.export, ...raw.export }
  }
  checkConfig(config, repoPaths(root).config)
  return config
}

function checkConfig (c: RepoConfig, where: string): void {
  const bad = (what: string): never => { throw new InvalidArgumentError(`${where}: ${what}`) }
  const n = c.network
  for (const key of ['listen', 'bootstrap', 'allow'] as const) {
    if (!Array.isArray(n[key]) || n[key].some(a => typeof a !== 'string' || !a.startsWith('/'))) bad(`network.${key} must be a list of multiaddrs ("/ip4/…")`)
  }
  if (!Number.isSafeInteger(n.maxConnections) || n.maxConnections < 1) bad('network.maxConnections must be a positive whole number')
  if (!Number.isSafeInteger(n.maxBufferedBytes) || n.maxBufferedBytes < 16 * 1024 * 1024) bad('network.maxBufferedBytes must be a whole number of bytes, at least 16 MiB (16777216)')
  if (!Number.isSafeInteger(n.maxExchangeStreams) || n.maxExchangeStreams < 1) bad('network.maxExchangeStreams must be a positive whole number')
  if (typeof c.api.address !== 'string' || !/^[^:]+:\d{1,5}$/.test(c.api.address)) bad(`api.address must be host:port, not ${JSON.stringify(c.api.address)}`)
  if (!Number.isSafeInteger(c.storage.quota) || c.storage.quota < 0) bad('storage.quota must be a whole number of bytes (0 for none)')
  if (!Number.isSafeInteger(c.export.maxEntries) || c.export.maxEntries < 1) bad('export.maxEntries must be a positive whole number')
  if (!Number.isSafeInteger(c.export.maxBytes) || c.export.maxBytes < 0) bad('export.maxBytes must be a whole number of bytes (0 for none)')
}

/** Shortest token the API accepts; a made one is 43 characters (32 random bytes). */
export const MIN_TOKEN_LENGTH = 32

/**
 * The API token; made (mode 0600) at init, on first use in a repo made by an older PeerLink,
 * or again when the file holds too short a token to be one (emptied by a full disk or by hand).
 */
export async function readToken (root: string): Promise<string> {
  const path = repoPaths(root).token
  let how: 'new' | 'replace' = 'new'
  try {
    const token = (await readFile(path, 'utf8')).trim()
    if (token.length >= MIN_TOKEN_LENGTH) return token
    how = 'replace'
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  // Of two processes making it at once, one writes it and both read that one.
  await writeWhole(path, randomBytes(32).toString('base64url') + '\n', how).catch((err: Error) => {
    if (!(err instanceof FileExistsError)) throw err
  })
  return (await readFile(path, 'utf8')).trim()
}
