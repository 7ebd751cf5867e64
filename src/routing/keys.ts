// Where things sit in the DHT's keyspace: the key a root's provider record is stored under,
// and the points kad-dht measures XOR distances between. They are assumptions about kad-dht
// and live with the others in kad-compat.ts.
export { dhtKey, peerKey, placeOf, routingKey } from './kad-compat.js'
