/** The largest block PeerLink stores, sends or accepts. */
export const MAX_BLOCK_SIZE = 2 * 1024 * 1024
