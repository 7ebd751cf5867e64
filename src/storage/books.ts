// The two books storage keeps in a repo, opened with it (online or not): the leases this node
// holds for others, and where it spread its own roots.
import { LeaseBook, type HoldingStore } from './leases.js'
import { SpreadBook } from './records.js'

export interface StorageBooks { leases: LeaseBook, book: SpreadBook }

export async function openBooks (repo: string, store: HoldingStore): Promise<StorageBooks> {
  return { leases: await LeaseBook.open(repo, store), book: await SpreadBook.open(repo) }
}
