// BLAKE3, 8 lanes of AVX2. Compiled with -mavx2 only; run only when the CPU and OS have it.
#include <immintrin.h>

#include "blake3_lanes.h"

namespace peerlink {
namespace blake3 {
namespace {

struct Avx2 {
  using V = __m256i;
  static constexpr size_t kLanes = 8;
  static V add(V a, V b) { return _mm256_add_epi32(a, b); }
  static V xor_(V a, V b) { return _mm256_xor_si256(a, b); }
  static V set1(uint32_t x) { return _mm256_set1_epi32(static_cast<int>(x)); }
  static V loadu(const uint32_t *p) { return _mm256_loadu_si256(reinterpret_cast<const V *>(p)); }
  static void storeu(uint32_t *p, V x) { _mm256_storeu_si256(reinterpret_cast<V *>(p), x); }
  static V rot16(V x) {
    return _mm256_shuffle_epi8(
        x, _mm256_set_epi8(13, 12, 15, 14, 9, 8, 11, 10, 5, 4, 7, 6, 1, 0, 3, 2, 13, 12, 15, 14, 9,
                           8, 11, 10, 5, 4, 7, 6, 1, 0, 3, 2));
  }
  static V rot8(V x) {
    return _mm256_shuffle_epi8(
        x, _mm256_set_epi8(12, 15, 14, 13, 8, 11, 10, 9, 4, 7, 6, 5, 0, 3, 2, 1, 12, 15, 14, 13, 8,
                           11, 10, 9, 4, 7, 6, 5, 0, 3, 2, 1));
  }
  static V rot12(V x) { return _mm256_or_si256(_mm256_srli_epi32(x, 12), _mm256_slli_epi32(x, 20)); }
  static V rot7(V x) { return _mm256_or_si256(_mm256_srli_epi32(x, 7), _mm256_slli_epi32(x, 25)); }

  // Within each 128-bit half, then the middle qwords swapped into order.
  static V even(V a, V b) {
    const __m256 t = _mm256_shuffle_ps(_mm256_castsi256_ps(a), _mm256_castsi256_ps(b), 0x88);
    return _mm256_permute4x64_epi64(_mm256_castps_si256(t), 0xD8);
  }
  static V odd(V a, V b) {
    const __m256 t = _mm256_shuffle_ps(_mm256_castsi256_ps(a), _mm256_castsi256_ps(b), 0xDD);
    return _mm256_permute4x64_epi64(_mm256_castps_si256(t), 0xD8);
  }
  static void store_cvs(const V h[8], uint8_t *out) { store_cvs_by_word<Avx2>(h, out); }

  // Two 8x8 transposes, one a step: m[8h + j] = word (8h + j) of lanes 0..7.
  static constexpr int kMsgSteps = 2;
  static constexpr int kMsgStepAfter[kMsgSteps] = {1, 7};
  static void load_msg_step(const uint8_t *const *in, size_t off, int h, V *, V m[16]) {
    V r[8];
    for (int i = 0; i < 8; i++)
      r[i] = _mm256_loadu_si256(reinterpret_cast<const V *>(in[i] + off + 32 * h));
    // Within each 128-bit half: pairs of rows interleaved by dword, then by qword.
    V a0 = _mm256_unpacklo_epi32(r[0], r[1]), b0 = _mm256_unpackhi_epi32(r[0], r[1]);
    V a1 = _mm256_unpacklo_epi32(r[2], r[3]), b1 = _mm256_unpackhi_epi32(r[2], r[3]);
    V a2 = _mm256_unpacklo_epi32(r[4], r[5]), b2 = _mm256_unpackhi_epi32(r[4], r[5]);
    V a3 = _mm256_unpacklo_epi32(r[6], r[7]), b3 = _mm256_unpackhi_epi32(r[6], r[7]);
    // c_k: column (4*half + k) of rows 0..3; d_k: the same of rows 4..7.
    V c0 = _mm256_unpacklo_epi64(a0, a1), c1 = _mm256_unpackhi_epi64(a0, a1);
    V c2 = _mm256_unpacklo_epi64(b0, b1), c3 = _mm256_unpackhi_epi64(b0, b1);
    V d0 = _mm256_unpacklo_epi64(a2, a3), d1 = _mm256_unpackhi_epi64(a2, a3);
    V d2 = _mm256_unpacklo_epi64(b2, b3), d3 = _mm256_unpackhi_epi64(b2, b3);
    V *o = m + 8 * h;
    o[0] = _mm256_permute2x128_si256(c0, d0, 0x20);
    o[1] = _mm256_permute2x128_si256(c1, d1, 0x20);
    o[2] = _mm256_permute2x128_si256(c2, d2, 0x20);
    o[3] = _mm256_permute2x128_si256(c3, d3, 0x20);
    o[4] = _mm256_permute2x128_si256(c0, d0, 0x31);
    o[5] = _mm256_permute2x128_si256(c1, d1, 0x31);
    o[6] = _mm256_permute2x128_si256(c2, d2, 0x31);
    o[7] = _mm256_permute2x128_si256(c3, d3, 0x31);
  }
};

}  // namespace

void hash_lanes_avx2(const uint8_t *const *inputs, size_t blocks, const uint32_t key[8],
                     uint64_t counter, bool increment, uint8_t flags, uint8_t flags_start,
                     uint8_t flags_end, uint8_t *out) {
  hash_lanes_impl<Avx2>(inputs, blocks, key, counter, increment, flags, flags_start, flags_end,
                        out);
}

void chunks_wide_avx2(const uint8_t *in, uint64_t counter, uint32_t *out) {
  chunks_wide_impl<Avx2>(in, counter, out);
}

void parents_wide_avx2(const uint32_t *left, const uint32_t *right, uint32_t *out) {
  parents_wide_impl<Avx2>(left, right, out);
}

}  // namespace blake3
}  // namespace peerlink
