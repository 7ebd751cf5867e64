// The command line of the benchmarks that move one file: --json, --size MiB (default 1 GiB)
// and --rounds N, checked against each benchmark's bounds; --private and --large where a benchmark offers them.
import { parseArgs } from 'node:util'

export interface FileBenchArgs { json: boolean, sizeMiB: number, rounds: number, private: boolean, large: boolean }

export function fileBenchArgs (bounds: { rounds: number, maxSizeMiB: number, maxRounds: number, private?: boolean, large?: boolean }): FileBenchArgs {
  const { values } = parseArgs({
    options: {
      json: { type: 'boolean', default: false },
      size: { type: 'string', default: '1024' },
      rounds: { type: 'string', default: String(bounds.rounds) },
      // Only where offered: elsewhere they are refused as unknown, not ignored.
      ...(bounds.private === true ? { private: { type: 'boolean', default: false } as const } : {}),
      ...(bounds.large === true ? { large: { type: 'boolean', default: false } as const } : {})
    }
  })
  const sizeMiB = Number(values.size)
  const rounds = Number(values.rounds)
  if (!Number.isInteger(sizeMiB) || sizeMiB < 1 || sizeMiB > bounds.maxSizeMiB) throw new Error(`--size is MiB, 1..${bounds.maxSizeMiB}`)
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > bounds.maxRounds) throw new Error(`--rounds must be 1..${bounds.maxRounds}`)
  const flags = values as { private?: boolean, large?: boolean }
  return { json: values.json, sizeMiB, rounds, private: flags.private === true, large: flags.large === true }
}
