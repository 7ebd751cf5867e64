// Time as a fetch session sees it: injected, so a test can drive a session's timeouts and
// straggler races without waiting for them.
export interface Clock {
  /** Milliseconds since the epoch. */
  now: () => number
  /** Calls `fn` every `ms` until the returned function is called. */
  every: (ms: number, fn: () => void) => () => void
  /** Calls `fn` once after `ms`, unless the returned function is called first. */
  after: (ms: number, fn: () => void) => () => void
}

/** The real clock. Its timers do not keep the process alive. */
export const systemClock: Clock = {
  now: () => Date.now(),
  every (ms, fn) {
    const timer = setInterval(fn, ms)
    timer.unref()
    return () => { clearInterval(timer) }
  },
  after (ms, fn) {
    const timer = setTimeout(fn, ms)
    timer.unref()
    return () => { clearTimeout(timer) }
  }
}
