// One object in place of another for a libp2p service: some methods or parts replaced, the
// rest passed through. How PeerLink changes what a stock service sees without forking it.

/**
 * `target` as a service sees it: `methods` in place of its own, `parts` in place of its
 * properties, and everything else its own (methods bound to it).
 */
export function overriding<T extends object> (target: T, methods: Record<string, (...args: any[]) => unknown>, parts: Record<string, unknown> = {}): T {
  return new Proxy(target, {
    get (t: any, prop) {
      if (typeof prop === 'string' && prop in methods) return methods[prop]
      if (typeof prop === 'string' && prop in parts) return parts[prop]
      const value = t[prop]
      return typeof value === 'function' ? value.bind(t) : value
    }
  })
}
