import '../../src/polyfill.js'
// One Helia 7 peer in its own process, for the transfer benchmark's Helia baseline.
//
//   node --import tsx scripts/lib/helia-peer.ts provide <file> <repoDir>
//     Imports <file> (UnixFS, @helia/unixfs defaults: 1 MiB chunks, raw leaves, CIDv1),
//     prints {"cid":"…","addrs":["/ip4/127.0.0.1/tcp/…/p2p/…"]} and serves it over
//     bitswap until SIGTERM or SIGINT, then stops and exits 0.
//   node --import tsx scripts/lib/helia-peer.ts fetch <cid> <multiaddr> <outFile> <repoDir>
//     Dials <multiaddr>, streams the file into <outFile>, prints {"bytes":N,"seconds":S}
//     (from just before cat starts to <outFile> closed), stops and exits 0. Gives up after
//     HELIA_PEER_TIMEOUT_MS (default 600000) with exit 1.
//
// Errors go to stderr with a non-zero exit. Blocks and the datastore live on disk under
// <repoDir>. The node is offline: TCP on 127.0.0.1 only, no bootstrap, mDNS, DHT, UPnP,
// AutoNAT, relay, delegated routing or HTTP gateways; bitswap is the only block broker.
// The transport (TCP, Noise, Yamux with PeerLink's settings) matches PeerLink's host.
import { createReadStream, createWriteStream, mkdirSync } from 'node:fs'
import { once, setMaxListeners } from 'node:events'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { unixfs } from '@helia/unixfs'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { multiaddr } from '@multiformats/multiaddr'
import { FsBlockstore } from 'blockstore-fs'
import { LevelDatastore } from 'datastore-level'
import { createHelia } from 'helia'
import { CID } from 'multiformats/cid'
import { transportSettings } from '../../src/node/host.js'

const USAGE = 'usage: helia-peer.ts provide <file> <repoDir>\n' +
  '       helia-peer.ts fetch <cid> <multiaddr> <outFile> <repoDir>'
/** How long `stop` may take before the process gives up on a clean stop. */
const STOP_TIMEOUT_MS = 8_000

class UsageError extends Error {}

async function createNode (repoDir: string) {
  mkdirSync(repoDir, { recursive: true })
  const blockstore = new FsBlockstore(join(repoDir, 'blocks'))
  const datastore = new LevelDatastore(join(repoDir, 'datastore'))
  await blockstore.open()
  await datastore.open()
  const helia = createHelia({
    blockstore,
    datastore,
    routers: [],
    // No delegated routers and no recursive gateways: @helia/http then adds no router.
    http: { delegatedRouters: [], recursiveGateways: [] },
    libp2p: {
      // 'replace' (the default): each key given here replaces Helia's default wholesale
      // (TCP/WS/WebRTC/relay on 0.0.0.0, bootstrap, mDNS, DHT, AutoNAT, UPnP, delegated
      // routing, ...), so every key Helia's defaults set is named, most of them empty.
      config: 'replace',
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      ...await transportSettings(),
      peerDiscovery: [],
      connectionManager: { allow: ['/ip4/127.0.0.0/ipcidr/8'] },
      services: {
        identify: identify(),
        ping: ping()
      }
    }
  })
  // createHelia always adds @helia/http's trustless-gateway block broker and has no option
  // to leave it out. With no gateway router it can reach nothing, but it still races every
  // block bitswap fetches (a provider lookup and a thrown AggregateError per block), so it
  // is taken out here, in place: Helia's block storage holds this same array.
  const brokers = (helia as unknown as { blockBrokers: Array<{ name: string }> }).blockBrokers
  const gateway = brokers.findIndex(b => b.name === 'trustless-gateway')
  if (gateway !== -1) brokers.splice(gateway, 1)
  await helia.start()
  // The only way blocks move is bitswap, found through libp2p's own (empty) routing.
  const routers = (helia.routing as unknown as { routers?: Array<{ name?: string }> }).routers
  const names = { brokers: brokers.map(b => b.name), routers: routers?.map(r => r.name) }
  if (JSON.stringify(names) !== JSON.stringify({ brokers: ['bitswap'], routers: ['libp2p-router'] })) {
    await helia.stop()
    await blockstore.close()
    await datastore.close()
    throw new Error(`unexpected Helia configuration ${JSON.stringify(names)}: expected only bitswap over the libp2p router`)
  }
  const stop = async (): Promise<void> => {
    await withTimeout(helia.stop(), STOP_TIMEOUT_MS, 'stopping the Helia node')
    await blockstore.close()
    await datastore.close()
  }
  return { helia, stop }
}

