export type { AbortOptions, Block, Blockstore, PinInfo, PutOptions } from './blockstore.js'
export { LevelBlockstore, type GcResult, type Usage } from './level.js'
export { VerifyingBlockstore } from './verifying.js'
export { links } from './links.js'
