/** How often a long operation's progress may go out on the API: at most ten lines a second. */
export const PROGRESS_INTERVAL = 100

/**
 * `send`, let through at most once per `intervalMs`; the others are dropped. An event for
 * which `always` says true goes out regardless (and starts the interval again): events that
 * change what a reader shows, as opposed to counting up.
 */
export function throttle<T> (intervalMs: number, send: (event: T) => void, always?: (event: T) => boolean): (event: T) => void {
  let last = 0
  return (event) => {
    const now = Date.now()
    if (always?.(event) !== true && now - last < intervalMs) return
    last = now
    send(event)
  }
}
