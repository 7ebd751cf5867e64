// The progress bar of a transfer (add, fetch) on standard error: bytes done of the total, the
// rate, the time left and (fetch) the peers. Only on a terminal: output piped or captured
// stays clean. Every frame is made to fit the terminal's width as it is when drawn, so a
// resized window gets a fitting bar at the next frame; nothing is cut off by the terminal.
import cliProgress from 'cli-progress'
import { formatBytes } from './format.js'

/** Frames drawn per second at most (cli-progress draws on a timer and on updates). */
const FPS = 10

/** The rate shown is over the last this many ms: steady, yet quick to follow a change. */
const RATE_WINDOW = 5000

/** Narrowest bar drawn; below it the least useful fields are left out first. */
const MIN_BAR = 10

const FILLED = '\u2588'
const EMPTY = '\u2591'

/** What one frame shows. */
export interface Frame {
  label: string
  done: number
  total: number
  /** Bytes per second. */
  rate: number
  /** Seconds left, when a rate is known; with `elapsed` the transfer has ended. */
  eta?: number
  /** Seconds taken, shown instead of the time left once the transfer is complete. */
  elapsed?: number
  peers?: number
}

/**
 * One line of at most `width - 1` characters (the last column would make some terminals
 * wrap): label, bar, percentage, bytes, rate, time and peers. The bar takes what is left;
 * when that is under MIN_BAR characters the total, then the time, then the peers, then the
 * rate are left out, and as a last resort the line is cut.
 */
export function frameLine (f: Frame, width: number): string {
  const pct = f.total > 0 ? Math.min(100, Math.floor(f.done / f.total * 100)) : 100
  const time = f.elapsed !== undefined ? `in ${formatDuration(f.elapsed)}` : `ETA ${f.eta !== undefined && Number.isFinite(f.eta) ? formatDuration(f.eta) : '--'}`
  const fields = {
    pct: `${pct}%`,
    bytes: `${formatBytes(f.done)} of ${formatBytes(f.total)}`,
    rate: `${formatBytes(Math.round(f.rate))}/s`,
    time,
    peers: f.peers !== undefined ? `${f.peers} ${f.peers === 1 ? 'peer' : 'peers'}` : undefined
  }
  const room = Math.max(1, width - 1)
  const drops: Array<() => void> = [
    () => { fields.bytes = formatBytes(f.done) },
    () => { fields.time = '' },
    () => { fields.peers = undefined },
    () => { fields.rate = '' }
  ]
  let text = ''
  for (let i = 0; i <= drops.length; i++) {
    text = Object.values(fields).filter(v => v !== undefined && v !== '').join(' | ')
    if (f.label.length + text.length + 2 + MIN_BAR <= room || i === drops.length) break
    drops[i]()
  }
  const barSize = Math.max(MIN_BAR, room - f.label.length - text.length - 2)
  const filled = Math.round(barSize * pct / 100)
  return `${f.label} ${FILLED.repeat(filled)}${EMPTY.repeat(barSize - filled)} ${text}`.slice(0, room)
}

/** "4s", "1m05s", "2h03m". */
export function formatDuration (seconds: number): string {
  const s = Math.max(0, Math.round(seconds))
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`
}

/** Bytes per second over the last RATE_WINDOW ms, from samples at most one per frame. */
class RateMeter {
  private readonly samples: Array<{ t: number, bytes: number }> = []
  constructor (private readonly started: number) {}

  add (bytes: number, now: number): void {
    const last = this.samples.at(-1)
    if (last !== undefined && now - last.t < 1000 / FPS) { last.bytes = bytes; return }
    this.samples.push({ t: now, bytes })
    while (this.samples.length > 2 && now - this.samples[1].t > RATE_WINDOW) this.samples.shift()
  }

  rate (now: number): number {
    const first = this.samples[0]
    const last = this.samples.at(-1)
    // Until the window has a second of history, the average since the start says more.
    if (first === undefined || last === undefined || last.t - first.t < 1000) return (last?.bytes ?? 0) / Math.max(0.001, (now - this.started) / 1000)
    return (last.bytes - first.bytes) / ((last.t - first.t) / 1000)
  }
}

export class TransferBar {
  private readonly bar: cliProgress.SingleBar
  private started = Date.now()
  private meter = new RateMeter(this.started)
  private total = 0
  private done = 0
  private peers: number | undefined
  private ended: number | undefined

  constructor (private readonly label: string) {
    this.bar = new cliProgress.SingleBar({
      format: (_options, params) => frameLine(this.frame(), params.maxWidth),
      fps: FPS,
      // The line fits the width already: the terminal must not be told to stop wrapping,
      // which cut off the end of a line too long for it.
      linewrap: true,
      hideCursor: true,
      stream: process.stderr
    })
  }

  start (total: number, peers?: number): void {
    this.started = Date.now()
    this.meter = new RateMeter(this.started)
    this.total = total
    this.peers = peers
    this.bar.start(Math.max(1, total), 0)
  }

  update (done: number, peers?: number): void {
    if (this.ended !== undefined) return
    this.done = Math.min(done, this.total)
    if (peers !== undefined) this.peers = peers
    this.meter.add(this.done, Date.now())
    this.bar.update(this.done)
  }

  /** Draws the last frame at 100 %, with the average rate and the time taken, and ends the line. */
  complete (): void {
    if (this.ended !== undefined) return
    this.done = this.total
    this.ended = Date.now()
    this.bar.update(Math.max(1, this.total))
    this.bar.stop()
  }

  /** Ends the bar's line where it is (again is harmless), so what follows on stderr starts on its own. */
  stop (): void {
    this.ended ??= Date.now()
    this.bar.stop()
  }

  private frame (): Frame {
    const now = this.ended ?? Date.now()
    const complete = this.ended !== undefined && this.done >= this.total
    const elapsed = (now - this.started) / 1000
    const rate = complete ? this.total / Math.max(0.001, elapsed) : this.meter.rate(now)
    return {
      label: this.label,
      done: this.done,
      total: this.total,
      rate,
      // A first second's rate is mostly the start-up (the root, the first requests): no guess yet.
      eta: rate > 0 && elapsed >= 1 ? (this.total - this.done) / rate : undefined,
      elapsed: complete ? elapsed : undefined,
      peers: this.peers
    }
  }
}

/** Whether a bar the command wants (not with --json or --quiet) is shown: on a terminal only. */
export function barShown (wanted: boolean): boolean {
  return wanted && process.stderr.isTTY
}
