// `peerlink doctor`: what this installation runs on, and a verdict per part of the node (the
// checks are in doctor-checks.ts; format.ts words the report).
import { existsSync } from 'node:fs'
import { availableParallelism, cpus } from 'node:os'
import { join } from 'node:path'
import { erasureCore } from '../erasure/reed-solomon.js'
import type { ErasureCoreInfo } from '../erasure/core.js'
import { hashInfo, hashReady } from '../hash/index.js'
import { ADDON_PATH } from '../hash/native.js'
import { repoPaths } from '../repo/repo.js'
import { daemonCheck, diskCheck, networkChecks, repoCheck, type DoctorCheck } from './doctor-checks.js'

export type { DoctorCheck } from './doctor-checks.js'

export interface DoctorReport {
  node: string
  platform: string
  cpu: string
  cores: number
  hash: ReturnType<typeof hashInfo> & { addon: string }
  erasure: ErasureCoreInfo
  /** In order: repo, daemon, addresses, peers, dht, hash core, erasure core, disk (with a repo). */
  checks: DoctorCheck[]
}

/** The report once the hash core runs at full speed (the fallback's WASM is up). */
export async function doctorReport (repo: string): Promise<DoctorReport> {
  await hashReady()
  const hash = { ...hashInfo(), addon: ADDON_PATH }
  const erasure = erasureCore().info()
  const { check: repoLine, config } = await repoCheck(repo)
  const { check: daemonLine, status } = await daemonCheck(repo)
  const checks = [repoLine, daemonLine, ...networkChecks(status, config), ...coreChecks(hash, erasure)]
  if (config !== undefined) {
    checks.push(await diskCheck(repo, status?.quota ?? config.storage.quota, status?.usage ?? await localUsage(repo)))
  }
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
    hash,
    erasure,
    checks
  }
}

/** The exit status of a report: that of its first failed check, 0 when none failed. */
export function doctorExitCode (report: DoctorReport): number {
  const failed = report.checks.find(c => c.verdict === 'fail')
  return failed === undefined ? 0 : failed.exitCode ?? 1
}

function coreChecks (hash: DoctorReport['hash'], erasure: ErasureCoreInfo): DoctorCheck[] {
  return [
    hash.core === 'native'
      ? { name: 'hash core', verdict: 'ok', message: `native BLAKE3, ${hash.simd}` }
      : { name: 'hash core', verdict: 'warn', message: `WASM BLAKE3 fallback, several times slower: ${hash.fallbackReason ?? 'chosen by PEERLINK_HASH_CORE'}` },
    erasure.core === 'native'
      ? { name: 'erasure core', verdict: 'ok', message: `native Reed-Solomon, ${erasure.simd}` }
      : { name: 'erasure core', verdict: 'warn', message: `JS Reed-Solomon fallback: ${erasure.fallbackReason ?? 'chosen by PEERLINK_ERASURE_CORE'}` }
  ]
}

/**
 * What the blockstore holds, read from the repo here (no daemon answered); none stored yet when
 * it has no index; why not, when it cannot be opened (another process holds it).
 */
async function localUsage (repo: string): Promise<{ bytes: number } | string> {
  const path = repoPaths(repo).blocks
  if (!existsSync(join(path, 'index'))) return { bytes: 0 }
  // Loaded here: LevelDB is needed only when no daemon answered.
  const { LevelBlockstore } = await import('../blockstore/level.js')
  const store = new LevelBlockstore(path)
  try {
    await store.open()
  } catch (err) {
    return (err as Error).message
  }
  try {
    return await store.usage()
  } finally {
    await store.close()
  }
}
