// A repo: one node's directory. config.json, and blocks/ (the LevelDB blockstore).
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { InvalidArgumentError, RepoNotFoundError } from '../errors.js'
import { DEFAULT_CHUNK_SIZE, DEFAULT_K, DEFAULT_M } from '../files/format.js'

export interface RepoConfig {
  version: 1
  /** Defaults for `add`. */
  import: { chunkSize: number, k: number, m: number }
}

export const REPO_VERSION = 1

export function resolveRepoPath (flag?: string): string {
  const p = flag ?? process.env.PEERLINK_REPO ?? join(homedir(), '.peerlink')
  if (p === '') throw new InvalidArgumentError('the repo path is empty')
  return resolve(p)
}

export const repoPaths = (root: string): { config: string, blocks: string } => ({
  config: join(root, 'config.json'),
  blocks: join(root, 'blocks')
})

/** Creates the repo if it does not exist; returns whether it was created. */
export async function initRepo (root: string): Promise<{ created: boolean, config: RepoConfig }> {
  const paths = repoPaths(root)
  try {
    return { created: false, config: await readConfig(root) }
  } catch (err) {
    if (!(err instanceof RepoNotFoundError)) throw err
  }
  await mkdir(root, { recursive: true, mode: 0o700 })
  const config: RepoConfig = { version: REPO_VERSION, import: { chunkSize: DEFAULT_CHUNK_SIZE, k: DEFAULT_K, m: DEFAULT_M } }
  await writeFile(paths.config, JSON.stringify(config, null, 2) + '\n', { mode: 0o600, flag: 'wx' })
  return { created: true, config }
}

export async function readConfig (root: string): Promise<RepoConfig> {
  let text: string
  try {
    text = await readFile(repoPaths(root).config, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new RepoNotFoundError(root)
    throw err
  }
  let config: RepoConfig
  try {
    config = JSON.parse(text)
  } catch {
    throw new InvalidArgumentError(`${repoPaths(root).config} is not valid JSON`)
  }
  if (config.version !== REPO_VERSION) throw new InvalidArgumentError(`${repoPaths(root).config} has repo version ${String(config.version)}; this PeerLink reads version ${REPO_VERSION}`)
  return config
}
