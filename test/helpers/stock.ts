// A libp2p node as anyone would make one, every setting at libp2p's default: a peer that
// is not PeerLink, or a PeerLink node of an older version when it serves only what it is given.
import { noise } from '@chainsafe/libp2p-noise'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { join } from 'node:path'
import { createLibp2p, type Libp2p } from 'libp2p'
import type { PeerLinkNode } from '../../src/node/peerlink.js'
import { startNode } from './network.js'
import { tempDir } from './repo.js'

export async function stockNode (): Promise<Libp2p> {
  return await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()]
  })
}

export interface StockPair {
  dir: { path: string, cleanup: () => Promise<void> }
  peerlink: PeerLinkNode
  stock: Libp2p
}

/**
 * Registers hooks that give each test of the calling `describe` a fresh directory, a PeerLink
 * node in it and a stock node; read them from the returned object inside a test.
 */
export function withStockPair (): StockPair {
  const pair = {} as StockPair
  beforeEach(async () => {
    pair.dir = await tempDir()
    pair.peerlink = await startNode(join(pair.dir.path, 'peerlink'))
    pair.stock = await stockNode()
  })
  afterEach(async () => {
    await pair.stock.stop()
    // A test may have stopped the PeerLink node itself.
    await pair.peerlink.stop().catch(() => {})
    await pair.dir.cleanup()
  })
  return pair
}
