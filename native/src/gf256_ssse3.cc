// GF(2^8) dot product, SSSE3: split-nibble table lookups with PSHUFB, 16 bytes a step.
#include <immintrin.h>

#include "gf256_lanes.h"

namespace peerlink {
namespace gf256 {
namespace {

struct Ssse3 {
  using V = __m128i;
  struct X { V lo, hi; };
  struct Coef { V lo, hi; };
  static constexpr size_t kWidth = 16;
  static constexpr size_t kGroup = 4;
  static constexpr size_t kUnroll = 1;
  static V zero() { return _mm_setzero_si128(); }
  static V load(const uint8_t *p) { return _mm_loadu_si128(reinterpret_cast<const V *>(p)); }
  static void store(uint8_t *p, V v) { _mm_storeu_si128(reinterpret_cast<V *>(p), v); }
  static V xor_(V a, V b) { return _mm_xor_si128(a, b); }
  static Coef prepare(uint8_t c) {
    alignas(16) uint8_t lo[16], hi[16];
    for (int n = 0; n < 16; n++) {
      lo[n] = gf256::mul(c, static_cast<uint8_t>(n));
      hi[n] = gf256::mul(c, static_cast<uint8_t>(n << 4));
    }
    return {_mm_load_si128(reinterpret_cast<const V *>(lo)), _mm_load_si128(reinterpret_cast<const V *>(hi))};
  }
  static X prepare_x(V v) {
    const V mask = _mm_set1_epi8(0x0f);
    return {_mm_and_si128(v, mask), _mm_and_si128(_mm_srli_epi16(v, 4), mask)};
  }
  static V mul(const Coef &c, const X &x) {
    return _mm_xor_si128(_mm_shuffle_epi8(c.lo, x.lo), _mm_shuffle_epi8(c.hi, x.hi));
  }
};

}  // namespace

void dot_ssse3(const uint8_t *coefs, size_t rows, size_t cols, const uint8_t *const *in,
               uint8_t *const *out, size_t begin, size_t end) {
  dot_impl<Ssse3>(coefs, rows, cols, in, out, begin, end);
}

}  // namespace gf256
}  // namespace peerlink
