// A repo: one node's directory. config.json, identity.key (the node's Ed25519 key),
// api.token (the HTTP API's bearer token), api.json (where a running daemon listens),
// dht/ (the DHT's datastore), blocks/ (the LevelDB blockstore) and shares.json (who fetched
// this node's shares, src/exchange/share-records-file.ts).
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, unlink, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { DiskFullError, FileExistsError, InvalidArgumentError, RepoNotFoundError } from '../errors.js'
import { moveIntoPlace } from '../files/fs.js'
import { configFromJson, configKey, defaultConfig, type RepoConfig } from './config.js'

export { defaultConfig, defaultNetworkConfig, REPO_VERSION, type NetworkConfig, type RepoConfig } from './config.js'

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
  const config = defaultConfig()
  overrides(config)
  await configFromJson(config, `cannot init ${root}`)
  await mkdir(root, { recursive: true, mode: 0o700 })
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
  return (await readConfigFile(root)).config
}

/** config.json as written (`raw`, every key kept as it is) and the config it gives. */
export async function readConfigFile (root: string): Promise<{ raw: Record<string, unknown>, config: RepoConfig }> {
  const path = repoPaths(root).config
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new RepoNotFoundError(root)
    throw err
  }
  let raw: Record<string, unknown>
  try {
    raw = JSON.parse(text)
  } catch {
    throw new InvalidArgumentError(`${path} is not valid JSON`)
  }
  return { raw, config: await configFromJson(raw, path) }
}

/**
 * The config with some keys changed (undefined removes a key, so it takes its default), as
 * config.json would be written (`raw`: every other key as written) and the config it gives,
 * checked as a repo's open checks it. Nothing is written; `where` names the change in errors.
 */
export async function configWith (root: string, changes: Record<string, unknown>, where: string): Promise<{ raw: Record<string, unknown>, config: RepoConfig }> {
  const keys = Object.keys(changes).map(configKey)
  const raw = { ...(await readConfigFile(root)).raw }
  for (const { key, section, name } of keys) {
    const old = raw[section]
    const part: Record<string, unknown> = typeof old === 'object' && old !== null && !Array.isArray(old) ? { ...old } : {}
    if (changes[key] === undefined) delete part[name]
    else part[name] = changes[key]
    raw[section] = part
    if (Object.keys(part).length === 0) delete raw[section]
  }
  return { raw, config: await configFromJson(raw, where) }
}

/** Sets one key of config.json (undefined: removes it), replacing the file whole once checked. */
export async function updateConfig (root: string, key: string, value: unknown): Promise<RepoConfig> {
  const { raw, config } = await configWith(root, { [key]: value }, 'config set')
  await writeWhole(repoPaths(root).config, JSON.stringify(raw, null, 2) + '\n', 'replace')
  return config
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
