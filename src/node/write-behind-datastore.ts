// libp2p's datastore (the peer store, kad-dht's provider records) kept in memory in front of
// its LevelDB, written behind. Every connection makes libp2p read and rewrite the peer's
// record several times (identify, kad-dht's answers naming peers, tags), and a DHT server
// reads the record of each peer it names in an answer: on LevelDB each of those is a trip
// through libuv's thread pool, which a fetch keeps busy hashing and writing blocks. Reads are
// served from memory once a key has been read or written; writes land in memory at once and
// reach LevelDB in one batch within FLUSH_MS (or sooner when PENDING_ENTRIES are waiting), and
// on close.
//
// The price: a process killed outright loses the last FLUSH_MS of these writes. They are soft
// state: peers' addresses and protocols (learned again on the next connection) and provider
// records other peers stored here (which they announce again every round). Nothing of the
// repo's own (blocks, pins, its own roots to announce) is kept here.
import { NotFoundError } from '@libp2p/interface'
import type { AbortOptions } from '@libp2p/interface'
import { BaseDatastore } from 'datastore-core'
import type { Datastore, Key, KeyQuery, Pair, Query } from 'interface-datastore'

/** Longest a write waits in memory before it is written to the store under it. */
export const FLUSH_MS = 1000

/** Writes waiting in memory that start a flush at once. */
export const PENDING_ENTRIES = 1024

/** Bytes of values the read cache keeps (least recently used go first). */
export const CACHE_BYTES = 16 * 1024 * 1024

/** Keys known to be absent from the store (a read found none), kept at most. */
export const ABSENT_KEYS = 16 * 1024

/** Marks a key deleted while its deletion waits to be written. */
const DELETED = Symbol('deleted')

type Pending = Uint8Array | typeof DELETED

export interface WriteBehindOptions {
  /** @default FLUSH_MS */
  flushMs?: number
  /** @default PENDING_ENTRIES */
  pendingEntries?: number
  /** @default CACHE_BYTES */
  cacheBytes?: number
  /** Told of a flush that failed; its writes stay pending and are tried again. */
  onFlushError?: (err: Error) => void
}

/**
 * A Datastore over `store` (opened and closed by this one's caller through `close`): reads
 * from memory where it can, writes behind (see the file's head). Queries read the store with
 * the pending writes laid over it, so they see every write made before them; datastore-core's
 * BaseDatastore applies their filters, orders, offset and limit, and makes the batches and
 * the many-key calls of put, get and delete.
 */
export class WriteBehindDatastore extends BaseDatastore {
  private readonly cache = new Map<string, Uint8Array>()
  private cacheBytes = 0
  private readonly absent = new Set<string>()
  private pending = new Map<string, { key: Key, value: Pending }>()
  /** The writes of the flush under way: read as pending until the store has them. */
  private writing = new Map<string, { key: Key, value: Pending }>()
  private flushing: Promise<void> | undefined
  private timer: NodeJS.Timeout | undefined
  private lastError: Error | undefined
  private closed = false
  private readonly flushMs: number
  private readonly pendingEntries: number
  private readonly maxCacheBytes: number

  constructor (private readonly store: Datastore & { close?: () => Promise<void> }, private readonly options: WriteBehindOptions = {}) {
    super()
    this.flushMs = options.flushMs ?? FLUSH_MS
    this.pendingEntries = options.pendingEntries ?? PENDING_ENTRIES
    this.maxCacheBytes = options.cacheBytes ?? CACHE_BYTES
  }

  override async put (key: Key, value: Uint8Array, options?: AbortOptions): Promise<Key> {
    options?.signal?.throwIfAborted()
    await this.admit()
    this.remember(key.toString(), value)
    this.queue(key, value)
    return key
  }

  override async get (key: Key, options?: AbortOptions): Promise<Uint8Array> {
    options?.signal?.throwIfAborted()
    const k = key.toString()
    const known = this.known(k)
    if (known !== undefined) return known
    let value: Uint8Array
    try {
      value = await this.store.get(key, options)
    } catch (err) {
      if ((err as Error).name !== 'NotFoundError') throw err
      // A write made while the store was read is newer than what it found.
      const now = this.known(k)
      if (now !== undefined) return now
      this.markAbsent(k)
      throw err
    }
    const now = this.known(k)
    if (now !== undefined) return now
    this.remember(k, value)
    return value
  }

  override async has (key: Key, options?: AbortOptions): Promise<boolean> {
    options?.signal?.throwIfAborted()
    try {
      if (this.known(key.toString()) !== undefined) return true
    } catch {
      return false // a pending delete, or a key known absent
    }
    return await this.store.has(key, options)
  }

  override async delete (key: Key, options?: AbortOptions): Promise<void> {
    options?.signal?.throwIfAborted()
    await this.admit()
    this.forget(key.toString())
    this.markAbsent(key.toString())
    this.queue(key, DELETED)
  }

  override async * _all (q: Query, options?: AbortOptions): AsyncGenerator<Pair> {
    yield * this.overlay(q.prefix, (o) => this.store.query(o, options), pair => pair.key, (key, value) => ({ key, value }))
  }

