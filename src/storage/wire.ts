// Framing of the storage protocol: one length-prefixed message each way per stream, read with
// the exchange's frame reader (the same size bound at the prefix, the same errors), and an
// owner's side of one request: dial, send, read the answer, close, all within a timeout.
import type { Libp2p, PeerId, Stream } from '@libp2p/interface'
import * as varint from 'uint8-varint'
import { Uint8ArrayList } from 'uint8arraylist'
import { PeerLinkError, PeerUnavailableError, ProtocolError } from '../errors.js'
import { readFrames } from '../exchange/wire.js'
import { MAX_LEASE_CIDS, MAX_STORAGE_MESSAGE, STORAGE_PROTOCOL } from './constants.js'
import { StorageMessage } from './pb/storage.js'

export { StorageMessage }

/** A message to send: its type and the fields that type uses. */
export interface Outgoing {
  type: StorageMessage.Type
  offered?: bigint
  free?: bigint
  root?: Uint8Array
  cids?: Uint8Array[]
  bytes?: bigint
  expires?: bigint
  reason?: string
  bitfield?: Uint8Array
  owner?: Uint8Array
}

export function frame (msg: Outgoing): Uint8ArrayList {
  const bytes = StorageMessage.encode(msg as unknown as StorageMessage)
  return new Uint8ArrayList(varint.encode(bytes.byteLength), bytes)
}

/** The one message a stream carries; ProtocolError if it is malformed, oversized or missing. */
export async function readOne (stream: Stream): Promise<StorageMessage> {
  const messages = readFrames(stream, (f) => {
    if (f.byteLength > MAX_STORAGE_MESSAGE) throw new ProtocolError(`a storage message of ${f.byteLength} bytes, the limit is ${MAX_STORAGE_MESSAGE}`)
    return StorageMessage.decode(f, { limits: { cids: MAX_LEASE_CIDS } })
  })
  const first = await messages.next()
  await messages.return(undefined)
  if (first.done === true) throw new ProtocolError('the stream ended before its storage message')
  return first.value
}

/**
 * Asks a peer one thing on a fresh storage stream and returns its answer, within `timeout`
 * ms. A peer that cannot be reached or does not answer in time is PeerUnavailableError.
 */
export async function ask (libp2p: Pick<Libp2p, 'dialProtocol'>, peer: PeerId, msg: Outgoing, options: { signal?: AbortSignal, timeout: number }): Promise<StorageMessage> {
  const timeout = AbortSignal.timeout(options.timeout)
  const signal = options.signal !== undefined ? AbortSignal.any([options.signal, timeout]) : timeout
  let stream: Stream | undefined
  try {
    stream = await libp2p.dialProtocol(peer, STORAGE_PROTOCOL, { signal })
    stream.send(frame(msg))
    const onAbort = (): void => { stream?.abort(new PeerUnavailableError(`no answer within ${options.timeout / 1000} s`)) }
    signal.addEventListener('abort', onAbort, { once: true })
    try {
      const answer = await readOne(stream)
      await stream.close({ signal }).catch(() => {})
      return answer
    } finally {
      signal.removeEventListener('abort', onAbort)
    }
  } catch (err) {
    stream?.abort(err as Error)
    if (options.signal?.aborted === true) throw options.signal.reason
    if (err instanceof PeerLinkError && !(err instanceof PeerUnavailableError)) throw err
    const why = timeout.aborted ? `no answer within ${options.timeout / 1000} s` : (err as Error).message
    throw new PeerUnavailableError(`storage request to ${peer.toString()} failed: ${why}`, { cause: err })
  }
}
