// Every failure PeerLink reports has its own class, recognised by `name` (stable) and
// carrying a `code`, the exit status the CLI ends with and the status the HTTP API answers
// with. The two statuses are declared side by side, not derived from each other: exit
// statuses group failures by what the user can do about them, HTTP statuses by whose fault
// they are (the caller's 4xx, the daemon's 5xx, a peer's 502/504).

export abstract class PeerLinkError extends Error {
  /** Each subclass names its own code. */
  static readonly code: string = 'ERR_PEERLINK'
  /** HTTP status the daemon's API answers this failure with. */
  static readonly httpStatus: number = 500
  /** Process exit status the CLI uses for this failure. */
  static readonly exitCode: number = 1

  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
    // The class name is the stable `name` errors are recognised by.
    this.name = new.target.name
  }

  get code (): string {
    return (this.constructor as typeof PeerLinkError).code
  }

  get httpStatus (): number {
    return (this.constructor as typeof PeerLinkError).httpStatus
  }

  get exitCode (): number {
    return (this.constructor as typeof PeerLinkError).exitCode
  }
}

export class InvalidArgumentError extends PeerLinkError {
  static override readonly code = 'ERR_INVALID_ARGUMENT'
  static override readonly exitCode = 2
  static override readonly httpStatus = 400
}

export class BlockTooLargeError extends PeerLinkError {
  static override readonly code = 'ERR_BLOCK_TOO_LARGE'
  static override readonly exitCode = 2
  static override readonly httpStatus = 400
  constructor (readonly size: number, readonly limit: number) {
    super(`block of ${size} bytes exceeds the ${limit}-byte block limit`)
  }
}

export class UnsupportedHashError extends PeerLinkError {
  static override readonly code = 'ERR_UNSUPPORTED_HASH'
  static override readonly exitCode = 3
  static override readonly httpStatus = 400
  constructor (readonly hashCode: number) {
    super(`unsupported multihash code 0x${hashCode.toString(16)}: PeerLink verifies blake3 (0x1e) and sha2-256 (0x12)`)
  }
}

export class InvalidDigestError extends PeerLinkError {
  static override readonly code = 'ERR_INVALID_DIGEST'
  static override readonly exitCode = 3
  static override readonly httpStatus = 400
  constructor (readonly hashName: string, readonly length: number, readonly expected: number) {
    super(`${hashName} digest is ${length} bytes, expected ${expected}`)
  }
}

export class HashMismatchError extends PeerLinkError {
  static override readonly code = 'ERR_HASH_MISMATCH'
  static override readonly exitCode = 4
  static override readonly httpStatus = 502
  /** `peer`: the provider that sent the block, when it came over the network; `detail` follows. */
  constructor (readonly cid: string, readonly actual: string, readonly peer?: string, detail?: string) {
    super(`${peer !== undefined ? `provider ${peer} sent a ` : ''}block ${peer !== undefined ? 'that ' : ''}does not match its CID ${cid} (its bytes hash to ${actual})${detail !== undefined ? `; ${detail}` : ''}`)
  }
}

export class NativeAddonError extends PeerLinkError {
  static override readonly code = 'ERR_NATIVE_ADDON'
  static override readonly exitCode = 5
  static override readonly httpStatus = 500
}

export class NotEnoughShardsError extends PeerLinkError {
  static override readonly code = 'ERR_NOT_ENOUGH_SHARDS'
  static override readonly exitCode = 6
  static override readonly httpStatus = 422
  constructor (readonly needed: number, readonly present: number, readonly missing: number[]) {
    super(`cannot rebuild: ${present} of the ${needed} shards needed are present (missing shards ${missing.join(', ')})`)
  }
}

export class BlockNotFoundError extends PeerLinkError {
  static override readonly code = 'ERR_BLOCK_NOT_FOUND'
  static override readonly exitCode = 7
  static override readonly httpStatus = 404
  constructor (readonly cid: string) {
    super(`block ${cid} is not in the blockstore`)
  }
}

export class RepoLockedError extends PeerLinkError {
  static override readonly code = 'ERR_REPO_LOCKED'
  static override readonly exitCode = 8
  static override readonly httpStatus = 423
  constructor (readonly path: string) {
    super(`the repo at ${path} is in use by another process (a running daemon or command)`)
  }
}

