// A seeded random source, so a scenario's schedule is the same for the same seed.
// mulberry32: small, fast and plenty for choosing nodes and times (not for cryptography).
export class Rng {
  private state: number

  constructor (readonly seed: number) {
    this.state = seed >>> 0
  }

  /** A float in [0, 1). */
  next (): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0
    let t = this.state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  /** An integer in [0, n). */
  int (n: number): number {
    return Math.floor(this.next() * n)
  }

  pick<T> (xs: readonly T[]): T {
    return xs[this.int(xs.length)]
  }

  /** `count` distinct elements, in random order. */
  sample<T> (xs: readonly T[], count: number): T[] {
    const copy = [...xs]
    for (let i = copy.length - 1; i > 0; i--) {
      const j = this.int(i + 1)
      ;[copy[i], copy[j]] = [copy[j], copy[i]]
    }
    return copy.slice(0, Math.min(count, copy.length))
  }

  /** Random bytes (seeded: the same file for the same seed). */
  bytes (n: number): Buffer {
    const out = Buffer.allocUnsafe(n)
    let i = 0
    for (; i + 4 <= n; i += 4) out.writeUInt32LE((this.next() * 4294967296) >>> 0, i)
    for (; i < n; i++) out[i] = this.int(256)
    return out
  }
}
