// config.json: its shape, its defaults, the keys a user may set, and the one check every
// config passes, whether read when a repo opens or written by `peerlink config set`.
import { InvalidArgumentError } from '../errors.js'
import { DEFAULT_CHUNK_SIZE, DEFAULT_K, DEFAULT_M, MAX_TREE_ENTRIES } from '../files/defaults.js'

export interface NetworkConfig {
  /** Multiaddrs to listen on. */
  listen: string[]
  /** Multiaddrs of peers to join the network through. */
  bootstrap: string[]
  /**
   * Addresses announced as they are, besides the confirmed ones: a public address this node
   * is known to be reachable on (a bootstrap node or relay), which AutoNAT would otherwise have
   * to confirm first.
   */
  announce: string[]
  /** Find peers on the local network by mDNS. */
  mdns: boolean
  /**
   * Keep private and loopback addresses in DHT answers. On for a LAN or one machine; off on
   * the internet, where such addresses only waste dials.
   */
  privateAddresses: boolean
  /** Multiaddr ranges never rate-limited or refused for lack of connection slots. */
  allow: string[]
  /** Most open connections (peers on `allow` are not counted). */
  maxConnections: number
  /** Most bytes the exchange holds for all peers' streams together (their fair shares of it). */
  maxBufferedBytes: number
  /** Most inbound exchange streams from all peers together. */
  maxExchangeStreams: number
  /** Serve as a circuit relay for peers that cannot be reached directly (src/README.md, Reachability). */
  relay: boolean
  /** Most peers holding a reservation on this relay at once. */
  relayReservations: number
  /** Most bytes one relayed connection carries (each way) before the relay closes it. */
  relayDataLimit: number
  /** Most seconds one relayed connection lasts before the relay closes it. */
  relaySeconds: number
  /**
   * Run file transfers over relayed (limited) connections. Off: a provider reachable only
   * through a relay is refused with a RelayLimitError saying what would help.
   */
  relayedTransfers: boolean
  /** Ask the router by UPnP to forward a port to this node. */
  upnp: boolean
  /**
   * Take a reservation on a relay and announce the relayed address (for a node behind a NAT).
   * Off by default: looking for relays walks the DHT until one is found.
   */
  reserveRelay: boolean
}

export interface RepoConfig {
  version: 1
  /** Defaults for `add`; `private`: seal every added file (files/private.ts), off unless set. */
  import: { chunkSize: number, k: number, m: number, private: boolean }
  network: NetworkConfig
  /**
   * Where the daemon's HTTP API listens: host:port. Beyond loopback only when set so.
   * `uploadLimit`: most bytes one upload from the web page (POST /upload) may hold.
   */
  api: { address: string, uploadLimit: number }
  /** Where the read-only HTTP gateway listens: host:port, or "off" for none. */
  gateway: { address: string }
  /**
   * `quota`: largest number of bytes the blockstore may hold; 0 for no limit.
   * `offer`: bytes this node holds for other peers' spread files; 0 holds nothing for others.
   * `repairInterval`: ms between the daemon's rounds renewing and repairing what it spread; 0 for none.
   * `repairRate`: bytes a second repairs may move (the owner's and a holder's alike); 0 unpaced.
   */
  storage: { quota: number, offer: number, repairInterval: number, repairRate: number }
  /** Most files and directories, and bytes (0: no limit), one fetch or export writes. */
  export: { maxEntries: number, maxBytes: number }
}

export const REPO_VERSION = 1

export const defaultNetworkConfig = (): NetworkConfig => ({
  listen: ['/ip4/0.0.0.0/tcp/4021'],
  bootstrap: [],
  announce: [],
  mdns: false,
  privateAddresses: true,
  allow: ['/ip4/127.0.0.0/ipcidr/8'],
  maxConnections: 300,
  maxBufferedBytes: 256 * 1024 * 1024,
  maxExchangeStreams: 256,
  relay: false,
  relayReservations: 15,
  relayDataLimit: 128 * 1024,
  relaySeconds: 120,
  relayedTransfers: false,
  upnp: false,
  reserveRelay: false
})

export function defaultConfig (): RepoConfig {
  return {
    version: REPO_VERSION,
    import: { chunkSize: DEFAULT_CHUNK_SIZE, k: DEFAULT_K, m: DEFAULT_M, private: false },
    network: defaultNetworkConfig(),
    api: { address: '127.0.0.1:5021', uploadLimit: 64 * 1024 ** 3 },
    gateway: { address: '127.0.0.1:8021' },
    storage: { quota: 0, offer: 0, repairInterval: 10 * 60 * 1000, repairRate: 8 * 1024 * 1024 },
    export: { maxEntries: MAX_TREE_ENTRIES, maxBytes: 0 }
  }
}

