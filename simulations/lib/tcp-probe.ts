// Tries a TCP connect to each host:port given, 1.5 s each, and prints which opened as a JSON
// array of booleans. Run inside a lab host's namespace (`ip netns exec … node --import tsx
// simulations/lib/tcp-probe.ts 10.213.1.2:4001 …`) to see what that host can reach; the
// CLI has no command for a bare TCP connect, and a libp2p dial would reuse a connection
// opened before a partition.
import { connect } from 'node:net'
import { fileURLToPath } from 'node:url'

export const TCP_PROBE = fileURLToPath(import.meta.url)

export async function canConnect (target: string, timeoutMs = 1500): Promise<boolean> {
  const i = target.lastIndexOf(':')
  return await new Promise(resolve => {
    const s = connect({ host: target.slice(0, i), port: Number(target.slice(i + 1)), timeout: timeoutMs })
    s.once('connect', () => { s.destroy(); resolve(true) })
    s.once('timeout', () => { s.destroy(); resolve(false) })
    s.once('error', () => { resolve(false) })
  })
}

if (process.argv[1] === TCP_PROBE) {
  const open = await Promise.all(process.argv.slice(2).map(async t => await canConnect(t)))
  process.stdout.write(JSON.stringify(open))
}
