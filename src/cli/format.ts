// What the commands print. Human text is built here, as lines, from the same plain shapes the
// API sends (api/shapes.ts and the node's results), so a command prints the same through a
// daemon or on its own. `--json` prints those shapes unchanged (JsonOutput lists them).
import type { DaemonInfo } from '../api/daemon.js'
import type { ShareStatusOut } from '../api/routes/shares.js'
import type { AddOut, IdOut, PeerOut, PinOut, ProviderOut } from '../api/shapes.js'
import type { GcResult, Usage } from '../blockstore/level.js'
import type { VerifyReport } from '../files/verify.js'
import type { FetchResult } from '../node/fetch.js'
import type { HeapPolicy } from '../node/heap.js'
import type { ConnectResult } from '../node/network.js'
import type { ListEntry, StatResult } from '../node/peerlink.js'
import type { ConfigValueType, RepoConfig } from '../repo/config.js'
import type { SpreadResult, SpreadStatus } from '../storage/service.js'
import type { DoctorReport } from './doctor.js'

/** What each command's `--json` prints. */
export type JsonOutput =
  | AddOut[] // add
  | FetchResult // fetch (with `output`, where it wrote the file, unless --pin-only)
  | ShareOut // share
  | ProviderOut[] // find-providers
  | IdOut // id
  | PeerOut[] // peers
  | StatResult // stat
  | PinOut[] // ls (the pins only; the blockstore's usage goes to stderr in text only)
  | ListEntry[] // ls <cid>[/path]
  | GcResult // gc
  | VerifyReport // verify
  | DoctorReport // doctor
  | RepoConfig // config show
  | ConnectResult // connect
  | LoginUrlOut // ui
  | ShareStatusOut[] // shares
  | SpreadResult // spread
  | SpreadStatus // status
  | Array<AddOut & { spread: SpreadResult }> // add --spread

export interface ShareOut { cid: string, ticket: string }
export interface LoginUrlOut { url: string, expires: string }

export function jsonText (value: JsonOutput): string {
  return JSON.stringify(value, null, 2)
}

export function formatBytes (n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let i = 0
  let x = n
  while (x >= 1024 && i < units.length - 1) { x /= 1024; i++ }
  return `${i === 0 ? x : x.toFixed(1)} ${units[i]}`
}

export function initText (path: string, created: boolean): string {
  return created ? `initialized a PeerLink repo at ${path}` : `a PeerLink repo already exists at ${path}`
}

export function daemonText (info: DaemonInfo, repo: string, heap: HeapPolicy): string[] {
  return [
    `peer id  ${info.peerId}`,
    // libp2p's addresses already end in /p2p/<peer id>.
    ...info.addresses.map(a => `listen   ${a.includes('/p2p/') ? a : `${a}/p2p/${info.peerId}`}`),
    `api      http://${info.address} (token in ${repo}/api.token)`,
    ...(info.gateway !== undefined ? [`gateway  http://${info.gateway}/ipfs/<cid>[/path] (read-only, no token)`] : []),
    `heap     ${heap.growingPercent === 'v8' ? 'V8\'s own growth factor' : `old generation grows to ${1 + heap.growingPercent / 100}× its live size between full collections`}; ${heap.youngGenerationMb === 'v8' ? 'V8\'s own young generation' : `young generation held at ${heap.youngGenerationMb} MB`}`
  ]
}

/** Most of this node's addresses the no-peers hint lists. */
const HINT_ADDRESSES = 4

/** Said when a daemon starts with no peer and no bootstrap peer configured. */
export function noPeersHint (addresses: string[]): string {
  return [
    'no peers yet (network.bootstrap is empty): this node is on a network of its own.',
    '  to join another node:  peerlink connect <its multiaddr>',
    '    or at every start:   peerlink config set network.bootstrap <its multiaddr>',
    '  to let one join this:  on it, peerlink connect <one of these>',
    ...addresses.slice(0, HINT_ADDRESSES).map(a => `    ${a}`)
  ].join('\n')
}

export function addedText (r: AddOut, quiet: boolean): string[] {
  if (quiet) return [r.cid]
  const lines = [`added ${r.cid} ${r.name} (${r.type === 'directory' ? `${r.files} files, ` : ''}${formatBytes(r.size)})`, storedText(r)]
  if (r.ticket !== undefined) lines.push(`share ${r.ticket}`)
  return lines
}

/** What the repo holds for a root, against its size: "stored 135.0 MiB for 95.0 MiB: 1.42×". */
export function storedText (r: { size: number, stored: number }): string {
  return `stored ${formatBytes(r.stored)} for ${formatBytes(r.size)}${r.size > 0 ? `: ${(r.stored / r.size).toFixed(2)}×` : ''}`
}

export function skippedNote (path: string): string {
  return `skipped ${path}: not a regular file or directory`
}

export function addedBeforeFailureNote (r: AddOut): string {
  return `added before the failure: ${r.cid} ${r.name}`
}

/** Said after an add or fetch that ran without a daemon, so nothing was announced yet. */
export function notAnnouncedNote (what: 'files' | 'root'): string {
  return what === 'files'
    ? 'no daemon is running: the files are in the repo, and are announced and served (the share links work) once `peerlink daemon` starts'
    : 'no daemon is running: the root is pinned and will be announced when `peerlink daemon` starts'
}

