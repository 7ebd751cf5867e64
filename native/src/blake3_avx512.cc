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

  static V even(V a, V b) {
    return _mm512_permutex2var_epi32(
        a, _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30), b);
  }
  static V odd(V a, V b) {
    return _mm512_permutex2var_epi32(
        a, _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31), b);
  }

  // An 8x16 dword transpose: unpacks gather words 0..3 and 4..7 of lane 4k + j into
  // 128-bit lane k of a[j] and b[j]; then each lane's two halves are paired and stored.
  static void store_cvs(const V h[8], uint8_t *out) {
    V a[4], b[4];
    for (int half = 0; half < 2; half++) {
      const V *w = h + 4 * half;
      V *d = half ? b : a;
      const V t0 = _mm512_unpacklo_epi32(w[0], w[1]), t1 = _mm512_unpackhi_epi32(w[0], w[1]);
      const V t2 = _mm512_unpacklo_epi32(w[2], w[3]), t3 = _mm512_unpackhi_epi32(w[2], w[3]);
      d[0] = _mm512_unpacklo_epi64(t0, t2);
      d[1] = _mm512_unpackhi_epi64(t0, t2);
      d[2] = _mm512_unpacklo_epi64(t1, t3);
      d[3] = _mm512_unpackhi_epi64(t1, t3);
    }
    for (int j = 0; j < 4; j++) {
      // [a.l0 b.l0 a.l1 b.l1] is lanes j and 4 + j; [a.l2 b.l2 a.l3 b.l3], 8 + j and 12 + j.
      for (int k = 0; k < 4; k += 2) {
        const V x = _mm512_shuffle_i32x4(a[j], b[j], k ? 0xEE : 0x44);
        const V y = _mm512_shuffle_i32x4(x, x, 0xD8);
        _mm256_storeu_si256(reinterpret_cast<__m256i *>(out + (4 * k + j) * kOutLen),
                            _mm512_castsi512_si256(y));
        _mm256_storeu_si256(reinterpret_cast<__m256i *>(out + (4 * k + 4 + j) * kOutLen),
                            _mm512_extracti64x4_epi64(y, 1));
      }
    }
  }

  // One 16x16 dword transpose in eight steps: m[j] = word j of lanes 0..15. Steps 0..3 each
  // interleave the rows of one group of four; steps 4..7 each gather one column of 128-bit
  // lanes across the groups. The row steps sit in the first rounds, the column steps after
  // them; other spreads measured the same within noise, all about 9% above no pipelining.
  static constexpr int kMsgSteps = 8;
  static constexpr int kMsgStepAfter[kMsgSteps] = {0, 2, 4, 6, 8, 9, 10, 11};
  static void load_msg_step(const uint8_t *const *in, size_t off, int step, V t[16], V m[16]) {
    if (step < 4) {
      // t[4g + c] holds, in its 128-bit lane k, column (4k + c) of rows 4g..4g+3.
      const int g = step;
      const V r0 = _mm512_loadu_si512(in[4 * g] + off);
      const V r1 = _mm512_loadu_si512(in[4 * g + 1] + off);
      const V r2 = _mm512_loadu_si512(in[4 * g + 2] + off);
      const V r3 = _mm512_loadu_si512(in[4 * g + 3] + off);
      const V a0 = _mm512_unpacklo_epi32(r0, r1), b0 = _mm512_unpackhi_epi32(r0, r1);
      const V a1 = _mm512_unpacklo_epi32(r2, r3), b1 = _mm512_unpackhi_epi32(r2, r3);
      t[4 * g + 0] = _mm512_unpacklo_epi64(a0, a1);
      t[4 * g + 1] = _mm512_unpackhi_epi64(a0, a1);
      t[4 * g + 2] = _mm512_unpacklo_epi64(b0, b1);
      t[4 * g + 3] = _mm512_unpackhi_epi64(b0, b1);
      return;
    }
    // A 4x4 transpose of 128-bit lanes across the four groups, for column c.
    const int c = step - 4;
    const V p = _mm512_shuffle_i32x4(t[c], t[4 + c], 0x44);  // t0.l0 t0.l1 t1.l0 t1.l1
    const V q = _mm512_shuffle_i32x4(t[c], t[4 + c], 0xEE);  // t0.l2 t0.l3 t1.l2 t1.l3
    const V s = _mm512_shuffle_i32x4(t[8 + c], t[12 + c], 0x44);
    const V u = _mm512_shuffle_i32x4(t[8 + c], t[12 + c], 0xEE);
    m[0 + c] = _mm512_shuffle_i32x4(p, s, 0x88);   // lane 0 of every group
    m[4 + c] = _mm512_shuffle_i32x4(p, s, 0xDD);   // lane 1
    m[8 + c] = _mm512_shuffle_i32x4(q, u, 0x88);   // lane 2
    m[12 + c] = _mm512_shuffle_i32x4(q, u, 0xDD);  // lane 3
  }
};

}  // namespace

void hash_lanes_avx512(const uint8_t *const *inputs, size_t blocks, const uint32_t key[8],
                       uint64_t counter, bool increment, uint8_t flags, uint8_t flags_start,
                       uint8_t flags_end, uint8_t *out) {
  hash_lanes_impl<Avx512>(inputs, blocks, key, counter, increment, flags, flags_start, flags_end,
                          out);
}

void chunks_wide_avx512(const uint8_t *in, uint64_t counter, uint32_t *out) {
  chunks_wide_impl<Avx512>(in, counter, out);
}

void parents_wide_avx512(const uint32_t *left, const uint32_t *right, uint32_t *out) {
  parents_wide_impl<Avx512>(left, right, out);
}

}  // namespace blake3
}  // namespace peerlink
