// The last few minutes of a counter that only grows (bytes this node served): the growth per
// interval, in a ring of fixed size, so the daemon holds the same few hundred bytes however
// long it runs. The page draws it as a sparkline.

/** How often the counter is read. */
export const SAMPLE_INTERVAL = 5000

/** Intervals kept: 60 × 5 s, the last five minutes. */
export const SAMPLES = 60

export class SampleRing {
  private readonly deltas: number[] = []
  /** The counter at the last sample; the first sample only sets it. */
  private last: number | undefined

  constructor (private readonly read: () => number, private readonly size = SAMPLES) {}

  /** Reads the counter and keeps its growth since the last sample, dropping the oldest past `size`. */
  sample (): void {
    const now = this.read()
    if (this.last === undefined) { this.last = now; return }
    // A counter that went back (restarted) counts from zero.
    this.deltas.push(now >= this.last ? now - this.last : now)
    this.last = now
    if (this.deltas.length > this.size) this.deltas.shift()
  }

  /** The growth per interval, oldest first. */
  list (): number[] {
    return [...this.deltas]
  }
}