/**
 * What a key's value is, which says how its text is read: a size takes units (20GiB), a count
 * is a whole number, multiaddrs a list, an address host:port.
 */
export type ConfigValueType = 'size' | 'count' | 'boolean' | 'multiaddrs' | 'address'

/** Every key a user may set, `section.name`, with its type. */
export const CONFIG_KEYS: Readonly<Record<string, ConfigValueType>> = {
  'import.chunkSize': 'size',
  'import.k': 'count',
  'import.m': 'count',
  'import.private': 'boolean',
  'network.listen': 'multiaddrs',
  'network.bootstrap': 'multiaddrs',
  'network.announce': 'multiaddrs',
  'network.mdns': 'boolean',
  'network.privateAddresses': 'boolean',
  'network.allow': 'multiaddrs',
  'network.maxConnections': 'count',
  'network.maxBufferedBytes': 'size',
  'network.maxExchangeStreams': 'count',
  'network.relay': 'boolean',
  'network.relayReservations': 'count',
  'network.relayDataLimit': 'size',
  'network.relaySeconds': 'count',
  'network.relayedTransfers': 'boolean',
  'network.upnp': 'boolean',
  'network.reserveRelay': 'boolean',
  'api.address': 'address',
  'api.uploadLimit': 'size',
  'gateway.address': 'address',
  'storage.quota': 'size',
  'storage.offer': 'size',
  'storage.repairInterval': 'count',
  'storage.repairRate': 'size',
  'export.maxEntries': 'count',
  'export.maxBytes': 'size'
}

const SECTIONS = ['import', 'network', 'api', 'gateway', 'storage', 'export'] as const

/** A key a user may set, with its type; any other is refused naming the nearest valid key. */
export function configKey (key: string): { key: string, section: typeof SECTIONS[number], name: string, type: ConfigValueType } {
  const type = CONFIG_KEYS[key]
  if (type === undefined) {
    const section = SECTIONS.find(s => s === key)
    if (section !== undefined) throw new InvalidArgumentError(`${key} is a section, not a key: set one of ${keysOf(section).join(', ')}`)
    throw new InvalidArgumentError(`unknown config key "${key}": did you mean ${nearestKey(key)}? (keys: ${Object.keys(CONFIG_KEYS).join(', ')})`)
  }
  const [section, name] = key.split('.') as [typeof SECTIONS[number], string]
  return { key, section, name, type }
}

/** The value at a key or section of a config (`storage.quota`, `network`); unknown ones are refused. */
export function configValue (config: RepoConfig, key: string): unknown {
  const section = SECTIONS.find(s => s === key)
  if (section !== undefined) return config[section]
  const k = configKey(key)
  return (config[k.section] as unknown as Record<string, unknown>)[k.name]
}

function keysOf (section: string): string[] {
  return Object.keys(CONFIG_KEYS).filter(k => k.startsWith(section + '.'))
}

/** The valid key closest to a mistyped one, by edit distance to the whole key or to its name alone. */
export function nearestKey (key: string): string {
  let best = ''
  let bestDistance = Infinity
  for (const k of Object.keys(CONFIG_KEYS)) {
    const d = Math.min(editDistance(key.toLowerCase(), k.toLowerCase()), editDistance(key.toLowerCase(), k.slice(k.indexOf('.') + 1).toLowerCase()))
    if (d < bestDistance) { best = k; bestDistance = d }
  }
  return best
}

function editDistance (a: string, b: string): number {
  // Keys are short (a mistyped one is cut to 64 characters): one row of the classic table.
  a = a.slice(0, 64)
  let row = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const next = [i]
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    row = next
  }
  return row[b.length]
}

/**
 * The config a config.json's parsed JSON gives: sections it lacks (written by an older
 * PeerLink) take their defaults, and the whole is checked. `where` names the file in errors.
 */
