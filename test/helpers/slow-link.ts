// A slow provider for tests that need a transfer to last: a relay whose answers are paced.
import { connect, createServer, type AddressInfo, type Socket } from 'node:net'

/** A TCP relay to `port` on 127.0.0.1 whose answers come back at `bytesPerSecond`. */
export async function slowLink (port: number, bytesPerSecond: number): Promise<{ port: number, close: () => void }> {
  const sockets = new Set<Socket>()
  const server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1')
    sockets.add(client).add(upstream)
    client.pipe(upstream)
    upstream.on('data', (chunk: Buffer) => {
      upstream.pause()
      client.write(chunk)
      setTimeout(() => upstream.resume(), chunk.byteLength / bytesPerSecond * 1000)
    })
    const end = (): void => { client.destroy(); upstream.destroy() }
    client.on('error', end).on('close', end)
    upstream.on('error', end).on('close', end)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    close: () => { for (const s of sockets) s.destroy(); server.close() }
  }
}
