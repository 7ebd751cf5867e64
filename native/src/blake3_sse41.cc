// BLAKE3, 4 lanes of SSE4.1. Compiled with -msse4.1 only; run only when the CPU has it.
#include <immintrin.h>

#include "blake3_lanes.h"

namespace peerlink {
namespace blake3 {
namespace {

struct Sse41 {
  using V = __m128i;
  static constexpr size_t kLanes = 4;
  static V add(V a, V b) { return _mm_add_epi32(a, b); }
  static V xor_(V a, V b) { return _mm_xor_si128(a, b); }
  static V set1(uint32_t x) { return _mm_set1_epi32(static_cast<int>(x)); }
  static V loadu(const uint32_t *p) { return _mm_loadu_si128(reinterpret_cast<const V *>(p)); }
  static void storeu(uint32_t *p, V x) { _mm_storeu_si128(reinterpret_cast<V *>(p), x); }
  // Byte-granular rotations are one shuffle; the others are two shifts and an or.
  static V rot16(V x) {
    return _mm_shuffle_epi8(x, _mm_set_epi8(13, 12, 15, 14, 9, 8, 11, 10, 5, 4, 7, 6, 1, 0, 3, 2));
  }
  static V rot8(V x) {
    return _mm_shuffle_epi8(x, _mm_set_epi8(12, 15, 14, 13, 8, 11, 10, 9, 4, 7, 6, 5, 0, 3, 2, 1));
  }
  static V rot12(V x) { return _mm_or_si128(_mm_srli_epi32(x, 12), _mm_slli_epi32(x, 20)); }
  static V rot7(V x) { return _mm_or_si128(_mm_srli_epi32(x, 7), _mm_slli_epi32(x, 25)); }

  static V even(V a, V b) {
    return _mm_castps_si128(_mm_shuffle_ps(_mm_castsi128_ps(a), _mm_castsi128_ps(b), 0x88));
  }
  static V odd(V a, V b) {
    return _mm_castps_si128(_mm_shuffle_ps(_mm_castsi128_ps(a), _mm_castsi128_ps(b), 0xDD));
  }
  static void store_cvs(const V h[8], uint8_t *out) { store_cvs_by_word<Sse41>(h, out); }

  // Four 4x4 transposes, one a step: m[4g + j] = word (4g + j) of lanes 0..3.
  static constexpr int kMsgSteps = 4;
  static constexpr int kMsgStepAfter[kMsgSteps] = {0, 3, 6, 9};
  static void load_msg_step(const uint8_t *const *in, size_t off, int g, V *, V m[16]) {
    V r0 = _mm_loadu_si128(reinterpret_cast<const V *>(in[0] + off + 16 * g));
    V r1 = _mm_loadu_si128(reinterpret_cast<const V *>(in[1] + off + 16 * g));
    V r2 = _mm_loadu_si128(reinterpret_cast<const V *>(in[2] + off + 16 * g));
    V r3 = _mm_loadu_si128(reinterpret_cast<const V *>(in[3] + off + 16 * g));
    V a0 = _mm_unpacklo_epi32(r0, r1), a1 = _mm_unpackhi_epi32(r0, r1);
    V b0 = _mm_unpacklo_epi32(r2, r3), b1 = _mm_unpackhi_epi32(r2, r3);
    m[4 * g + 0] = _mm_unpacklo_epi64(a0, b0);
    m[4 * g + 1] = _mm_unpackhi_epi64(a0, b0);
    m[4 * g + 2] = _mm_unpacklo_epi64(a1, b1);
    m[4 * g + 3] = _mm_unpackhi_epi64(a1, b1);
  }
};

}  // namespace

void hash_lanes_sse41(const uint8_t *const *inputs, size_t blocks, const uint32_t key[8],
                      uint64_t counter, bool increment, uint8_t flags, uint8_t flags_start,
                      uint8_t flags_end, uint8_t *out) {
  hash_lanes_impl<Sse41>(inputs, blocks, key, counter, increment, flags, flags_start, flags_end,
                         out);
}

void chunks_wide_sse41(const uint8_t *in, uint64_t counter, uint32_t *out) {
  chunks_wide_impl<Sse41>(in, counter, out);
}

void parents_wide_sse41(const uint32_t *left, const uint32_t *right, uint32_t *out) {
  parents_wide_impl<Sse41>(left, right, out);
}

}  // namespace blake3
}  // namespace peerlink
