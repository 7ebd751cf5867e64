// BLAKE3, 16 lanes of AVX-512F. Compiled with -mavx512f -mavx512vl only; run only when the
// CPU and OS have them. AVX-512 has a native 32-bit rotate, so every rotation is one op.
#include <immintrin.h>

#include "blake3_lanes.h"

namespace peerlink {
namespace blake3 {
namespace {

struct Avx512 {
  using V = __m512i;
  static constexpr size_t kLanes = 16;
  static V add(V a, V b) { return _mm512_add_epi32(a, b); }
  static V xor_(V a, V b) { return _mm512_xor_si512(a, b); }
  static V set1(uint32_t x) { return _mm512_set1_epi32(static_cast<int>(x)); }
  static V loadu(const uint32_t *p) { return _mm512_loadu_si512(p); }
  static void storeu(uint32_t *p, V x) { _mm512_storeu_si512(p, x); }
  static V rot16(V x) { return _mm512_ror_epi32(x, 16); }
  static V rot12(V x) { return _mm512_ror_epi32(x, 12); }
  static V rot8(V x) { return _mm512_ror_epi32(x, 8); }
  static V rot7(V x) { return _mm512_ror_epi32(x, 7); }

  // One 16x16 dword transpose: m[j] = word j of lanes 0..15.
  static void load_msg(const uint8_t *const *in, size_t off, V m[16]) {
    V r[16];
    for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_si512(in[i] + off);
    // Groups of four rows: t[g][c] holds, in its 128-bit lane k, column (4k + c) of rows
    // 4g..4g+3.
    V t[4][4];
    for (int g = 0; g < 4; g++) {
      V a0 = _mm512_unpacklo_epi32(r[4 * g], r[4 * g + 1]);
      V b0 = _mm512_unpackhi_epi32(r[4 * g], r[4 * g + 1]);
      V a1 = _mm512_unpacklo_epi32(r[4 * g + 2], r[4 * g + 3]);
      V b1 = _mm512_unpackhi_epi32(r[4 * g + 2], r[4 * g + 3]);
      t[g][0] = _mm512_unpacklo_epi64(a0, a1);
      t[g][1] = _mm512_unpackhi_epi64(a0, a1);
      t[g][2] = _mm512_unpacklo_epi64(b0, b1);
      t[g][3] = _mm512_unpackhi_epi64(b0, b1);
    }
    // A 4x4 transpose of 128-bit lanes across the four groups, for each c.
    for (int c = 0; c < 4; c++) {
      V p = _mm512_shuffle_i32x4(t[0][c], t[1][c], 0x44);  // t0.l0 t0.l1 t1.l0 t1.l1
      V q = _mm512_shuffle_i32x4(t[0][c], t[1][c], 0xEE);  // t0.l2 t0.l3 t1.l2 t1.l3
      V s = _mm512_shuffle_i32x4(t[2][c], t[3][c], 0x44);
      V u = _mm512_shuffle_i32x4(t[2][c], t[3][c], 0xEE);
      m[0 + c] = _mm512_shuffle_i32x4(p, s, 0x88);   // lane 0 of every group
      m[4 + c] = _mm512_shuffle_i32x4(p, s, 0xDD);   // lane 1
      m[8 + c] = _mm512_shuffle_i32x4(q, u, 0x88);   // lane 2
      m[12 + c] = _mm512_shuffle_i32x4(q, u, 0xDD);  // lane 3
    }
  }
};

}  // namespace

void hash_lanes_avx512(const uint8_t *const *inputs, size_t blocks, const uint32_t key[8],
                       uint64_t counter, bool increment, uint8_t flags, uint8_t flags_start,
                       uint8_t flags_end, uint8_t *out) {
  hash_lanes_impl<Avx512>(inputs, blocks, key, counter, increment, flags, flags_start, flags_end,
                          out);
}

}  // namespace blake3
}  // namespace peerlink