async function withTimeout<T> (p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      p,
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => { reject(new Error(`${what} took over ${ms} ms`)) }, ms)
      })
    ])
  } finally {
    clearTimeout(timer)
  }
}

async function provide (file: string, repoDir: string): Promise<void> {
  const { helia, stop } = await createNode(repoDir)
  let stopping: Promise<void> | undefined
  const stopped = new Promise<void>((resolve, reject) => {
    const onSignal = (): void => {
      stopping ??= stop().then(resolve, reject)
    }
    process.on('SIGTERM', onSignal)
    process.on('SIGINT', onSignal)
  })
  stopped.catch(() => {}) // awaited below once ready; a failed stop before then is reported by the catch
  try {
    const fs = unixfs(helia)
    // Streamed: the importer pulls 1 MiB chunks from the read stream as it writes blocks.
    const cid = await fs.addByteStream(createReadStream(file, { highWaterMark: 1024 * 1024 }), { rawLeaves: true })
    const addrs = helia.libp2p.getMultiaddrs().map(String)
    if (addrs.length === 0) throw new Error('the node has no listen address')
    process.stdout.write(JSON.stringify({ cid: cid.toString(), addrs }) + '\n')
  } catch (err) {
    stopping ??= stop()
    await stopping.catch(() => {})
    throw err
  }
  await stopped
}

async function fetch (cidText: string, addr: string, outFile: string, repoDir: string): Promise<void> {
  let cid: CID
  try {
    cid = CID.parse(cidText)
  } catch (err) {
    throw new UsageError(`not a CID: ${cidText} (${(err as Error).message})`)
  }
  let ma
  try {
    ma = multiaddr(addr)
  } catch (err) {
    throw new UsageError(`not a multiaddr: ${addr} (${(err as Error).message})`)
  }
  const timeoutMs = Number(process.env.HELIA_PEER_TIMEOUT_MS ?? 600_000)
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new UsageError('HELIA_PEER_TIMEOUT_MS must be a positive number of milliseconds')
  const signal = AbortSignal.timeout(timeoutMs)
  // The exporter asks for every child of a node at once (1024 for a 1 GiB file) and each
  // request listens on this one signal: lift Node's leak warning at 10 listeners.
  setMaxListeners(Infinity, signal)

  const { helia, stop } = await createNode(repoDir)
  try {
    let bytes = 0
    let seconds: number
    try {
      await helia.libp2p.dial(ma, { signal })
      const fs = unixfs(helia)
      const out = createWriteStream(outFile)
      const start = process.hrtime.bigint()
      await pipeline(
        fs.cat(cid, { signal }),
        async function * (source: AsyncIterable<Uint8Array>) {
          for await (const chunk of source) {
            bytes += chunk.byteLength
            yield chunk
          }
        },
        out
      )
      if (!out.closed) await once(out, 'close')
      seconds = Number(process.hrtime.bigint() - start) / 1e9
    } catch (err) {
      if (signal.aborted) throw new Error(`fetch timed out after ${timeoutMs} ms (HELIA_PEER_TIMEOUT_MS) with ${bytes} bytes written`)
      throw err
    }
    process.stdout.write(JSON.stringify({ bytes, seconds }) + '\n')
  } catch (err) {
    await stop().catch(() => {})
    throw err
  }
  await stop()
}

async function main (argv: string[]): Promise<void> {
  const [mode, ...rest] = argv
  if (mode === 'provide' && rest.length === 2) return await provide(rest[0], rest[1])
  if (mode === 'fetch' && rest.length === 4) return await fetch(rest[0], rest[1], rest[2], rest[3])
  throw new UsageError(USAGE)
}

main(process.argv.slice(2)).then(
  () => { process.exit(0) },
  (err: unknown) => {
    process.stderr.write(`helia-peer: ${err instanceof Error ? (err instanceof UsageError ? err.message : err.stack ?? err.message) : String(err)}\n`)
    process.exit(err instanceof UsageError ? 2 : 1)
  }
)
