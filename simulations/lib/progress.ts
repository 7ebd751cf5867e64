// One progress line on stderr, rewritten in place on a terminal and printed at most every
// few seconds otherwise (CI logs stay short).
export class Progress {
  private last = 0
  private readonly started = Date.now()

  constructor (private readonly scenario: string, private readonly quiet = false) {}

  update (text: string, force = false): void {
    if (this.quiet) return
    const now = Date.now()
    const line = `[${this.scenario} ${((now - this.started) / 1000).toFixed(1)} s] ${text}`
    if (process.stderr.isTTY) {
      process.stderr.write(`\r\x1b[K${line}`)
    } else if (force || now - this.last > 5000) {
      process.stderr.write(line + '\n')
      this.last = now
    }
  }

  done (text: string): void {
    if (this.quiet) return
    if (process.stderr.isTTY) process.stderr.write('\r\x1b[K')
    process.stderr.write(`[${this.scenario} ${((Date.now() - this.started) / 1000).toFixed(1)} s] ${text}\n`)
  }
}
