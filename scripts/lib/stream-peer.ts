// One end of the raw-stream ceiling measurement in bench-transfer: two processes, each a
// libp2p host with PeerLink's transport settings (transportSettings() in src/node/host.ts)
// and the daemon's heap policy (src/node/heap.ts), and nothing on top. The sink prints its
// address and counts what arrives; the source opens one stream, says how many bytes follow
// (8 bytes, big-endian) and sends them in 1 MiB messages with backpressure, as the exchange
// server sends blocks. The sink answers one byte when it has them all, so the time is end to
// end. With PEERLINK_BENCH_YAMUX=default in the environment of both ends, Yamux runs with
// libp2p's defaults instead.
//
// With --store <dir> the sink also stores what a fetch of the same bytes to an output file
// must store (the fetch's storage without its exchange, hashing or parity arithmetic): each
// 1 MiB written at its offset in one pack file, as the blockstore writes a file's chunks,
// DEFAULT_M parity-sized block files for every stripe of DEFAULT_K blocks (their bytes copied
// from the stripe, not computed), the pack synced and linked as the output before the answer.
// The files stay for the caller to remove.
//
//   node --import tsx scripts/lib/stream-peer.ts sink [--store <dir>]
//   node --import tsx scripts/lib/stream-peer.ts source <multiaddr> <bytes>
import '../../src/polyfill.js'
import { link, mkdir, open, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2p } from 'libp2p'
import { DEFAULT_CHUNK_SIZE, DEFAULT_K, DEFAULT_M } from '../../src/files/format.js'
import { rechunk } from '../../src/files/importer.js'
import { tuneHeap } from '../../src/node/heap.js'
import { CONNECTION_MONITOR, transportSettings } from '../../src/node/host.js'

const PROTOCOL = '/peerlink-bench/stream/1.0.0'
const MESSAGE = 1024 * 1024
/** Block files being written at once by the storing sink (the fetch's window is as many blocks). */
const FILES_IN_FLIGHT = 16

async function host (): Promise<Libp2p> {
  return await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    ...await transportSettings(),
    ...(process.env.PEERLINK_BENCH_YAMUX === 'default' ? { streamMuxers: [yamux()] } : {}),
    connectionMonitor: CONNECTION_MONITOR,
    connectionManager: { allow: ['/ip4/127.0.0.0/ipcidr/8'] }
  })
}

/** What arrives after the 8-byte length, as it arrives; ends once that many bytes have come. */
async function * payload (stream: AsyncIterable<Uint8Array | { subarray: () => Uint8Array }>): AsyncGenerator<Uint8Array> {
  let remaining = -1
  for await (const chunk of stream) {
    let bytes = chunk instanceof Uint8Array ? chunk : chunk.subarray()
    if (remaining < 0) {
      remaining = Number(Buffer.from(bytes.subarray(0, 8)).readBigUInt64BE())
      bytes = bytes.subarray(8)
    }
    const piece = bytes.subarray(0, remaining)
    remaining -= piece.byteLength
    if (piece.byteLength > 0) yield piece
    if (remaining === 0) return
  }
  throw new Error(`the stream ended ${remaining} bytes short`)
}

/** Stores the stream as a fetch would (see the top of the file); resolves once it is all on disk. */
async function store (stream: AsyncIterable<Uint8Array | { subarray: () => Uint8Array }>, dir: string): Promise<void> {
  const writing = new Set<Promise<unknown>>()
  const madeDirs = new Set<string>()
  let failed: Error | undefined
  await mkdir(join(dir, 'packs'), { recursive: true })
  const packPath = join(dir, 'packs', 'pack')
  const pack = await open(packPath, 'w+')
  const bounded = async (write: () => Promise<unknown>): Promise<void> => {
    while (writing.size >= FILES_IN_FLIGHT) await Promise.race(writing)
    if (failed !== undefined) throw failed
    const p: Promise<unknown> = write()
      .catch((err: Error) => { failed ??= err })
      .finally(() => writing.delete(p))
    writing.add(p)
  }
  const writeLoose = async (name: string, bytes: Uint8Array): Promise<void> => {
    // Sharded as the blockstore shards, which also makes each directory once.
    const sub = join(dir, 'blocks', name.slice(-2))
    if (!madeDirs.has(sub)) { await mkdir(sub, { recursive: true }); madeDirs.add(sub) }
    await bounded(async () => { await writeFile(join(sub, name), bytes) })
  }
  let stripe: Uint8Array[] = []
  let n = 0
  const parity = async (): Promise<void> => {
    for (let j = 0; j < DEFAULT_M; j++) await writeLoose(`p${n}-${j}`, Buffer.from(stripe[j % stripe.length]))
    stripe = []
  }
  try {
    // Cut into blocks as the fetch receives them: one copy of each into a fresh buffer.
    for await (const block of rechunk(payload(stream), DEFAULT_CHUNK_SIZE)) {
      const offset = n++ * DEFAULT_CHUNK_SIZE
      await bounded(async () => await pack.write(block, 0, block.byteLength, offset))
      stripe.push(block)
      if (stripe.length === DEFAULT_K) await parity()
    }
    if (stripe.length > 0) await parity()
    await Promise.all(writing)
    if (failed !== undefined) throw failed
    await pack.datasync()
  } finally {
    await pack.close()
  }
  await link(packPath, join(dir, 'output.bin'))
}

tuneHeap()
const args = process.argv.slice(2)
const [mode, target, size] = args
if (mode === 'sink' && (args.length === 1 || (args.length === 3 && args[1] === '--store'))) {
  const storeDir = args[2]
  const node = await host()
  await node.handle(PROTOCOL, async (stream) => {
    if (storeDir !== undefined) {
      try {
        await store(stream, storeDir)
      } catch (err) {
        process.stderr.write(`stream-peer sink: ${(err as Error).message}\n`)
        stream.abort(err as Error)
        return
      }
    } else {
      for await (const piece of payload(stream)) void piece
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
  let acked = false
  for await (const ack of stream) {
    if (ack.byteLength > 0) { acked = true; break }
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9
  // A sink that failed (a storing sink whose disk filled, say) closes without the answer.
  if (!acked) throw new Error('the sink closed the stream without confirming it had every byte')
  stream.abort(new Error('done'))
  process.stdout.write(JSON.stringify({ bytes: total, seconds }) + '\n')
  await node.stop()
} else {
  process.stderr.write('usage: stream-peer.ts sink [--store <dir>] | source <multiaddr> <bytes>\n')
  process.exit(2)
}
