// Summary statistics of measured samples, for the simulations and the benchmarks alike.

/** The middle value; for an even count, the mean of the two middle values. NaN when empty. */
export function median (xs: readonly number[]): number {
  if (xs.length === 0) return NaN
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2
}

/** The nearest-rank p-th percentile (0 < p ≤ 100). NaN when empty. */
export function percentile (xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(p / 100 * s.length))]
}

export function round (x: number, digits = 1): number {
  return Math.round(x * 10 ** digits) / 10 ** digits
}

/** The sum of a field over records. */
export function sum<T> (xs: readonly T[], field: (x: T) => number): number {
  return xs.reduce((a, x) => a + field(x), 0)
}

/** Adds one to a key's count. */
export function tally (counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1)
}
