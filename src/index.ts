// The PeerLink library: what the CLI and the daemon are built from.
//
//   const node = await createPeerLink({ repo: './repo' })
//   const { cid } = await node.add('file.bin')
//   node.ticket(cid) // share it; another node: await other.fetch(ticket, { output: 'copy.bin' })
import './polyfill.js'

export { createPeerLink, type CreatePeerLinkOptions, type RepoInit } from './node/create.js'
export { PeerLinkNode, type AddOptions, type AddResult, type ListEntry, type OpenOptions, type RootRef, type StatResult } from './node/peerlink.js'
export type { FetchOptions, FetchProgressEvents, FetchResult } from './node/fetch.js'
export type { RangeOptions, ReadOptions } from './node/range.js'
export type { ProviderStats, SessionProgressEvents } from './exchange/session.js'
export type { ImportOptions, ImportProgressEvents } from './files/importer.js'
export type { ExportOptions, ExportProgressEvents } from './files/exporter.js'
export type { Damage, VerifyOptions, VerifyProgressEvents, VerifyReport } from './files/verify.js'
export type { GcResult, PinInfo, Usage } from './blockstore/index.js'
export type { RepoConfig, NetworkConfig } from './repo/repo.js'
export { encodeTicket, parseTarget, type Ticket } from './node/ticket.js'
export { parseCid, parseRootPath, isTicket, type RootPath } from './node/cid.js'
export * from './errors.js'
export * from './limits.js'
export * from './hash/index.js'
