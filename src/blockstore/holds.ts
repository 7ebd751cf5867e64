// Names held by counted holders (blocks of imports and fetches still running, packs being
// written): a name stays held until every hold on it is released; gc spares what is held.
export class Holds {
  private readonly counts = new Map<string, number>()

  has (name: string): boolean {
    return this.counts.has(name)
  }

  keys (): IterableIterator<string> {
    return this.counts.keys()
  }

  /** Holds each name once per time it is listed, until the returned release is called. */
  hold (names: Iterable<string>): () => void {
    const list = [...names]
    for (const name of list) this.counts.set(name, (this.counts.get(name) ?? 0) + 1)
    return () => {
      for (const name of list) {
        const n = (this.counts.get(name) ?? 1) - 1
        if (n <= 0) this.counts.delete(name)
        else this.counts.set(name, n)
      }
    }
  }
}
