// The share records kept across daemon restarts: one JSON file in the repo, written a few
// seconds after a change (not on every block) and at stop, through a temporary file and a
// rename so a crash leaves the old file or the new one, never half of one. The records are
// for display only, so a missing, oversized or damaged file starts the node with none (and
// says why in the log) rather than stopping it.
import { readFile, stat } from 'node:fs/promises'
import type { ReceiverRecord, ShareRecord, ShareRecords } from '../exchange/share-records.js'
import { writeWhole } from './repo.js'

export const SHARE_RECORDS_FILE = 'shares.json'

/** Wait after a change before writing, so a busy minute is a few writes. */
export const SAVE_DELAY = 5000

/** The largest file read back: MAX_RECEIVERS_TOTAL records are well under it. */
const MAX_FILE_BYTES = 32 * 1024 * 1024

const VERSION = 1

export class ShareRecordsFile {
  private timer: ReturnType<typeof setTimeout> | undefined
  private unsubscribe: (() => void) | undefined
  private saving = Promise.resolve()

  constructor (private readonly path: string, private readonly records: ShareRecords, private readonly log: (message: string) => void) {}

  /** Reads the records kept before into `records`, then saves after each change. */
  async start (): Promise<void> {
    try {
      this.records.restore(await this.load())
    } catch (err) {
      this.log(`share records not restored from ${this.path}: ${(err as Error).message}`)
    }
    this.unsubscribe = this.records.subscribe(() => {
      this.timer ??= setTimeout(() => { this.timer = undefined; void this.save() }, SAVE_DELAY)
    })
  }

  /** Stops saving on change and writes the records as they are now. */
  async stop (): Promise<void> {
    this.unsubscribe?.()
    clearTimeout(this.timer)
    this.timer = undefined
    await this.save()
  }

  private async load (): Promise<ShareRecord[]> {
    const size = await stat(this.path).then(s => s.size, (err: NodeJS.ErrnoException) => { if (err.code === 'ENOENT') return -1; throw err })
    if (size < 0) return []
    if (size > MAX_FILE_BYTES) throw new Error(`the file is ${size} bytes, over the ${MAX_FILE_BYTES} read back`)
    const data = JSON.parse(await readFile(this.path, 'utf8')) as { version?: unknown, shares?: unknown }
    if (data.version !== VERSION || !Array.isArray(data.shares)) throw new Error(`not a version ${VERSION} share records file`)
    return data.shares.map(checkShare)
  }

  private async save (): Promise<void> {
    // One write at a time, each with the records as they are when it starts.
    this.saving = this.saving.then(async () => {
      await writeWhole(this.path, JSON.stringify({ version: VERSION, shares: this.records.list() }), 'replace')
    }).catch((err: Error) => { this.log(`share records not saved to ${this.path}: ${err.message}`) })
    await this.saving
  }
}

function checkShare (value: unknown, i: number): ShareRecord {
  const s = value as Partial<ShareRecord> | null
  if (typeof s?.root !== 'string' || s.root.length > 256 || !Array.isArray(s.receivers)) throw new Error(`share ${i} is malformed`)
  return { root: s.root, receivers: s.receivers.map((r: unknown, j: number) => checkReceiver(r, `share ${i} receiver ${j}`)) }
}

function checkReceiver (value: unknown, where: string): ReceiverRecord {
  const r = value as Partial<ReceiverRecord> | null
  const counts = [r?.sentBytes, r?.sentBlocks, r?.firstSent, r?.lastSent, r?.completedAt ?? 0]
  const receipt = r?.receipt === undefined ? [] : [r.receipt.bytes, r.receipt.blocks, r.receipt.started, r.receipt.completed]
  if (typeof r?.peer !== 'string' || r.peer.length > 128 || (r.state !== 'fetching' && r.state !== 'completed') ||
    ![...counts, ...receipt].every(n => Number.isSafeInteger(n) && (n as number) >= 0)) {
    throw new Error(`${where} is malformed`)
  }
  const { peer, state, sentBytes, sentBlocks, firstSent, lastSent, completedAt } = r as ReceiverRecord
  const out: ReceiverRecord = { peer, state, sentBytes, sentBlocks, firstSent, lastSent }
  if (completedAt !== undefined) out.completedAt = completedAt
  if (r.receipt !== undefined) out.receipt = { bytes: r.receipt.bytes, blocks: r.receipt.blocks, started: r.receipt.started, completed: r.receipt.completed }
  return out
}
