// `peerlink doctor`: what this installation runs on (format.ts words it).
import { availableParallelism, cpus } from 'node:os'
import { erasureCore } from '../erasure/reed-solomon.js'
import type { ErasureCoreInfo } from '../erasure/core.js'
import { hashInfo, hashReady } from '../hash/index.js'
import { ADDON_PATH } from '../hash/native.js'

export interface DoctorReport {
  node: string
  platform: string
  cpu: string
  cores: number
  hash: ReturnType<typeof hashInfo> & { addon: string }
  erasure: ErasureCoreInfo
}

/** The report once the hash core runs at full speed (the fallback's WASM is up). */
export async function doctorReport (): Promise<DoctorReport> {
  await hashReady()
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
    hash: { ...hashInfo(), addon: ADDON_PATH },
    erasure: erasureCore().info()
  }
}
