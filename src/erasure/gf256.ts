// GF(2^8) with polynomial 0x11d in TypeScript: set-up arithmetic for coding matrices, and
// the multiplication table the JS fallback core uses. Matches native/src/gf256_portable.cc.

export const POLY = 0x11d

const EXP = new Uint8Array(512)
const LOG = new Uint8Array(256)
{
  let x = 1
  for (let i = 0; i < 255; i++) {
    EXP[i] = x
    LOG[x] = i
    x <<= 1
    if ((x & 0x100) !== 0) x ^= POLY
  }
  for (let i = 255; i < 512; i++) EXP[i] = EXP[i - 255]
}

/** MUL_TABLE[a * 256 + b] = a * b. */
export const MUL_TABLE = new Uint8Array(65536)
for (let a = 1; a < 256; a++) {
  for (let b = 1; b < 256; b++) MUL_TABLE[a * 256 + b] = EXP[LOG[a] + LOG[b]]
}

export function mul (a: number, b: number): number {
  return MUL_TABLE[(a << 8) | b]
}

export function inv (a: number): number {
  if (a === 0) throw new RangeError('0 has no inverse in GF(2^8)')
  return EXP[255 - LOG[a]]
}

/**
 * The m x k Cauchy matrix 1 / (x_i + y_j) with y_j = j and x_i = k + 1 + i. Every square
 * submatrix of a Cauchy matrix is invertible, so identity-over-Cauchy is MDS: any k rows of
 * the (k + m) x k generator rebuild the data.
 *
 * x starts at k + 1, not k, so that no coefficient is 1 when k = 1: a one-chunk stripe's
 * parity would otherwise include a byte-for-byte copy of the chunk, which content addressing
 * stores once, silently losing one block of redundancy.
 */
export function cauchy (k: number, m: number): Uint8Array {
  const c = new Uint8Array(m * k)
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < k; j++) c[i * k + j] = inv((k + 1 + i) ^ j)
  }
  return c
}

/** Inverse of an n x n matrix (row-major) by Gauss-Jordan elimination. */
export function invert (matrix: Uint8Array, n: number): Uint8Array {
  const a = Uint8Array.from(matrix)
  const out = new Uint8Array(n * n)
  for (let i = 0; i < n; i++) out[i * n + i] = 1
  for (let col = 0; col < n; col++) {
    let pivot = col
    while (pivot < n && a[pivot * n + col] === 0) pivot++
    if (pivot === n) throw new RangeError('matrix is singular')
    if (pivot !== col) {
      for (let j = 0; j < n; j++) {
        [a[col * n + j], a[pivot * n + j]] = [a[pivot * n + j], a[col * n + j]];
        [out[col * n + j], out[pivot * n + j]] = [out[pivot * n + j], out[col * n + j]]
      }
    }
    const f = inv(a[col * n + col])
    for (let j = 0; j < n; j++) {
      a[col * n + j] = mul(a[col * n + j], f)
      out[col * n + j] = mul(out[col * n + j], f)
    }
    for (let r = 0; r < n; r++) {
      const g = a[r * n + col]
      if (r === col || g === 0) continue
      for (let j = 0; j < n; j++) {
        a[r * n + j] ^= mul(g, a[col * n + j])
        out[r * n + j] ^= mul(g, out[col * n + j])
      }
    }
  }
  return out
}

/** (rows x inner) times (inner x cols). */
export function multiply (a: Uint8Array, b: Uint8Array, rows: number, inner: number, cols: number): Uint8Array {
  const out = new Uint8Array(rows * cols)
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      let acc = 0
      for (let i = 0; i < inner; i++) acc ^= mul(a[r * inner + i], b[i * cols + c])
      out[r * cols + c] = acc
    }
  }
  return out
}
