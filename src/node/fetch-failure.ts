// What a fetch that ended short tells the user. Blocks a provider did not deliver are not
// lost data while someone could still deliver them: a provider that went away or lied is named
// as the cause, with what stays in the repo and that running the fetch again resumes. Data
// loss is reported only when every provider reached stayed and said it lacks the blocks.
import { BlockNotFoundError, DataLossError, HashMismatchError, NoProvidersError, PeerUnavailableError } from '../errors.js'
import type { ProviderStats } from '../exchange/session.js'
import type { Ticket } from './ticket.js'

/** Providers as they were found: distinct peers, and why the lookup ended early if it did. */
export interface Discovery {
  /** Settles when the lookup has ended; the session then knows every provider it will get. */
  done: Promise<void>
  /** Distinct peers found: the ticket's sharer is often named by the DHT as well. */
  seen: Set<string>
  lookupError?: Error
}

const RESUME = 'the blocks already fetched are kept in this repo and nothing stored here is lost: run the command again to resume'

/** The error a fetch ends with, given the error it met and what its providers did. */
export function fetchFailure (err: unknown, ticket: Ticket, discovery: Discovery, providers: ProviderStats[]): unknown {
  if (!(err instanceof DataLossError) && !(err instanceof BlockNotFoundError)) return err
  // Without the root nothing was served: each provider found is listed with its reason.
  if (err instanceof BlockNotFoundError && err.cid === ticket.root.toString()) return noProviders(ticket, discovery, providers)
  const liar = providers.find(p => p.lie !== undefined)
  if (liar?.lie !== undefined) {
    return new HashMismatchError(liar.lie.cid, liar.lie.actual, liar.peer, `it was dropped and banned, and no other provider could serve what it was asked for; ${RESUME} from other providers`)
  }
  const gone = providers.filter(p => p.failure === 'went-away')
  if (gone.length > 0) {
    const who = gone.map(p => `${p.peer} (${p.reason ?? 'went away'})`).join('; ')
    return new PeerUnavailableError(`${gone.length === 1 ? 'the provider' : `${gone.length} providers`} went away before the fetch of ${ticket.root.toString()} finished: ${who}; ${RESUME} once a provider is back`, { cause: err })
  }
  if (err instanceof BlockNotFoundError) {
    const n = discovery.seen.size
    return new NoProvidersError(err.cid, n === 0 ? 'the DHT names nobody' : `none of the ${n} provider${n === 1 ? '' : 's'} of ${ticket.root.toString()} holds it; ${RESUME} once a provider has it`)
  }
  return err
}

/** The error of a fetch that could not get its root: who was found, and why each served nothing. */
function noProviders (ticket: Ticket, discovery: Discovery, providers: ProviderStats[]): NoProvidersError {
  const { seen, lookupError } = discovery
  if (seen.size === 0) {
    return new NoProvidersError(ticket.root.toString(), `the DHT names nobody${lookupError !== undefined ? ` (lookup failed: ${lookupError.message})` : ''}${ticket.peer !== undefined ? ' and the ticket\'s peer did not answer' : ''}`)
  }
  const reasons = providers.filter(p => p.reason !== undefined).map(p => `${p.peer}: ${p.reason as string}`)
  const why = reasons.length > 0 ? ` (${reasons.join('; ')})` : ''
  return new NoProvidersError(ticket.root.toString(), `${seen.size} provider${seen.size === 1 ? '' : 's'} found, none could serve the root${why}`)
}