export async function configFromJson (raw: unknown, where: string): Promise<RepoConfig> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new InvalidArgumentError(`${where} does not hold a JSON object`)
  const r = raw as Partial<RepoConfig>
  if (r.version !== REPO_VERSION) throw new InvalidArgumentError(`${where} has repo version ${String(r.version)}; this PeerLink reads version ${REPO_VERSION}`)
  const d = defaultConfig()
  const config: RepoConfig = {
    version: REPO_VERSION,
    import: { ...d.import, ...r.import },
    network: { ...d.network, ...r.network },
    api: { ...d.api, ...r.api },
    gateway: { ...d.gateway, ...r.gateway },
    storage: { ...d.storage, ...r.storage },
    export: { ...d.export, ...r.export }
  }
  await checkConfig(config, where)
  return config
}

/** The gateway.address that turns the gateway off. */
export const GATEWAY_OFF = 'off'

function isAddress (a: unknown): boolean {
  return typeof a === 'string' && /^[^:]+:\d{1,5}$/.test(a) && Number(a.split(':')[1]) <= 65535
}

async function checkConfig (c: RepoConfig, where: string): Promise<void> {
  const bad = (what: string): never => { throw new InvalidArgumentError(`${where}: ${what}`) }
  const n = c.network
  // Loaded here: a CLI call that a daemon serves reads the repo's token but no config.
  const { multiaddr } = await import('@multiformats/multiaddr')
  for (const key of ['listen', 'bootstrap', 'announce', 'allow'] as const) {
    if (!Array.isArray(n[key]) || n[key].some(a => typeof a !== 'string')) bad(`network.${key} must be a list of multiaddrs ("/ip4/…")`)
    for (const a of n[key]) {
      try {
        multiaddr(a)
      } catch (err) {
        bad(`network.${key}: ${JSON.stringify(a)} is not a multiaddr (${(err as Error).message}); one looks like /ip4/127.0.0.1/tcp/4021`)
      }
    }
  }
  for (const key of ['mdns', 'privateAddresses', 'relay', 'relayedTransfers', 'upnp', 'reserveRelay'] as const) {
    if (typeof n[key] !== 'boolean') bad(`network.${key} must be true or false`)
  }
  if (typeof c.import.private !== 'boolean') bad('import.private must be true or false')
  if (!Number.isSafeInteger(n.maxConnections) || n.maxConnections < 1) bad('network.maxConnections must be a positive whole number')
  if (!Number.isSafeInteger(n.maxBufferedBytes) || n.maxBufferedBytes < 16 * 1024 * 1024) bad('network.maxBufferedBytes must be a whole number of bytes, at least 16 MiB (16777216)')
  if (!Number.isSafeInteger(n.maxExchangeStreams) || n.maxExchangeStreams < 1) bad('network.maxExchangeStreams must be a positive whole number')
  for (const key of ['relayReservations', 'relayDataLimit', 'relaySeconds'] as const) {
    if (!Number.isSafeInteger(n[key]) || n[key] < 1) bad(`network.${key} must be a positive whole number`)
  }
  if (!isAddress(c.api.address)) bad(`api.address must be host:port, not ${JSON.stringify(c.api.address)}`)
  if (c.gateway.address !== GATEWAY_OFF && !isAddress(c.gateway.address)) bad(`gateway.address must be host:port or "${GATEWAY_OFF}", not ${JSON.stringify(c.gateway.address)}`)
  if (!Number.isSafeInteger(c.api.uploadLimit) || c.api.uploadLimit < 1) bad('api.uploadLimit must be a positive whole number of bytes')
  if (!Number.isSafeInteger(c.storage.quota) || c.storage.quota < 0) bad('storage.quota must be a whole number of bytes (0 for none)')
  if (!Number.isSafeInteger(c.storage.offer) || c.storage.offer < 0) bad('storage.offer must be a whole number of bytes (0 offers nothing)')
  if (!Number.isSafeInteger(c.storage.repairInterval) || c.storage.repairInterval < 0) bad('storage.repairInterval must be a whole number of ms (0 for no repair rounds)')
  if (!Number.isSafeInteger(c.storage.repairRate) || c.storage.repairRate < 0) bad('storage.repairRate must be a whole number of bytes a second (0: unpaced)')
  if (!Number.isSafeInteger(c.export.maxEntries) || c.export.maxEntries < 1) bad('export.maxEntries must be a positive whole number')
  if (!Number.isSafeInteger(c.export.maxBytes) || c.export.maxBytes < 0) bad('export.maxBytes must be a whole number of bytes (0 for none)')
  // The import defaults pass the check `add` makes of its options.
  const { checkImportOptions } = await import('../files/importer.js')
  try {
    checkImportOptions(c.import)
  } catch (err) {
    bad(`import: ${(err as Error).message}`)
  }
}
