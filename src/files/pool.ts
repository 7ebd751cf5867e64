// Buffers of one size lent to an import and given back once their stripe is stored, so each
// chunk read from disk and each parity block lands in memory an earlier stripe used. Fresh
// buffers are external memory to V8, which starts a full collection each time that has grown
// 64 MiB: a 1 GiB `add` spent about a quarter of its CPU in the collector (--cpu-prof).

/** Buffers of `bytes` each; at most `keep` wait to be reused, the rest are left to the collector. */
export class BufferPool {
  private readonly free: ArrayBuffer[] = []
  private readonly lent = new WeakSet<ArrayBufferLike>()

  constructor (readonly bytes: number, private readonly keep: number) {}

  /** A buffer of `bytes`: one given back if any, else a fresh one. */
  take (): Buffer {
    const reused = this.free.pop()
    const buf = reused !== undefined ? Buffer.from(reused) : Buffer.allocUnsafeSlow(this.bytes)
    this.lent.add(buf.buffer)
    return buf
  }

  /**
   * Gives back the memory under `view` (a buffer from take, or a view into one); memory the
   * pool did not lend is left alone. The caller must hold no other reference to it.
   */
  give (view: Uint8Array): void {
    if (!this.lent.delete(view.buffer)) return
    if (this.free.length < this.keep) this.free.push(view.buffer as ArrayBuffer)
  }
}
