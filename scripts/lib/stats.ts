/** The middle value (upper middle for an even count) of benchmark samples. */
export function median (xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
}