export class DiskFullError extends PeerLinkError {
  static override readonly code = 'ERR_DISK_FULL'
  static override readonly exitCode = 9
  static override readonly httpStatus = 507
  /** `opening`: the blockstore could not even be opened, so no command can use the repo. */
  constructor (readonly path: string, options?: { cause?: unknown, opening?: boolean }) {
    const detail = options?.cause instanceof Error && !/ENOSPC|No space left/i.test(options.cause.message) ? ` (${options.cause.message})` : ''
    super(options?.opening === true
      ? `cannot open the blockstore at ${path}: no space left on its device${detail}; it needs a little room to open, so free some space outside the repo and retry`
      : `no space left on the device holding ${path}${detail}; nothing was pinned: free some space and retry`, options)
  }
}

export class StorageError extends PeerLinkError {
  static override readonly code = 'ERR_STORAGE'
  static override readonly exitCode = 10
  static override readonly httpStatus = 500
}

export class InvalidManifestError extends PeerLinkError {
  static override readonly code = 'ERR_INVALID_MANIFEST'
  static override readonly exitCode = 11
  static override readonly httpStatus = 422
}

export class InvalidCidError extends PeerLinkError {
  // Widened, for NotPeerLinkCidError to name its own.
  static override readonly code: string = 'ERR_INVALID_CID'
  static override readonly exitCode: number = 2
  static override readonly httpStatus: number = 400
  constructor (readonly input: string, reason: string) {
    super(`${quoted(input, 81)} is not a valid CID: ${reason}`)
  }
}

/**
 * A well-formed CID that is no PeerLink root, such as an IPFS (dag-pb) one: refused at once,
 * since no PeerLink node could ever provide it.
 */
export class NotPeerLinkCidError extends InvalidCidError {
  static override readonly code = 'ERR_NOT_PEERLINK_CID'
  static override readonly exitCode = 11
  static override readonly httpStatus = 422
  constructor (input: string, what: string) {
    super(input, what)
    // Not "not a valid CID": it is one, of the wrong kind.
    this.message = `${quoted(input, 81)} is ${what}`
  }
}

export class DataLossError extends PeerLinkError {
  static override readonly code = 'ERR_DATA_LOSS'
  static override readonly exitCode = 6
  static override readonly httpStatus = 422
  constructor (message: string, readonly missing: string[]) {
    super(message)
  }
}

export class FileExistsError extends PeerLinkError {
  static override readonly code = 'ERR_FILE_EXISTS'
  static override readonly exitCode = 12
  static override readonly httpStatus = 409
  constructor (readonly path: string) {
    super(`${path} already exists (use --force to overwrite)`)
  }
}

export class UnsafePathError extends PeerLinkError {
  static override readonly code = 'ERR_UNSAFE_PATH'
  static override readonly exitCode = 13
  static override readonly httpStatus = 422
  constructor (readonly entry: string) {
    super(`refusing directory entry ${JSON.stringify(entry)}: names may not be empty, '.', '..', or contain '/', '\\\\' or NUL`)
  }
}

export class RepoNotFoundError extends PeerLinkError {
  static override readonly code = 'ERR_REPO_NOT_FOUND'
  static override readonly exitCode = 14
  static override readonly httpStatus = 500
  constructor (readonly path: string) {
    super(`no PeerLink repo at ${path}: run \`peerlink init\` first (or pass --repo / set PEERLINK_REPO)`)
  }
}

export class NotPinnedError extends PeerLinkError {
  static override readonly code = 'ERR_NOT_PINNED'
  static override readonly exitCode = 7
  static override readonly httpStatus = 404
  constructor (readonly cid: string) {
    super(`${cid} is not pinned in this repo`)
  }
}

/** A peer sent something the exchange protocol does not allow; the stream is reset. */
export class ProtocolError extends PeerLinkError {
  static override readonly code = 'ERR_PROTOCOL'
  static override readonly exitCode = 15
  static override readonly httpStatus = 502
  /** 'flood' when the peer asked for more than the limits allow, else a malformed message. */
  constructor (message: string, readonly offence: 'protocol' | 'flood' = 'protocol') {
    super(message)
  }
}

