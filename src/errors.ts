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
