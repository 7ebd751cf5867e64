// Networks of real nodes on 127.0.0.1, shared with the simulations.
export { bootstrapFrom, randomFile, startNetwork, startNode, waitForRoutingTables, waitUntil, type TestNetwork } from '../../simulations/lib/network.js'