export function fetchedText (r: FetchResult, output: string | undefined): string[] {
  const secs = r.ms / 1000
  const from = r.providers.length === 0 ? 'the repo' : `${r.providers.filter(p => p.blocks > 0).length} of ${r.providers.length} providers`
  const lines = [`fetched ${r.cid} ${r.name} (${formatBytes(r.size)}) from ${from} in ${secs.toFixed(1)} s${r.fetchedBytes > 0 ? `, ${formatBytes(r.fetchedBytes / Math.max(secs, 0.001))}/s` : ''}`]
  if (r.rebuiltChunks > 0) lines.push(`rebuilt ${r.rebuiltChunks} chunks from parity`)
  if (output !== undefined) lines.push(`wrote ${output}`)
  return lines
}

export function providedText (r: { cid: string, ms: number }): string {
  return `provided ${r.cid} (${r.ms} ms)`
}

/** Connected peers and providers: one line each, the peer id, its addresses, and for a connection direct or relayed. */
export function peersText (peers: PeerOut[] | ProviderOut[]): string[] {
  return peers.map(p => `${p.peer}  ${p.addrs.join(' ')}${'via' in p ? `  ${p.via}${p.punched === true ? ' (hole punched)' : ''}` : ''}`)
}

export function noProvidersNote (cid: string): string {
  return `no providers of ${cid} found`
}

export function idText (r: IdOut): string[] {
  return [`peer id  ${r.peerId}`, ...r.addresses.map(a => `address  ${a}`)]
}

export function connectedText (r: ConnectResult): string {
  // libp2p keeps one connection per peer, so the address given was not dialled.
  return r.reused ? `already connected to ${r.peer} via ${r.addr} (the address given was not dialled)` : `connected to ${r.peer} via ${r.addr}`
}

export function statText (s: StatResult): string[] {
  const lines = [
    `cid        ${s.cid}`,
    `type       ${s.type}${s.pinned ? ' (pinned)' : ''}`,
    `name       ${s.name}`,
    `size       ${s.size} bytes (${formatBytes(s.size)})`
  ]
  if (s.type === 'file') {
    lines.push(
      `media type ${String(s.mediaType)}`,
      `chunks     ${formatBytes(s.chunkSize as number)} each, stripes of k=${String(s.k)} data + m=${String(s.m)} parity, ${String(s.stripes)} stripes`,
      s.private === true ? 'private    AES-256-GCM: blocks, parity and CIDs are of ciphertext' : `blake3     ${String(s.hash)}`
    )
  } else {
    lines.push(`entries    ${String(s.entries)}`)
  }
  return lines
}

/** Pinned roots, or a directory's entries: CID, type, size and name, one a line. */
export function pinsText (pins: Array<PinOut | ListEntry>): string[] {
  return pins.map(p => `${p.cid}  ${p.type === 'directory' ? 'dir ' : 'file'}  ${formatBytes(p.size).padStart(10)}  ${p.name}${'spread' in p && p.spread !== undefined ? `  (${p.spread === 'spread' ? 'spread' : `spread, ${p.spread}`})` : ''}`)
}

export function usageNote (pinned: number, usage: Usage): string {
  return `${pinned} pinned; the blockstore holds ${usage.blocks} blocks, ${formatBytes(usage.bytes)}`
}

export function unpinnedText (cid: string): string {
  return `unpinned ${cid}`
}

export function gcText (r: GcResult): string {
  return `removed ${r.removedBlocks} blocks (${formatBytes(r.removedBytes)}); ${r.kept} blocks kept`
}

/** `repair`: whether repair was asked for (what an unrepaired block's line says depends on it). */
export function verifyText (r: VerifyReport, repair: boolean): string[] {
  const lines = [`checked ${r.blocks} intact blocks; ${r.damaged.length} damaged, ${r.repaired.length} repaired, ${r.unrecoverable.length} unrecoverable`]
  for (const d of r.damaged) {
    const fate = r.repaired.some(x => x.cid === d.cid) ? 'repaired from parity' : repair ? 'NOT repairable' : 'not repaired (--no-repair)'
    lines.push(`  ${d.what}: ${d.reason} (${d.cid}): ${fate}`)
  }
  return lines
}

export function doctorText (r: DoctorReport): string[] {
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
  lines.push('')
  for (const c of r.checks) lines.push(`${c.verdict.padEnd(4)}  ${c.name.padEnd(12)} ${c.message}`)
  return lines
}

/** A config value as `config get` prints it: a list one item a line, a section as JSON. */
export function configValueText (value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String)
  return [typeof value === 'object' && value !== null ? JSON.stringify(value, null, 2) : String(value)]
}

export function configSetText (key: string, value: unknown, type: ConfigValueType, unset: boolean): string {
  const size = type === 'size' && typeof value === 'number' && value > 0 ? ` (${formatBytes(value)})` : ''
  return `${key} = ${JSON.stringify(value)}${size}${unset ? ' (the default)' : ''}`
}

export function daemonKeepsConfigNote (pid: number): string {
  return `the daemon running on this repo (pid ${pid}) keeps the config it loaded: restart it to use this`
}

/** Each share, then one line per receiver: completed (when, what it got from here) or fetching. */
export function sharesText (shares: ShareStatusOut[]): string[] {
  if (shares.length === 0) return ['no shares: add a file to share one']
  return shares.flatMap(s => [
    `${s.cid}  ${formatBytes(s.size).padStart(10)}  ${s.name}`,
    ...(s.receivers.length === 0 ? ['  no receivers yet'] : s.receivers.map(receiverText))
  ])
}

function receiverText (r: ShareStatusOut['receivers'][number]): string {
  if (r.receipt !== undefined && r.completedAt !== undefined) {
    return `  ${r.peer}  completed ${new Date(r.completedAt).toISOString()}, got ${formatBytes(r.receipt.bytes)} in ${r.receipt.blocks} blocks from here`
  }
  return `  ${r.peer}  fetching, ${formatBytes(r.sentBytes)} sent so far (last ${new Date(r.lastSent).toISOString()})`
}
