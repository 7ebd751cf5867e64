import { MAX_BLOCK_SIZE } from '../limits.js'

export const EXCHANGE_PROTOCOL = '/peerlink/exchange/1.0.0'

/**
 * Completion receipts go on a protocol of their own: a node that predates them refuses the
 * protocol at negotiation, where a RECEIPT on an exchange stream would be an unknown type,
 * a protocol violation that costs the sender penalty points.
 */
export const RECEIPT_PROTOCOL = '/peerlink/receipt/1.0.0'

/** Longest a receipt may take to send or to arrive once its stream is open. */
export const RECEIPT_TIMEOUT = 5000

/** Largest message either side accepts: one block plus its CID and framing. */
export const MAX_MESSAGE_SIZE = MAX_BLOCK_SIZE + 4096

/** Most CIDs in one WANT. */
export const MAX_WANT_CIDS = 4096

/** Most blocks a provider queues for one stream; a requester asking more is flooding. */
export const MAX_QUEUED_BLOCKS = 256

/** Most exchange streams one peer may hold open to a provider at once. */
export const MAX_INBOUND_STREAMS = 16

/** Most inbound exchange streams a provider serves at once, from all peers together. */
export const MAX_SERVED_STREAMS = 256

/**
 * Most bytes a provider holds for all inbound streams together: blocks read and not yet
 * sent, and bytes sent into streams the peers have not yet taken.
 */
export const MAX_BUFFERED_BYTES = 256 * 1024 * 1024

/** Blocks a session keeps in flight to one provider. */
export const PEER_WINDOW = 16

/**
 * Bytes of fetched blocks a session has being verified and stored at once; past it nothing
 * more is asked for until the store catches up, so a store slower than the providers holds
 * back the fetch rather than piling blocks up in memory.
 */
export const STORING_BYTES = 32 * 1024 * 1024

/**
 * Most bytes of fetched blocks a session holds in memory for the reader; the rest of its
 * read-ahead is read back from the repo when the reader gets there. As many as the exporter's
 * least read-ahead (READ_AHEAD_BLOCKS): 40 MiB cost three uncapped providers' fetch 30 MB of
 * peak RSS at the same speed.
 */
export const HELD_BYTES = 24 * 1024 * 1024

/**
 * How long a provider may answer nothing while something is asked of it before the session
 * drops it; also how long a request it passed over (a later one was answered) may wait.
 */
export const REQUEST_TIMEOUT = 30_000

/**
 * How long a provider keeps a stream on which nothing is asked and nothing is left to send,
 * and how long a send may wait with nothing of it going out (a peer that stopped reading).
 */
export const STREAM_IDLE_TIMEOUT = 60_000

/** Penalty points that get a peer banned (each protocol violation scores its weight). */
export const BAN_THRESHOLD = 10

/** How long a banned peer stays banned. */
export const BAN_DURATION = 60 * 60 * 1000