/** Nobody could be found (or reached) who holds a root, within the time allowed. */
export class NoProvidersError extends PeerLinkError {
  static override readonly code = 'ERR_NO_PROVIDERS'
  static override readonly exitCode = 16
  static override readonly httpStatus = 504
  constructor (readonly cid: string, detail: string) {
    super(`no provider of ${cid} could be reached: ${detail}`)
  }
}

/** A root could not be announced: no DHT peer is known, or none took the record. */
export class NotAnnouncedError extends PeerLinkError {
  static override readonly code = 'ERR_NOT_ANNOUNCED'
  static override readonly exitCode = 16
  static override readonly httpStatus = 502
  constructor (readonly cid: string, detail: string) {
    super(`could not announce ${cid}: ${detail}`)
  }
}

/** A peer went away (stream closed, reset or timed out) before answering. */
export class PeerUnavailableError extends PeerLinkError {
  static override readonly code = 'ERR_PEER_UNAVAILABLE'
  static override readonly exitCode = 17
  static override readonly httpStatus = 502
}

/**
 * A provider reachable only through a relay: the relay's limits (bytes, seconds per relayed
 * connection) stopped the transfer, or relayed transfers are off on one side.
 */
export class RelayLimitError extends PeerLinkError {
  static override readonly code = 'ERR_RELAY_LIMIT'
  static override readonly exitCode = 17
  static override readonly httpStatus = 502
}

/** A share ticket that cannot be read. */
export class InvalidTicketError extends PeerLinkError {
  static override readonly code = 'ERR_INVALID_TICKET'
  static override readonly exitCode = 2
  static override readonly httpStatus = 400
  constructor (readonly ticket: string, reason: string) {
    super(`${quoted(ticket, 58)} is not a PeerLink CID or share ticket: ${reason}`)
  }
}

/**
 * The daemon's HTTP API refused or failed a call. `remoteName` and `remoteCode` are the name
 * and code of the error the daemon raised, and the exit status is the one that error carries there.
 */
export class ApiError extends PeerLinkError {
  static override readonly code = 'ERR_API'
  static override readonly exitCode = 18
  static override readonly httpStatus = 502
  constructor (message: string, readonly remoteName?: string, private readonly remoteExitCode?: number, readonly remoteCode?: string) {
    super(message)
  }

  /** The exit status of the error the daemon raised, else the API's own. */
  override get exitCode (): number {
    return this.remoteExitCode ?? ApiError.exitCode
  }
}

/**
 * The daemon is stopping: the calls it was serving end with this. The exit status is the
 * API's own (18), as for any call the daemon could not complete.
 */
export class DaemonStoppingError extends PeerLinkError {
  static override readonly code = 'ERR_DAEMON_STOPPING'
  static override readonly exitCode = 18
  static override readonly httpStatus = 503
  constructor () {
    super('the daemon is stopping: run the command again once it is back (a fetch resumes where it stopped)')
  }
}

/** The blockstore would grow past the repo's storage quota. */
export class QuotaExceededError extends PeerLinkError {
  static override readonly code = 'ERR_QUOTA_EXCEEDED'
  static override readonly exitCode = 9
  static override readonly httpStatus = 507
  constructor (readonly needed: number, readonly quota: number, readonly used: number) {
    super(`the repo's storage quota is ${quota} bytes, ${used} are in use and this needs about ${needed} more; raise storage.quota in config.json or remove pins and run gc`)
  }
}

/** A command that only makes sense on a running node, asked with no daemon on the repo. */
export class DaemonRequiredError extends PeerLinkError {
  static override readonly code = 'ERR_DAEMON_REQUIRED'
  static override readonly exitCode = 19
  static override readonly httpStatus = 503
  constructor (what: string, repo: string) {
    super(`${what} needs a running daemon on ${repo}: start one with \`peerlink daemon\``)
  }
}

/** What the user typed, in quotes, cut to at most `max` characters with an ellipsis. */
function quoted (text: string, max: number): string {
  return `"${text.length > max ? text.slice(0, max - 1) + '…' : text}"`
}

/** A tree to export is larger than a limit allows (entries or bytes); nothing past it is written. */
export class TreeLimitError extends PeerLinkError {
  static override readonly code = 'ERR_TREE_LIMIT'
  static override readonly exitCode = 20
  static override readonly httpStatus = 422
  constructor (readonly what: 'entries' | 'bytes', readonly limit: number, readonly root: string) {
    super(`the tree ${root} holds more ${what} than the limit of ${limit}: nothing past the limit is written`)
  }
}

