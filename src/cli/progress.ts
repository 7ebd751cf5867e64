// The progress bar of a transfer (add, fetch) on standard error: bytes done of the total, and
// the rate since the bar was made. Only on a terminal: output piped or captured stays clean.
import cliProgress from 'cli-progress'
import { formatBytes } from './format.js'

/** Extra fields a bar's format may show beside the bytes and the rate (fetch: peers). */
type Payload = Record<string, string | number>

export class TransferBar {
  private readonly bar: cliProgress.SingleBar
  private readonly started = Date.now()

  /** `label` opens the line; `suffix` adds fields of the payload after the rate. */
  constructor (label: string, suffix = '') {
    this.bar = new cliProgress.SingleBar({
      format: `${label} {bar} {percentage}% | {done} of {total_h} | {rate}${suffix}`,
      hideCursor: true,
      stream: process.stderr
    }, cliProgress.Presets.shades_classic)
  }

  start (total: number, payload: Payload = {}): void {
    this.bar.start(Math.max(1, total), 0, { done: formatBytes(0), total_h: formatBytes(total), rate: '', ...payload })
  }

  update (done: number, payload: Payload = {}): void {
    const rate = done / Math.max(0.001, (Date.now() - this.started) / 1000)
    this.bar.update(done, { done: formatBytes(done), rate: `${formatBytes(rate)}/s`, ...payload })
  }

  /** Ends the bar's line (again is harmless), so what follows on stderr starts on its own. */
  stop (): void {
    this.bar.stop()
  }
}

/** Whether a bar the command wants (not with --json or --quiet) is shown: on a terminal only. */
export function barShown (wanted: boolean): boolean {
  return wanted && process.stderr.isTTY
}

export function transferBar (label: string, wanted: boolean, suffix?: string): TransferBar | undefined {
  return barShown(wanted) ? new TransferBar(label, suffix) : undefined
}
