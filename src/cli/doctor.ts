// `peerlink doctor`: what this installation runs on.
import { availableParallelism, cpus } from 'node:os'
import { erasureCore } from '../erasure/reed-solomon.js'
import type { ErasureCoreInfo } from '../erasure/core.js'
import { hashInfo } from '../hash/index.js'
import { ADDON_PATH } from '../hash/native.js'

export interface DoctorReport {
  node: string
  platform: string
  cpu: string
  cores: number
  hash: ReturnType<typeof hashInfo> & { addon: string }
  erasure: ErasureCoreInfo
}

export function doctorReport (): DoctorReport {
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
    hash: { ...hashInfo(), addon: ADDON_PATH },
    erasure: erasureCore().info()
  }
}

export function formatDoctor (r: DoctorReport): string {
  const lines = [
    `node         ${r.node} (${r.platform})`,
    `cpu          ${r.cpu}, ${r.cores} cores`,
    `hash core    ${r.hash.core === 'native' ? `native BLAKE3 (${r.hash.addon})` : 'WASM BLAKE3 fallback'}`,
    `simd         ${r.hash.simd} (available: ${r.hash.available.join(', ')})`,
    `threads      ${r.hash.threads} for batch verification`,
    `erasure core ${r.erasure.core === 'native' ? 'native Reed-Solomon' : 'JS Reed-Solomon fallback'}, GF(2^8) level ${r.erasure.simd} (available: ${r.erasure.available.join(', ')})`
  ]
  if (r.hash.fallbackReason !== undefined) lines.push(`warning      ${r.hash.fallbackReason}`)
  if (r.erasure.fallbackReason !== undefined) lines.push(`warning      ${r.erasure.fallbackReason}`)
  return lines.join('\n')
}
