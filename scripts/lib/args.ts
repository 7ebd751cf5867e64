// The command line of the benchmarks that move one file: --json, --size MiB (default 1 GiB)
// and --rounds N, checked against each benchmark's bounds; --large where a benchmark offers it.
import { parseArgs } from 'node:util'

export interface FileBenchArgs { json: boolean, sizeMiB: number, rounds: number, large: boolean }

export function fileBenchArgs (bounds: { rounds: number, maxSizeMiB: number, maxRounds: number, large?: boolean }): FileBenchArgs {
  const { values } = parseArgs({
    options: {
      json: { type: 'boolean', default: false },
      size: { type: 'string', default: '1024' },
      rounds: { type: 'string', default: String(bounds.rounds) },
      large: { type: 'boolean', default: false }
    }
  })
  const sizeMiB = Number(values.size)
  const rounds = Number(values.rounds)
  if (!Number.isInteger(sizeMiB) || sizeMiB < 1 || sizeMiB > bounds.maxSizeMiB) throw new Error(`--size is MiB, 1..${bounds.maxSizeMiB}`)
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > bounds.maxRounds) throw new Error(`--rounds must be 1..${bounds.maxRounds}`)
  if (values.large && bounds.large !== true) throw new Error('--large is not an option of this benchmark')
  return { json: values.json, sizeMiB, rounds, large: values.large }
}
