// The blocks a fetch session wants: each once however often it is asked for, a queue of
// those not yet handed to a provider (urgent ones at its head), and the callers waiting for
// each block's outcome.
import type { CID } from 'multiformats/cid'

/** A block's outcome: its verified bytes, or undefined when no provider holds it. */
export interface WantResult { bytes: Uint8Array | undefined }

export interface Want {
  cid: CID
  key: string
  result?: WantResult
  waiters: Array<(r: WantResult) => void>
  /** Waiting in the queue for a provider. */
  queued: boolean
  /** Set while a copy of its bytes is being verified and stored; resolves when that is over. */
  verifying?: Promise<void>
  /** Times it was moved or raced to another provider. */
  takeovers: number
  /** Bytes of its result held for a `get` still to come (counted in WantList.heldBytes). */
  held?: number
}

export class WantList {
  private readonly wants = new Map<string, Want>()
  private queue: Want[] = []
  /** Bytes of settled blocks nobody has taken yet. */
  heldBytes = 0
  /** Callers waiting for an outcome. */
  awaited = 0

  /** Wants the CIDs not wanted already; returns those. Urgent ones go ahead of everything queued. */
  add (cids: CID[], urgent = false): Want[] {
    const fresh: Want[] = []
    for (const cid of cids) {
      const key = cid.toString()
      if (this.wants.has(key)) continue
      const w: Want = { cid, key, waiters: [], queued: true, takeovers: 0 }
      this.wants.set(key, w)
      fresh.push(w)
    }
    if (fresh.length > 0) this.queue = urgent ? [...fresh, ...this.queue] : [...this.queue, ...fresh]
    return fresh
  }

  get (key: string): Want | undefined {
    return this.wants.get(key)
  }

  /** Forgets a block once its outcome is taken: asking for it again fetches it again. */
  delete (w: Want): void {
    if (this.wants.get(w.key) !== w) return // let go already
    this.heldBytes -= w.held ?? 0
    this.wants.delete(w.key)
  }

  /**
   * Forgets settled blocks nobody waits for, furthest ahead first (the last wanted), until
   * those held come to at most `budget` bytes.
   */
  release (budget: number): void {
    if (this.heldBytes <= budget) return
    const held = [...this.wants.values()].filter(w => w.held !== undefined)
    for (let i = held.length - 1; i >= 0 && this.heldBytes > budget; i--) this.delete(held[i])
  }

  /** Wants whose outcome is not known yet. */
  unsettled (): Want[] {
    return [...this.wants.values()].filter(w => w.result === undefined)
  }

  get queued (): number {
    return this.queue.length
  }

  /** Whether a queued want has someone waiting for it. */
  awaitsQueued (): boolean {
    return this.queue.some(w => w.waiters.length > 0)
  }

  /** Takes the first queued want that `pick` accepts off the queue. */
  take (pick: (w: Want) => boolean): Want | undefined {
    const i = this.queue.findIndex(pick)
    if (i < 0) return undefined
    const [w] = this.queue.splice(i, 1)
    w.queued = false
    return w
  }

  /** Whether a queued want is one `pick` would take. */
  someQueued (pick: (w: Want) => boolean): boolean {
    return this.queue.some(pick)
  }

  /** Takes every queued want that `pick` accepts off the queue. */
  takeAll (pick: (w: Want) => boolean): Want[] {
    const taken = this.queue.filter(pick)
    if (taken.length === 0) return taken
    this.queue = this.queue.filter(w => !taken.includes(w))
    for (const w of taken) w.queued = false
    return taken
  }

  /** Puts an unsettled want back at the head of the queue: it is to be asked of another provider. */
  requeue (w: Want): void {
    if (w.result !== undefined || w.queued) return
    w.queued = true
    this.queue.unshift(w)
  }

  /**
   * Marks a copy of the want's bytes as the one to verify, when its outcome is unknown and no
   * other copy is being verified: the function that ends that, or undefined.
   */
  claim (w: Want): (() => void) | undefined {
    return w.result === undefined && w.verifying === undefined ? this.verifying(w) : undefined
  }

  /** Marks a copy of the want's bytes as being verified; the function returned ends that. */
  verifying (w: Want): () => void {
    const { promise, resolve } = Promise.withResolvers<void>()
    w.verifying = promise
    return () => {
      if (w.verifying === promise) w.verifying = undefined
      resolve()
    }
  }

  /** Records a block's outcome and hands it to everyone waiting; false when it was known already. */
  settle (w: Want, bytes: Uint8Array | undefined): boolean {
    if (w.result !== undefined) return false
    w.result = { bytes }
    // Held for a `get` to come; one already waiting takes it now.
    if (bytes !== undefined && w.waiters.length === 0) {
      w.held = bytes.byteLength
      this.heldBytes += w.held
    }
    for (const resolve of w.waiters) resolve(w.result)
    w.waiters = []
    return true
  }

  /** The want's outcome, once it is known, unless `signal` aborts first. */
  async outcome (w: Want, signal: AbortSignal): Promise<WantResult> {
    if (w.result !== undefined) return w.result
    this.awaited++
    try {
      return await new Promise<WantResult>((resolve, reject) => {
        if (signal.aborted) { reject(signal.reason); return }
        const onAbort = (): void => { reject(signal.reason) }
        signal.addEventListener('abort', onAbort, { once: true })
        w.waiters.push((r) => { signal.removeEventListener('abort', onAbort); resolve(r) })
      })
    } finally {
      this.awaited--
    }
  }
}
