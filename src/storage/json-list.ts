// A small list kept as one JSON file in the repo (the lease book, the spread book): read whole
// at open, written whole through a temporary file, one write at a time, so a crash leaves the
// old list or the new one and a later state is never overwritten by an earlier one.
import { readFile } from 'node:fs/promises'
import { InvalidArgumentError } from '../errors.js'
import { writeWhole } from '../repo/repo.js'

export class JsonList<T> {
  private saving: Promise<void> = Promise.resolve()

  private constructor (readonly path: string) {}

  /** The list at `path` (empty when there is no file); `what` names it in errors. */
  static async open<T> (path: string, what: string): Promise<{ file: JsonList<T>, items: T[] }> {
    let items: T[] = []
    try {
      items = JSON.parse(await readFile(path, 'utf8')) as T[]
      if (!Array.isArray(items)) throw new Error('not a list')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new InvalidArgumentError(`${path} is not a ${what}: ${(err as Error).message}`)
      items = []
    }
    return { file: new JsonList<T>(path), items }
  }

  async save (items: T[]): Promise<void> {
    const text = JSON.stringify(items)
    const write = this.saving.then(async () => { await writeWhole(this.path, text, 'replace') })
    this.saving = write.catch(() => {})
    await write
  }
}
