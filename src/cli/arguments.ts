// Parsers for command-line option values: a bad value is an InvalidArgumentError (exit 2).
import { InvalidArgumentError } from '../errors.js'

/** "1048576", "64KiB", "1MiB", "2M" -> bytes. */
export function parseSize (text: string): number {
  const m = /^\s*(\d+)\s*(|b|k|kb|kib|m|mb|mib)\s*$/i.exec(text)
  if (m == null) throw new InvalidArgumentError(`"${text}" is not a size (try 1048576, 256KiB or 1MiB)`)
  const unit = m[2].toLowerCase()
  const mult = unit.startsWith('k') ? 1024 : unit.startsWith('m') ? 1024 * 1024 : 1
  return Number(m[1]) * mult
}

/** A parser of whole numbers for the option called `name`. */
export function parseIntArg (name: string): (v: string) => number {
  return (v) => {
    if (!/^\d+$/.test(v.trim())) throw new InvalidArgumentError(`${name} must be a whole number, not "${v}"`)
    return Number(v)
  }
}
