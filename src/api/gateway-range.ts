// The byte range a gateway request asks for (RFC 9110 §14.2). One range is served as asked;
// a request for several is answered with the whole file (200), as the RFC allows, since a
// multipart reply would buy players nothing (they ask for one range at a time).
import { RangeNotSatisfiableError } from '../errors.js'

export interface ByteRange {
  start: number
  length: number
  /** Whether this is a part (206) or the whole file (200). */
  partial: boolean
}

/** The range a Range header asks of a file of `size` bytes; unsatisfiable → RangeNotSatisfiableError (416). */
export function byteRange (header: string | undefined, size: number): ByteRange {
  const whole = { start: 0, length: size, partial: false }
  // Another unit, or a header that is no byte range at all, is ignored (RFC 9110 §14.2).
  const m = /^\s*bytes\s*=\s*(.*)$/i.exec(header ?? '')
  if (m === null || m[1].includes(',')) return whole
  const r = /^(\d*)\s*-\s*(\d*)\s*$/.exec(m[1])
  if (r === null || (r[1] === '' && r[2] === '')) return whole
  let start: number
  let end: number
  if (r[1] === '') {
    // bytes=-n: the last n bytes.
    const n = Number(r[2])
    if (n === 0 || size === 0) throw new RangeNotSatisfiableError(header ?? '', size)
    start = Math.max(0, size - n)
    end = size - 1
  } else {
    start = Number(r[1])
    end = r[2] === '' ? size - 1 : Math.min(Number(r[2]), size - 1)
    if (start >= size || Number(r[2] === '' ? start : r[2]) < start) throw new RangeNotSatisfiableError(header ?? '', size)
  }
  return { start, length: end - start + 1, partial: true }
}
