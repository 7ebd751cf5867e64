// The PeerLink library: what the CLI is built from.
import './polyfill.js'

export * from './errors.js'
export * from './limits.js'
export * from './hash/index.js'