  /** Keys only: LevelDB is asked for keys, no values read. */
  override async * _allKeys (q: KeyQuery, options?: AbortOptions): AsyncGenerator<Key> {
    yield * this.overlay(q.prefix, (o) => this.store.queryKeys(o, options), key => key, key => key)
  }

  /**
   * What `read` yields of the store under `prefix` (pairs, or keys), with the pending writes
   * laid over it (as they were when the query began): a pending delete hides an entry, a
   * pending put replaces or adds one (`fromPending`).
   */
  private async * overlay<T> (prefix: string | undefined, read: (q: { prefix?: string }) => AsyncIterable<T> | Iterable<T>, keyOf: (entry: T) => Key, fromPending: (key: Key, value: Uint8Array) => T): AsyncGenerator<T> {
    const writes = new Map([...this.writing, ...this.pending].filter(([k]) => prefix === undefined || k.startsWith(prefix)))
    for await (const entry of read(prefix === undefined ? {} : { prefix })) {
      const key = keyOf(entry)
      const w = writes.get(key.toString())
      if (w === undefined) yield entry
      else if (w.value !== DELETED) yield fromPending(key, w.value)
      writes.delete(key.toString())
    }
    for (const { key, value } of writes.values()) if (value !== DELETED) yield fromPending(key, value)
  }

  /** Writes every pending write to the store (one batch); resolves once they are there. */
  async flush (): Promise<void> {
    clearTimeout(this.timer)
    this.timer = undefined
    while (this.flushing !== undefined) await this.flushing.catch(() => {})
    if (this.pending.size === 0) return
    const writes = this.pending
    this.pending = new Map()
    this.writing = writes
    this.flushing = (async () => {
      const batch = this.store.batch()
      for (const { key, value } of writes.values()) {
        if (value === DELETED) batch.delete(key)
        else batch.put(key, value)
      }
      try {
        await batch.commit()
        this.lastError = undefined
      } catch (err) {
        // Kept for the next flush, under any write made since, and tried again in a while;
        // admit() bounds what piles up meanwhile.
        for (const [k, w] of writes) if (!this.pending.has(k)) this.pending.set(k, w)
        this.lastError = err as Error
        this.options.onFlushError?.(err as Error)
        if (!this.closed && this.timer === undefined) this.flushSoon(this.flushMs)
        throw err
      } finally {
        this.writing = new Map()
        this.flushing = undefined
      }
    })()
    await this.flushing
  }

  /** Writes what is pending, then closes the store under it. */
  async close (): Promise<void> {
    this.closed = true
    try {
      await this.flush()
    } finally {
      await this.store.close?.()
    }
  }

  /**
   * The value a pending (or being written) write or the cache holds for `k`; throws
   * NotFoundError for a pending delete or a key known absent.
   */
  private known (k: string): Uint8Array | undefined {
    const waiting = this.pending.get(k) ?? this.writing.get(k)
    if (waiting !== undefined) {
      if (waiting.value === DELETED) throw new NotFoundError(`${k} not found`)
      return waiting.value
    }
    if (this.absent.has(k)) throw new NotFoundError(`${k} not found`)
    const cached = this.cache.get(k)
    if (cached !== undefined) {
      // Most recently used last: eviction takes from the front.
      this.cache.delete(k)
      this.cache.set(k, cached)
    }
    return cached
  }

  private markAbsent (k: string): void {
    this.absent.add(k)
    // Oldest first out: a Set iterates in insertion order.
    if (this.absent.size > ABSENT_KEYS) this.absent.delete(this.absent.values().next().value as string)
  }

  private remember (k: string, value: Uint8Array): void {
    this.forget(k)
    if (value.byteLength > this.maxCacheBytes) return
    this.cache.set(k, value)
    this.cacheBytes += value.byteLength
    for (const [old, v] of this.cache) {
      if (this.cacheBytes <= this.maxCacheBytes) break
      this.cache.delete(old)
      this.cacheBytes -= v.byteLength
    }
  }

  private forget (k: string): void {
    this.absent.delete(k)
    const old = this.cache.get(k)
    if (old === undefined) return
    this.cache.delete(k)
    this.cacheBytes -= old.byteLength
  }

  private queue (key: Key, value: Pending): void {
    const k = key.toString()
    // Re-inserted so that the batch writes keys in the order of their last write.
    this.pending.delete(k)
    this.pending.set(k, { key, value })
    if (this.pending.size >= this.pendingEntries) this.flushSoon(0)
    else if (this.timer === undefined) this.flushSoon(this.flushMs)
  }

  private flushSoon (ms: number): void {
    clearTimeout(this.timer)
    this.timer = setTimeout(() => {
      this.timer = undefined
      // A failure is told and retried by flush itself.
      this.flush().catch(() => {})
    }, ms)
    this.timer.unref()
  }

  /**
   * Refuses a write once writes the store has refused pile up past four times
   * PENDING_ENTRIES (a full disk, a closed store): the memory they hold stays bounded.
   */
  private async admit (): Promise<void> {
    if (this.closed) throw new Error('the datastore is closed')
    if (this.pending.size < 4 * this.pendingEntries) return
    await this.flush().catch(() => {})
    if (this.pending.size >= 4 * this.pendingEntries) throw this.lastError ?? new Error('datastore writes are not reaching the store')
  }
}
