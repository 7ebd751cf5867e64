// `peerlink doctor`: what this installation runs on.
import { availableParallelism, cpus } from 'node:os'
import { hashInfo } from '../hash/index.js'
import { ADDON_PATH } from '../hash/native.js'

export interface DoctorReport {
  node: string
  platform: string
  cpu: string
  cores: number
  hash: ReturnType<typeof hashInfo> & { addon: string }
}

export function doctorReport (): DoctorReport {
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
    hash: { ...hashInfo(), addon: ADDON_PATH }
  }
}

export function formatDoctor (r: DoctorReport): string {
  const lines = [
    `node         ${r.node} (${r.platform})`,
    `cpu          ${r.cpu}, ${r.cores} cores`,
    `hash core    ${r.hash.core === 'native' ? `native BLAKE3 (${r.hash.addon})` : 'WASM BLAKE3 fallback'}`,
    `simd         ${r.hash.simd} (available: ${r.hash.available.join(', ')})`,
    `threads      ${r.hash.threads} for batch verification`
  ]
  if (r.hash.fallbackReason !== undefined) lines.push(`warning      ${r.hash.fallbackReason}`)
  return lines.join('\n')
}
