// Numbers as the page shows them.
const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB']

export function bytes (n: number): string {
  let i = 0
  while (n >= 1024 && i < UNITS.length - 1) { n /= 1024; i++ }
  return `${i === 0 ? n : n.toFixed(1)} ${UNITS[i]}`
}

export function rate (bytesPerSecond: number): string {
  return `${bytes(Math.round(bytesPerSecond))}/s`
}

/** Time left at the current rate; '' when it cannot be told yet. */
export function eta (left: number, bytesPerSecond: number): string {
  if (bytesPerSecond <= 0 || left <= 0) return ''
  const s = Math.ceil(left / bytesPerSecond)
  return s < 60 ? `${s} s` : s < 3600 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${Math.floor(s / 3600)} h ${Math.floor(s % 3600 / 60)} min`
}

export function short (id: string): string {
  return id.length > 16 ? `${id.slice(0, 8)}…${id.slice(-6)}` : id
}

export function plural (n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`
}
