import { createHash } from 'node:crypto'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import * as Digest from 'multiformats/hashes/digest'
import { MAX_WANT_CIDS } from '../exchange/constants.js'

export const STORAGE_PROTOCOL = '/peerlink/storage/1.0.0'

/**
 * The key every node that offers space provides in the DHT, so an owner finds holders with
 * one provider lookup. A fixed CID (of the protocol's name) that names no block anyone stores.
 */
export const OFFER_KEY: CID = CID.createV1(raw.code, Digest.create(0x12, createHash('sha256').update('peerlink storage offers v1').digest()))

/** How long a lease lasts unless the owner asks otherwise. */
export const DEFAULT_LEASE = 30 * 24 * 60 * 60 * 1000

/** Longest lease a holder grants: past it, the owner must renew. */
export const MAX_LEASE = 365 * 24 * 60 * 60 * 1000

/** Most CIDs in one HOLD or HAS (a bigger set goes in several). */
export const MAX_LEASE_CIDS = MAX_WANT_CIDS

/** Largest storage message either side accepts: MAX_LEASE_CIDS CIDs and the rest. */
export const MAX_STORAGE_MESSAGE = MAX_LEASE_CIDS * 72 + 4096

/** Longest a query (OFFER_QUERY, RELEASE, HAS) may take, its answer included. */
export const QUERY_TIMEOUT = 10_000

/** Longest a HOLD may take: the holder pulls every block of it before it answers. */
export const HOLD_TIMEOUT = 10 * 60 * 1000

/** Storage streams one peer may have open at a holder at once. */
export const MAX_STREAMS_PER_PEER = 4

/** HOLDs a holder works on at once, from all owners together (each pulls blocks). */
export const MAX_CONCURRENT_HOLDS = 4

/** Leases a holder keeps in all: past it a HOLD for a new root is refused. */
export const MAX_LEASES = 100_000

/** DAG nodes (manifest, index, stripe nodes) are replicated, not coded, on this many holders. */
export const NODE_COPIES = 3
