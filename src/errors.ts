// Every failure PeerLink reports has its own class, recognised by `name` (stable) and
// carrying a `code` that the CLI maps to an exit status and the HTTP API to a status code.

export abstract class PeerLinkError extends Error {
  abstract readonly code: string
  /** Process exit status the CLI uses for this failure. */
  readonly exitCode: number = 1
}

export class InvalidArgumentError extends PeerLinkError {
  static readonly code = 'ERR_INVALID_ARGUMENT'
  readonly code = InvalidArgumentError.code
  override readonly exitCode = 2
  constructor (message: string) {
    super(message)
    this.name = 'InvalidArgumentError'
  }
}

export class BlockTooLargeError extends PeerLinkError {
  static readonly code = 'ERR_BLOCK_TOO_LARGE'
  readonly code = BlockTooLargeError.code
  override readonly exitCode = 2
  constructor (readonly size: number, readonly limit: number) {
    super(`block of ${size} bytes exceeds the ${limit}-byte block limit`)
    this.name = 'BlockTooLargeError'
  }
}

export class UnsupportedHashError extends PeerLinkError {
  static readonly code = 'ERR_UNSUPPORTED_HASH'
  readonly code = UnsupportedHashError.code
  override readonly exitCode = 3
  constructor (readonly hashCode: number) {
    super(`unsupported multihash code 0x${hashCode.toString(16)}: PeerLink verifies blake3 (0x1e) and sha2-256 (0x12)`)
    this.name = 'UnsupportedHashError'
  }
}

export class InvalidDigestError extends PeerLinkError {
  static readonly code = 'ERR_INVALID_DIGEST'
  readonly code = InvalidDigestError.code
  override readonly exitCode = 3
  constructor (readonly hashName: string, readonly length: number, readonly expected: number) {
    super(`${hashName} digest is ${length} bytes, expected ${expected}`)
    this.name = 'InvalidDigestError'
  }
}

export class HashMismatchError extends PeerLinkError {
  static readonly code = 'ERR_HASH_MISMATCH'
  readonly code = HashMismatchError.code
  override readonly exitCode = 4
  constructor (readonly cid: string, readonly actual: string) {
    super(`block does not match its CID ${cid} (its bytes hash to ${actual})`)
    this.name = 'HashMismatchError'
  }
}

export class NativeAddonError extends PeerLinkError {
  static readonly code = 'ERR_NATIVE_ADDON'
  readonly code = NativeAddonError.code
  override readonly exitCode = 5
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'NativeAddonError'
  }
}

export class NotEnoughShardsError extends PeerLinkError {
  static readonly code = 'ERR_NOT_ENOUGH_SHARDS'
  readonly code = NotEnoughShardsError.code
  override readonly exitCode = 6
  constructor (readonly needed: number, readonly present: number, readonly missing: number[]) {
    super(`cannot rebuild: ${present} of the ${needed} shards needed are present (missing shards ${missing.join(', ')})`)
    this.name = 'NotEnoughShardsError'
  }
}

export class BlockNotFoundError extends PeerLinkError {
  static readonly code = 'ERR_BLOCK_NOT_FOUND'
  readonly code = BlockNotFoundError.code
  override readonly exitCode = 7
  constructor (readonly cid: string) {
    super(`block ${cid} is not in the blockstore`)
    this.name = 'BlockNotFoundError'
  }
}

export class RepoLockedError extends PeerLinkError {
  static readonly code = 'ERR_REPO_LOCKED'
  readonly code = RepoLockedError.code
  override readonly exitCode = 8
  constructor (readonly path: string) {
    super(`the repo at ${path} is in use by another process (a running daemon or command)`)
    this.name = 'RepoLockedError'
  }
}

export class DiskFullError extends PeerLinkError {
  static readonly code = 'ERR_DISK_FULL'
  readonly code = DiskFullError.code
  override readonly exitCode = 9
  constructor (readonly path: string, options?: { cause?: unknown }) {
    const detail = options?.cause instanceof Error && !/ENOSPC|No space left/i.test(options.cause.message) ? ` (${options.cause.message})` : ''
    super(`no space left on the device holding ${path}${detail}; nothing was pinned: free some space and retry`, options)
    this.name = 'DiskFullError'
  }
}

export class StorageError extends PeerLinkError {
  static readonly code = 'ERR_STORAGE'
  readonly code = StorageError.code
  override readonly exitCode = 10
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'StorageError'
  }
}

export class InvalidManifestError extends PeerLinkError {
  static readonly code = 'ERR_INVALID_MANIFEST'
  readonly code = InvalidManifestError.code
  override readonly exitCode = 11
  constructor (message: string) {
    super(message)
    this.name = 'InvalidManifestError'
  }
}

export class InvalidCidError extends PeerLinkError {
  static readonly code = 'ERR_INVALID_CID'
  readonly code = InvalidCidError.code
  override readonly exitCode = 2
  constructor (readonly input: string, reason: string) {
    super(`"${input.length > 80 ? input.slice(0, 80) + '…' : input}" is not a valid CID: ${reason}`)
    this.name = 'InvalidCidError'
  }
}

export class DataLossError extends PeerLinkError {
  static readonly code = 'ERR_DATA_LOSS'
  readonly code = DataLossError.code
  override readonly exitCode = 6
  constructor (message: string, readonly missing: string[]) {
    super(message)
    this.name = 'DataLossError'
  }
}

export class FileExistsError extends PeerLinkError {
  static readonly code = 'ERR_FILE_EXISTS'
  readonly code = FileExistsError.code
  override readonly exitCode = 12
  constructor (readonly path: string) {
    super(`${path} already exists (use --force to overwrite)`)
    this.name = 'FileExistsError'
  }
}

export class UnsafePathError extends PeerLinkError {
  static readonly code = 'ERR_UNSAFE_PATH'
  readonly code = UnsafePathError.code
  override readonly exitCode = 13
  constructor (readonly entry: string) {
    super(`refusing directory entry ${JSON.stringify(entry)}: names may not be empty, '.', '..', or contain '/', '\\\\' or NUL`)
    this.name = 'UnsafePathError'
  }
}

export class RepoNotFoundError extends PeerLinkError {
  static readonly code = 'ERR_REPO_NOT_FOUND'
  readonly code = RepoNotFoundError.code
  override readonly exitCode = 14
  constructor (readonly path: string) {
    super(`no PeerLink repo at ${path}: run \`peerlink init\` first (or pass --repo / set PEERLINK_REPO)`)
    this.name = 'RepoNotFoundError'
  }
}

export class NotPinnedError extends PeerLinkError {
  static readonly code = 'ERR_NOT_PINNED'
  readonly code = NotPinnedError.code
  override readonly exitCode = 7
  constructor (readonly cid: string) {
    super(`${cid} is not pinned in this repo`)
    this.name = 'NotPinnedError'
  }
}
