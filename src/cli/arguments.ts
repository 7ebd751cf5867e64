// Parsers for command-line option values: a bad value is an InvalidArgumentError (exit 2).
import { InvalidArgumentError } from '../errors.js'

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }

/** "1048576", "64KiB", "1MiB", "2M", "20GiB" -> bytes (units are powers of 1024). */
export function parseSize (text: string): number {
  const m = /^\s*(\d+)\s*(|b|[kmgt]|[kmgt]b|[kmgt]ib)\s*$/i.exec(text)
  if (m == null) throw new InvalidArgumentError(`"${text}" is not a size (try 1048576, 256KiB, 1MiB or 20GiB)`)
  return Number(m[1]) * SIZE_UNITS[m[2].toLowerCase().charAt(0)]
}

const DURATION_UNITS: Record<string, number> = { '': 1, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/** "500ms", "5s", "1.5s", "2m", "1h" -> milliseconds; a plain number is milliseconds. */
export function parseDuration (text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(|ms|s|m|h)\s*$/i.exec(text)
  if (m == null) throw new InvalidArgumentError(`"${text}" is not a duration (try 5s, 500ms, 2m or 10000 for milliseconds)`)
  return Math.round(Number(m[1]) * DURATION_UNITS[m[2].toLowerCase()])
}

/** A parser of whole numbers for the option called `name`. */
export function parseIntArg (name: string): (v: string) => number {
  return (v) => {
    if (!/^\d+$/.test(v.trim())) throw new InvalidArgumentError(`${name} must be a whole number, not "${v}"`)
    return Number(v)
  }
}
