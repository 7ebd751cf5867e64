// What a fetch shows while it runs, on a terminal and unless --json is given: a line while
// providers are looked up ("finding providers… 2 found"), replaced by the bar once the root
// is read; and, whether shown or not, what was kept when a signal interrupts it.
import type { ProgressLine } from './backend.js'
import { formatBytes } from './format.js'
import { barShown, TransferBar } from './progress.js'
import { note, onInterrupt } from './run.js'

type Phase = 'waiting' | 'finding' | 'transfer' | 'ended'

/** Follows a fetch's progress lines (the same from the daemon as from a node in this process). */
export class FetchProgress {
  private phase: Phase = 'waiting'
  private bar: TransferBar | undefined
  private found = 0
  /** Providers in the session now. */
  private peers = 0
  private total: number | undefined
  /** Bytes written out in order: of the files finished, and of the one being written. */
  private finishedFiles = 0
  private current = 0
  /** Bytes of the blocks that arrived in this run, each stored before it was counted. */
  private received = 0
  private findingLine = ''

  constructor (private readonly shown: boolean) {}

  readonly onProgress = (line: ProgressLine): void => {
    if (this.phase === 'ended') return
    switch (line.event) {
      case 'fetch:providers:searching': if (this.phase === 'waiting') this.phase = 'finding'; break
      case 'fetch:providers:found': this.found = line.detail.count; break
      case 'fetch:start': this.begin(line.detail.size); break
      case 'exchange:session:provider': this.peers = Math.max(0, this.peers + (line.detail.status === 'joined' ? 1 : -1)); break
      case 'exchange:session:block': this.received += line.detail.bytes; break
      case 'files:export:progress': this.exported(line.detail.bytes, line.detail.total); break
      default: return
    }
    this.draw()
  }

  /** The fetch succeeded: the bar's last frame at 100 %. */
  complete (): void {
    if (this.phase === 'ended') return
    this.bar?.complete()
    this.end()
  }

  /** The fetch failed or was interrupted: the bar (or the line) ends where it was. */
  stop (): void {
    if (this.phase === 'ended') return
    this.bar?.stop()
    this.end()
  }

  /** What an interrupted fetch leaves in the repo, and that running it again resumes. */
  keptText (): string {
    if (this.total === undefined) return 'interrupted while finding providers; run the same command again to retry'
    return `kept ${formatBytes(this.kept())} of ${formatBytes(this.total)} in the repo; run the same command again to resume`
  }

  /**
   * Bytes of the root the repo holds at least: every byte written out was read from the repo
   * or stored before it was written, and every block counted as received was stored first.
   * Through the daemon some block lines are left out (at most ten a second go out), so this
   * is a lower bound, as is the bar (the blocks of an earlier run count once written out).
   */
  private kept (): number {
    return Math.min(this.total ?? 0, Math.max(this.writtenOut(), this.received))
  }

  private begin (size: number): void {
    this.total = size
    if (this.shown) {
      this.clearLine()
      this.bar = new TransferBar('fetching')
      this.bar.start(size, this.peers)
    }
    this.phase = 'transfer'
  }

  /** A file's export counts from 0 to its own size; a tree's files come one after another. */
  private exported (bytes: number, total: number): void {
    if (bytes >= total) {
      this.finishedFiles += total
      this.current = 0
    } else {
      this.current = bytes
    }
  }

  private writtenOut (): number {
    return this.finishedFiles + this.current
  }

  private draw (): void {
    if (!this.shown) return
    if (this.phase === 'finding') {
      const line = `finding providers… ${this.found} found`
      if (line !== this.findingLine) process.stderr.write(`\r\x1b[K${line}`)
      this.findingLine = line
      return
    }
    this.bar?.update(this.kept(), this.peers)
  }

  private end (): void {
    if (this.shown && this.phase === 'finding') process.stderr.write('\n')
    this.phase = 'ended'
  }

  private clearLine (): void {
    if (this.phase === 'finding') process.stderr.write('\r\x1b[K')
  }
}

/**
 * Fetches with the provider line and the bar when `wanted` and on a terminal; a signal ends
 * them and says what the repo kept.
 */
export async function fetchWithProgress<T> (wanted: boolean, fetch: (onProgress: (line: ProgressLine) => void) => Promise<T>): Promise<T> {
  const progress = new FetchProgress(barShown(wanted))
  const forget = onInterrupt(() => {
    progress.stop()
    note(progress.keptText())
  })
  try {
    const result = await fetch(progress.onProgress)
    progress.complete()
    return result
  } finally {
    progress.stop()
    forget()
  }
}
