// Keeps this node's provider records alive: every pinned root is provided again well before
// its record expires. Roots go out in order of their DHT key (SHA-256 of the multihash, as
// kad-dht uses), so consecutive lookups walk the same region of the keyspace and meet the
// peers and connections the previous one opened, instead of a random-order lookup per CID.
import { createHash } from 'node:crypto'
import type { Logger } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import { routingKey, type Routing } from './routing.js'

export interface ReproviderInit {
  /** The roots to keep provided (the repo's pins). */
  roots: () => Promise<CID[]>
  /** Time between rounds; a round starts at once when the node starts. */
  interval: number
  /** Lookups run at once. */
  concurrency?: number
  log: Logger
}

/** Where kad-dht places a root's record: SHA-256 of its routing key's multihash. */
export function dhtKey (root: CID): Buffer {
  return createHash('sha256').update(routingKey(root).multihash.bytes).digest()
}

/** Roots in keyspace order. */
export function keyspaceOrder (roots: CID[]): CID[] {
  return roots.map(cid => ({ cid, key: dhtKey(cid) })).sort((a, b) => Buffer.compare(a.key, b.key)).map(r => r.cid)
}

export class Reprovider {
  private timer: NodeJS.Timeout | undefined
  private round: Promise<void> | undefined
  private readonly controller = new AbortController()
  lastRound: { at: number, roots: number, failed: number, ms: number } | undefined

  constructor (private readonly routing: Routing, private readonly init: ReproviderInit) {}

  start (): void {
    const tick = (): void => {
      this.round ??= this.provideAll().finally(() => { this.round = undefined })
    }
    this.timer = setInterval(tick, this.init.interval)
    this.timer.unref()
    tick()
  }

  async stop (): Promise<void> {
    clearInterval(this.timer)
    this.controller.abort()
    await this.round?.catch(() => {})
  }

  async provideAll (): Promise<void> {
    const started = Date.now()
    const roots = keyspaceOrder(await this.init.roots())
    let failed = 0
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < roots.length && !this.controller.signal.aborted) {
        const root = roots[next++]
        try {
          await this.routing.provide(root, { signal: this.controller.signal })
        } catch (err) {
          failed++
          this.init.log('reprovide of %c failed: %s', root, (err as Error).message)
        }
      }
    }
    await Promise.all(Array.from({ length: this.init.concurrency ?? 4 }, worker))
    this.lastRound = { at: started, roots: roots.length, failed, ms: Date.now() - started }
    this.init.log('reprovided %d roots in %d ms (%d failed)', roots.length, this.lastRound.ms, failed)
  }
}
