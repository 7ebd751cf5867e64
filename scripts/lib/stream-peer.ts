// One end of the raw-stream ceiling measurement in bench-transfer: two processes, each a
// libp2p host with PeerLink's transport settings (transportSettings() in src/node/host.ts)
// and the daemon's heap policy (src/node/heap.ts), and nothing on top. The sink prints its
// address and counts what arrives; the source opens one stream, says how many bytes follow
// (8 bytes, big-endian) and sends them in 1 MiB messages with backpressure, as the exchange
// server sends blocks. The sink answers one byte when it has them all, so the time is end to
// end. With PEERLINK_BENCH_YAMUX=default in the environment of both ends, Yamux runs with
// libp2p's defaults instead.
//
//   node --import tsx scripts/lib/stream-peer.ts sink
//   node --import tsx scripts/lib/stream-peer.ts source <multiaddr> <bytes>
import '../../src/polyfill.js'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2p } from 'libp2p'
import { tuneHeap } from '../../src/node/heap.js'
import { CONNECTION_MONITOR, transportSettings } from '../../src/node/host.js'

const PROTOCOL = '/peerlink-bench/stream/1.0.0'
const MESSAGE = 1024 * 1024

async function host (): Promise<Libp2p> {
  return await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    ...await transportSettings(),
    ...(process.env.PEERLINK_BENCH_YAMUX === 'default' ? { streamMuxers: [yamux()] } : {}),
    connectionMonitor: CONNECTION_MONITOR,
    connectionManager: { allow: ['/ip4/127.0.0.0/ipcidr/8'] }
  })
}

tuneHeap()
const [mode, target, size] = process.argv.slice(2)
if (mode === 'sink') {
  const node = await host()
  await node.handle(PROTOCOL, async (stream) => {
    let got = 0
    let expected = Infinity
    for await (const chunk of stream) {
      if (got === 0) expected = Number(Buffer.from(chunk.subarray(0, 8)).readBigUInt64BE()) + 8
      got += chunk.byteLength
      if (got >= expected) break
    }
    stream.send(Uint8Array.of(1))
    await stream.close()
  })
  process.stdout.write(JSON.stringify({ addrs: node.getMultiaddrs().map(String) }) + '\n')
  const stop = (): void => { void Promise.resolve(node.stop()).then(() => process.exit(0)) }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
} else if (mode === 'source' && target !== undefined && size !== undefined) {
  const total = Number(size)
  if (!Number.isSafeInteger(total) || total <= 0) throw new Error(`bytes must be a positive integer, got ${size}`)
  const node = await host()
  const stream = await node.dialProtocol(multiaddr(target), PROTOCOL, { signal: AbortSignal.timeout(10_000) })
  const block = new Uint8Array(MESSAGE).fill(7)
  const t0 = process.hrtime.bigint()
  const head = Buffer.alloc(8)
  head.writeBigUInt64BE(BigInt(total))
  stream.send(head)
  for (let sent = 0; sent < total; sent += MESSAGE) {
    const piece = total - sent < MESSAGE ? block.subarray(0, total - sent) : block
    if (!stream.send(piece)) await stream.onDrain({ signal: AbortSignal.timeout(60_000) })
  }
  for await (const ack of stream) if (ack.byteLength > 0) break
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9
  stream.abort(new Error('done'))
  process.stdout.write(JSON.stringify({ bytes: total, seconds }) + '\n')
  await node.stop()
} else {
  process.stderr.write('usage: stream-peer.ts sink | source <multiaddr> <bytes>\n')
  process.exit(2)
}