/**
 * A path inside a root names nothing: a name its directory does not hold, or a name under a
 * file. Not found, as a block or pin that is not there.
 */
export class PathNotFoundError extends PeerLinkError {
  static override readonly code = 'ERR_PATH_NOT_FOUND'
  static override readonly exitCode = 7
  static override readonly httpStatus = 404
  constructor (readonly path: string, reason: string) {
    super(`${path}: ${reason}`)
  }
}

/**
 * A call that would change state, authenticated by the web page's session cookie but not sent by
 * the page itself: no same-origin `Origin` (or `Sec-Fetch-Site`), or no `x-peerlink-csrf` header.
 */
export class CrossSiteRequestError extends PeerLinkError {
  static override readonly code = 'ERR_CROSS_SITE'
  static override readonly exitCode = 18
  static override readonly httpStatus = 403
}

/** An upload longer than the daemon takes (`api.uploadLimit` in config.json). */
export class UploadTooLargeError extends PeerLinkError {
  static override readonly code = 'ERR_UPLOAD_TOO_LARGE'
  static override readonly exitCode = 2
  static override readonly httpStatus = 413
  constructor (readonly limit: number) {
    super(`the upload is larger than the daemon takes (${limit} bytes); raise api.uploadLimit in config.json or add the file with \`peerlink add\``)
  }
}

/** A byte range that starts at or beyond a file's end (the gateway answers 416). */
export class RangeNotSatisfiableError extends PeerLinkError {
  static override readonly code = 'ERR_RANGE_NOT_SATISFIABLE'
  static override readonly exitCode = 2
  static override readonly httpStatus = 416
  constructor (readonly range: string, readonly size: number) {
    super(`the range ${JSON.stringify(range)} asks for no byte of this file of ${size} bytes`)
  }
}

/** A private root read without its key: the CID alone names ciphertext only. */
export class PrivateRootError extends PeerLinkError {
  static override readonly code = 'ERR_PRIVATE_ROOT'
  static override readonly exitCode = 21
  static override readonly httpStatus = 403
  constructor (readonly root: string) {
    super(`this root is private: fetch it with its share link (${root} alone names its ciphertext only)`)
  }
}

/**
 * A private file that does not open under the key given: the wrong key, or ciphertext that
 * does not authenticate (tampered with before it was named). Nothing of it is written.
 */
export class DecryptionError extends PeerLinkError {
  static override readonly code = 'ERR_DECRYPTION'
  static override readonly exitCode = 22
  static override readonly httpStatus = 422
}

/** A holder would go past the space it offers to others: it refuses the lease, with how much is left. */
export class OfferExceededError extends PeerLinkError {
  static override readonly code = 'ERR_OFFER_EXCEEDED'
  static override readonly exitCode = 9
  static override readonly httpStatus = 507
  constructor (readonly needed: number, readonly offer: number, readonly held: number) {
    super(offer === 0
      ? 'this node offers no space to others (storage.offer is 0)'
      : `this node offers ${offer} bytes to others, holds ${held} and this lease needs ${needed} more`)
  }
}

/** A spread found no peer offering space, or none that took the blocks: they are not placed. */
export class NoHoldersError extends PeerLinkError {
  static override readonly code = 'ERR_NO_HOLDERS'
  static override readonly exitCode = 16
  static override readonly httpStatus = 503
  constructor (readonly cid: string, detail: string) {
    super(`cannot spread ${cid}: ${detail}`)
  }
}

/** A root this node has not spread (or has removed): it has no holders to ask about. */
export class NotSpreadError extends PeerLinkError {
  static override readonly code = 'ERR_NOT_SPREAD'
  static override readonly exitCode = 7
  static override readonly httpStatus = 404
  constructor (readonly cid: string) {
    super(`${cid} was not spread from this node: \`peerlink spread ${cid}\` spreads a pinned file`)
  }
}

/** A save link of the web page (POST /saves) that the daemon no longer keeps: expired, or the daemon restarted. */
export class SaveLinkGoneError extends PeerLinkError {
  static override readonly code = 'ERR_SAVE_LINK_GONE'
  static override readonly exitCode = 7
  static override readonly httpStatus = 404
  constructor (message = 'this save link has expired or its daemon restarted: receive the file again on the page') {
    super(message)
  }
}
