// A WebM file from encoded VP8 frames (Chromium's VideoEncoder makes them in a test), with
// what a player needs to seek without reading the file from the start: the duration, and a
// cue per cluster (one cluster per key frame) placed before the clusters. Every element's
// size and every position take 8 bytes, so the layout is known before the cues are filled in.

export interface EncodedFrame {
  /** Microseconds from the start. */
  timestamp: number
  key: boolean
  data: Uint8Array
}

function uint (n: number, bytes = 8): Buffer {
  const b = Buffer.alloc(bytes)
  b.writeUIntBE(n, bytes - Math.min(bytes, 6), Math.min(bytes, 6))
  return b
}

function el (id: number, ...payload: Uint8Array[]): Buffer {
  const body = Buffer.concat(payload)
  // Element ids are whole bytes with their length marker in them (0xA3, 0x1A45DFA3).
  const idBytes = Buffer.from(id.toString(16), 'hex')
  const size = Buffer.alloc(8)
  size.writeUIntBE(body.byteLength, 2, 6)
  size[0] = 0x01 // an 8-byte size
  return Buffer.concat([idBytes, size, body])
}

const text = (s: string): Buffer => Buffer.from(s, 'utf8')

function float64 (x: number): Buffer {
  const b = Buffer.alloc(8)
  b.writeDoubleBE(x)
  return b
}

/** The frames as one WebM file (VP8, TimecodeScale 1 ms); the first frame must be a key frame. */
export function muxWebm (frames: EncodedFrame[], width: number, height: number, frameMs: number): Buffer {
  const groups: EncodedFrame[][] = []
  for (const f of frames) {
    if (f.key || groups.length === 0) groups.push([])
    groups[groups.length - 1].push(f)
  }
  const clusters = groups.map((g) => {
    const start = Math.round(g[0].timestamp / 1000)
    const blocks = g.map((f) => {
      const head = Buffer.alloc(4)
      head[0] = 0x81 // track 1
      head.writeInt16BE(Math.round(f.timestamp / 1000) - start, 1)
      head[3] = f.key ? 0x80 : 0
      return el(0xA3, head, f.data)
    })
    return { start, bytes: el(0x1F43B675, el(0xE7, uint(start)), ...blocks) }
  })
  const durationMs = Math.round(frames[frames.length - 1].timestamp / 1000) + frameMs
  const info = el(0x1549A966, el(0x2AD7B1, uint(1_000_000)), el(0x4489, float64(durationMs)), el(0x4D80, text('peerlink-test')), el(0x5741, text('peerlink-test')))
  const tracks = el(0x1654AE6B, el(0xAE, el(0xD7, uint(1)), el(0x73C5, uint(1)), el(0x83, uint(1)), el(0x86, text('V_VP8')),
    el(0xE0, el(0xB0, uint(width)), el(0xBA, uint(height)))))
  const cues = (positions: number[]): Buffer => el(0x1C53BB6B, ...clusters.map((c, i) =>
    el(0xBB, el(0xB3, uint(c.start)), el(0xB7, el(0xF7, uint(1)), el(0xF1, uint(positions[i]))))))
  // Positions count from the start of the segment's content.
  let at = info.byteLength + tracks.byteLength + cues(clusters.map(() => 0)).byteLength
  const positions = clusters.map((c) => { const p = at; at += c.bytes.byteLength; return p })
  const header = el(0x1A45DFA3, el(0x4286, uint(1, 1)), el(0x42F7, uint(1, 1)), el(0x42F2, uint(4, 1)), el(0x42F3, uint(8, 1)),
    el(0x4282, text('webm')), el(0x4287, uint(2, 1)), el(0x4285, uint(2, 1)))
  return Buffer.concat([header, el(0x18538067, info, tracks, cues(positions), ...clusters.map(c => c.bytes))])
}
