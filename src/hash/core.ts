// One API over swappable BLAKE3 cores: the native SIMD addon, or a WASM fallback.

export interface IncrementalHasher {
  update (data: Uint8Array): this
  /** The BLAKE3-256 digest of everything so far; the hasher can keep going. */
  digest (): Uint8Array
}

export interface HashCoreInfo {
  /** 'native' (our C++ addon) or 'wasm' (the fallback). */
  core: 'native' | 'wasm'
  /**
   * SIMD level in use: portable, sse41, avx2, avx512; 'wasm' for the fallback ('js' while its
   * WASM instance is starting and the pure-JavaScript BLAKE3 answers sync calls).
   */
  simd: string
  /** Levels this CPU can run, lowest first. */
  available: string[]
  /** Threads a batch may use. */
  threads: number
  /** Why the native core is not in use, when it is not. */
  fallbackReason?: string
}

export interface HashCore {
  info (): HashCoreInfo
  /** Resolves once the core runs at full speed (the fallback's WASM is up); never rejects. */
  ready (): Promise<void>
  hashSync (data: Uint8Array): Uint8Array<ArrayBuffer>
  /** Digests of every block (32 bytes each, in order), computed off the event loop. */
  hashMany (blocks: Uint8Array[], threads: number): Promise<Uint8Array[]>
  /** Whether each block hashes to its expected 32-byte digest. */
  verifyMany (blocks: Uint8Array[], expected: Uint8Array[], threads: number): Promise<boolean[]>
  createHasher (): IncrementalHasher
  /** Select a SIMD level; false when this CPU lacks it. Native core only. */
  setSimd (level: string): boolean
}
