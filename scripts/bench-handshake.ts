// What a connection costs in CPU, with Noise's key agreement through the addon or Noise's default.
//
//   npm run bench:handshake -- [--json] [--rounds N] [--connections N]
//
// Two hosts in this process, each with PeerLink's transport stack (TCP, Noise with the addon's
// ChaCha20-Poly1305, Yamux): one dials the other and hangs up, --connections times a round, and
// the process's CPU time (both ends: Noise's handshake, identify, the muxer) is divided by the
// connections. The two key agreements, the addon's X25519 on raw keys and Noise's default
// (node:crypto KeyObjects), alternate round by round, each round on fresh hosts after 10
// connections of warm-up; a figure is the median of the rounds, the ratio the median of the
// rounds' ratios.
import '../src/polyfill.js'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import { createLibp2p, type Libp2p } from 'libp2p'
import { parseArgs } from 'node:util'
import { loadAddon } from '../src/native.js'
import { transportSettings } from '../src/node/host.js'
import { inPlaceFrames, nativeNoiseCrypto } from '../src/node/noise-crypto.js'
import { median, round } from '../simulations/lib/stats.js'

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '8' },
    connections: { type: 'string', default: '150' }
  }
})
const rounds = Number(args.rounds)
const connections = Number(args.connections)
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 50) throw new Error('--rounds must be 1..50')
if (!Number.isInteger(connections) || connections < 10 || connections > 10_000) throw new Error('--connections must be 10..10000')

const native = nativeNoiseCrypto(loadAddon())
const { generateX25519KeyPair, generateX25519KeyPairFromSeed, generateX25519SharedKey } = defaultCrypto
const kinds = { native, default: { ...native, generateX25519KeyPair, generateX25519KeyPairFromSeed, generateX25519SharedKey } }
type Kind = keyof typeof kinds

async function host (kind: Kind): Promise<Libp2p> {
  return await createLibp2p({
    ...await transportSettings(),
    connectionEncrypters: [inPlaceFrames({ crypto: kinds[kind] })],
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    connectionManager: { allow: ['/ip4/127.0.0.0/ipcidr/8'] }
  })
}

/** CPU ms per connection, both ends together. */
async function measure (kind: Kind): Promise<number> {
  const [a, b] = [await host(kind), await host(kind)]
  try {
    const connect = async (): Promise<void> => { await a.dial(b.getMultiaddrs()[0], { signal: AbortSignal.timeout(10_000) }); await a.hangUp(b.peerId) }
    for (let i = 0; i < 10; i++) await connect()
    const before = process.cpuUsage()
    for (let i = 0; i < connections; i++) await connect()
    const used = process.cpuUsage(before)
    return (used.user + used.system) / 1000 / connections
  } finally {
    await a.stop()
    await b.stop()
  }
}

const ms: Record<Kind, number[]> = { native: [], default: [] }
for (let r = 0; r < rounds; r++) {
  for (const kind of (r % 2 === 0 ? ['native', 'default'] : ['default', 'native']) as Kind[]) ms[kind].push(await measure(kind))
  if (!args.json) console.log(`round ${r + 1}: ${round(ms.native[r], 2)} CPU ms a connection with the addon's X25519, ${round(ms.default[r], 2)} with Noise's default`)
}
const result = {
  connections_per_round: connections,
  rounds,
  native_cpu_ms_per_connection: round(median(ms.native), 2),
  default_cpu_ms_per_connection: round(median(ms.default), 2),
  ratio_native_vs_default: round(median(ms.native.map((x, i) => x / ms.default[i])), 2)
}
console.log(args.json ? JSON.stringify(result) : `median: ${result.native_cpu_ms_per_connection} against ${result.default_cpu_ms_per_connection} CPU ms a connection (both ends), ${result.ratio_native_vs_default}×`)
