// Pacing of repair traffic (storage.repairRate): each transfer starts no sooner than the bytes
// before it allow at the rate, so over any stretch the repairs move at most rate bytes a
// second plus one transfer. A transfer is one HOLD (its blocks, pulled by the holder) or one
// stripe's rebuild; 0 paces nothing.
import { setTimeout as sleep } from 'node:timers/promises'
import { InvalidArgumentError } from '../errors.js'

export class Pacer {
  /** When the bytes taken so far are paid for at the rate, ms since the epoch. */
  private next = 0

  constructor (readonly rate: number) {
    if (!Number.isSafeInteger(rate) || rate < 0) throw new InvalidArgumentError(`a repair rate is a whole number of bytes a second (0: unpaced), not ${rate}`)
  }

  /** Waits until `bytes` more may go. */
  async take (bytes: number, options: { signal?: AbortSignal } = {}): Promise<void> {
    options.signal?.throwIfAborted()
    if (this.rate === 0) return
    const now = Date.now()
    const start = Math.max(now, this.next)
    this.next = start + bytes / this.rate * 1000
    if (start > now) await sleep(start - now, undefined, { signal: options.signal })
  }
}
