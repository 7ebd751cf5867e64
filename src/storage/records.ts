// The owner's side: where it spread each root (the holders of every block), and until when
// its leases run, in <repo>/spread.json, written whole. Renewal, status, repair and `rm` read it.
import { join } from 'node:path'
import { JsonList } from './json-list.js'

export interface SpreadRecord {
  root: string
  /** Per stripe: its blocks (data, then parity), the holder of each, and how many rebuild it. */
  stripes: Array<{ blocks: string[], sizes: number[], holders: string[], k: number }>
  /** DAG nodes and the holders of each copy. */
  nodes: Array<{ cid: string, size: number, holders: string[] }>
  /** How long each lease runs from a renewal, ms; and when the current leases end. */
  lease: number
  expires: number
}

export const SPREAD_FILE = 'spread.json'

export class SpreadBook {
  private constructor (private readonly file: JsonList<SpreadRecord>, private readonly records: Map<string, SpreadRecord>) {}

  static async open (repo: string): Promise<SpreadBook> {
    const { file, items } = await JsonList.open<SpreadRecord>(join(repo, SPREAD_FILE), 'spread book')
    return new SpreadBook(file, new Map(items.map(r => [r.root, r])))
  }

  get (root: string): SpreadRecord | undefined { return this.records.get(root) }

  list (): SpreadRecord[] { return [...this.records.values()] }

  async put (record: SpreadRecord): Promise<void> {
    this.records.set(record.root, record)
    await this.save()
  }

  async delete (root: string): Promise<SpreadRecord | undefined> {
    const r = this.records.get(root)
    if (r === undefined) return undefined
    this.records.delete(root)
    await this.save()
    return r
  }

  /** Each holder of a record with the blocks it keeps and their sizes. */
  static byHolder (r: SpreadRecord): Map<string, { cids: string[], sizes: number[] }> {
    const out = new Map<string, { cids: string[], sizes: number[] }>()
    const seen = new Set<string>()
    const add = (holder: string, cid: string, size: number): void => {
      if (seen.has(`${holder}/${cid}`)) return
      seen.add(`${holder}/${cid}`)
      const h = out.get(holder) ?? { cids: [], sizes: [] }
      h.cids.push(cid)
      h.sizes.push(size)
      out.set(holder, h)
    }
    for (const s of r.stripes) s.holders.forEach((h, i) => { add(h, s.blocks[i], s.sizes[i]) })
    for (const n of r.nodes) for (const h of n.holders) add(h, n.cid, n.size)
    return out
  }

  private async save (): Promise<void> {
    await this.file.save(this.list())
  }
}
