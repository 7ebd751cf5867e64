// Hostile exchange peers for bench:abuse: fresh Ed25519 identities (bare libp2p hosts with
// PeerLink's transport, dialling from one local address) that each open 16 streams to a
// provider and abuse them, until told to stop. A stream the provider ends is opened again (on a new connection if need be), so
// an attacker keeps at it until it is banned or the attack stops.
import type { Connection, Libp2p, Stream } from '@libp2p/interface'
import { setMaxListeners } from 'node:events'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { setTimeout as sleep } from 'node:timers/promises'
import { EXCHANGE_PROTOCOL } from '../../src/exchange/constants.js'
import { frame, Message, readMessages } from '../../src/exchange/wire.js'
import { cidOf } from '../../src/hash/index.js'
import { transportSettings } from '../../src/node/host.js'

/**
 * have: have_only WANTs of 4,096 CIDs in a loop; unread: WANTs of 200 blocks, then nothing
 * read; blocks: WANTs of 16 blocks in a loop, each answer read.
 */
export type AttackKind = 'have' | 'unread' | 'blocks'

export interface AttackTarget {
  address: string
  root: Uint8Array
  /** CIDs of blocks the provider holds. */
  blocks: Uint8Array[]
  /** The local IP every identity dials from (all of them from one address, as a host would). */
  from?: string
}

const STREAMS_PER_IDENTITY = 16

/** 4,096 CIDs the provider does not hold: each costs it a lookup all the same. */
const QUERY = Array.from({ length: 4096 }, (_, i) => cidOf(Uint8Array.of(i & 0xff, i >> 8, 7)).bytes)

export interface Attack {
  /** Streams the provider refused, reset or ended. */
  ended: () => number
  stop: () => Promise<void>
}

export async function startAttack (kind: AttackKind, identities: number, target: AttackTarget): Promise<Attack> {
  const stopping = new AbortController()
  setMaxListeners(Infinity, stopping.signal) // one listener per attacking stream
  const hosts: Libp2p[] = []
  let ended = 0
  const loops: Array<Promise<void>> = []
  for (let i = 0; i < identities; i++) {
    const host = await createLibp2p({ ...await transportSettings({ dialFrom: target.from }), addresses: { listen: [] } })
    hosts.push(host)
    for (let s = 0; s < STREAMS_PER_IDENTITY; s++) {
      loops.push((async () => {
        while (!stopping.signal.aborted) {
          try {
            await abuse(kind, await open(host, target.address), target, stopping.signal)
          } catch {}
          if (!stopping.signal.aborted) ended++
          await sleep(100, undefined, { signal: stopping.signal }).catch(() => {})
        }
      })())
    }
  }
  return {
    ended: () => ended,
    stop: async () => {
      stopping.abort()
      await Promise.all(hosts.map(async h => { await h.stop() }))
      await Promise.all(loops)
    }
  }
}

const connections = new WeakMap<Libp2p, Promise<Connection>>()

/**
 * A stream on the host's one connection to the target, dialled by one of its loops at a time
 * (the others wait for that dial): a host dials once per try, as a real one would, instead of
 * once per stream; a failed dial is tried again after 100 ms. The first dial waits a moment
 * before streams are opened: yamux resets a connection on which more than 10 streams arrive
 * before the listener has finished the upgrade.
 */
async function open (host: Libp2p, address: string): Promise<Stream> {
  for (let tries = 0; tries < 100; tries++) {
    const c = connections.get(host)
    const conn = await c?.catch(() => undefined)
    if (conn?.status === 'open') return await conn.newStream(EXCHANGE_PROTOCOL)
    if (connections.get(host) !== c) continue // another loop dialled meanwhile: wait for its dial
    const dial = host.dial(multiaddr(address)).then(async conn => { await sleep(300); return conn }, async (err: Error) => { await sleep(100); throw err })
    connections.set(host, dial)
    return await (await dial).newStream(EXCHANGE_PROTOCOL)
  }
  throw new Error('no connection to the target')
}

async function abuse (kind: AttackKind, stream: Stream, target: AttackTarget, signal: AbortSignal): Promise<void> {
  const onStop = (): void => { stream.abort(new Error('attack over')) }
  signal.addEventListener('abort', onStop)
  try {
    if (kind === 'unread') {
      for (let id = 1; id <= 200; id++) stream.send(frame({ type: Message.Type.WANT, id: BigInt(id), root: target.root, cids: [target.blocks[id % target.blocks.length]] }))
      stream.pause()
      await new Promise<void>(resolve => { stream.addEventListener('close', () => { resolve() }) })
      return
    }
    const answers = readMessages(stream)
    for (let id = 1n; !signal.aborted; id++) {
      if (kind === 'have') {
        stream.send(frame({ type: Message.Type.WANT, id, root: target.root, cids: QUERY, haveOnly: true }))
        if ((await answers.next()).done === true) return
      } else {
        const cids = Array.from({ length: 16 }, (_, i) => target.blocks[(Number(id) + i) % target.blocks.length])
        stream.send(frame({ type: Message.Type.WANT, id, root: target.root, cids }))
        for (let i = 0; i < cids.length; i++) if ((await answers.next()).done === true) return
      }
    }
  } finally {
    signal.removeEventListener('abort', onStop)
  }
}
