// How many cases each property runs: a few hundred in `npm test`, as many as asked by
// `npm run fuzz -- --runs N` (which sets PEERLINK_FUZZ_RUNS).
import fc from 'fast-check'
import { PeerLinkError } from '../../src/errors.js'

export const RUNS = Number(process.env.PEERLINK_FUZZ_RUNS ?? 400)

const seed = process.env.PEERLINK_FUZZ_SEED
/** RUNS cases, seeded from PEERLINK_FUZZ_SEED when given (to replay a failure). */
const parameters = { numRuns: RUNS, ...(seed !== undefined ? { seed: Number(seed) } : {}) }

export function check<T> (arb: fc.Arbitrary<T>, property: (value: T) => void): void {
  fc.assert(fc.property(arb, property), parameters)
}

export async function checkAsync<T> (arb: fc.Arbitrary<T>, property: (value: T) => Promise<void>): Promise<void> {
  await fc.assert(fc.asyncProperty(arb, property), parameters)
}

/** Calls `decode`; a PeerLink error is a refusal, anything else thrown fails the property. */
export function refusesOrDecodes<T> (decode: () => T): T | PeerLinkError {
  try {
    return decode()
  } catch (err) {
    if (err instanceof PeerLinkError) return err
    throw new Error(`threw a ${(err as Error)?.name ?? typeof err} that is no PeerLink error: ${(err as Error)?.message}`, { cause: err })
  }
}

/** Bytes with a few of them changed, cut short or extended: the mutations a hostile peer tries. */
export function mutated (valid: Uint8Array): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }).map(edits => {
      const out = Uint8Array.from(valid)
      for (const [at, byte] of edits) if (out.length > 0) out[at % out.length] = byte
      return out
    }),
    fc.nat({ max: Math.max(0, valid.length - 1) }).map(n => valid.subarray(0, n)),
    fc.uint8Array({ minLength: 1, maxLength: 64 }).map(extra => Uint8Array.from([...valid, ...extra]))
  )
}
