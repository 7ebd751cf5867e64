// GF(2^8) dot product, AVX2: split-nibble table lookups with VPSHUFB, 32 bytes a step.
#include <immintrin.h>

#include "gf256_lanes.h"

namespace peerlink {
namespace gf256 {
namespace {

struct Avx2 {
  using V = __m256i;
  struct X { V lo, hi; };
  struct Coef { V lo, hi; };
  static constexpr size_t kWidth = 32;
  static constexpr size_t kGroup = 4;
  static constexpr size_t kUnroll = 1;
  static V zero() { return _mm256_setzero_si256(); }
  static V load(const uint8_t *p) { return _mm256_loadu_si256(reinterpret_cast<const V *>(p)); }
  static void store(uint8_t *p, V v) { _mm256_storeu_si256(reinterpret_cast<V *>(p), v); }
  static V xor_(V a, V b) { return _mm256_xor_si256(a, b); }
  static Coef prepare(uint8_t c) {
    alignas(32) uint8_t lo[32], hi[32];
    for (int n = 0; n < 16; n++) {
      lo[n] = lo[n + 16] = gf256::mul(c, static_cast<uint8_t>(n));
      hi[n] = hi[n + 16] = gf256::mul(c, static_cast<uint8_t>(n << 4));
    }
    return {_mm256_load_si256(reinterpret_cast<const V *>(lo)), _mm256_load_si256(reinterpret_cast<const V *>(hi))};
  }
  static X prepare_x(V v) {
    const V mask = _mm256_set1_epi8(0x0f);
    return {_mm256_and_si256(v, mask), _mm256_and_si256(_mm256_srli_epi16(v, 4), mask)};
  }
  static V mul(const Coef &c, const X &x) {
    return _mm256_xor_si256(_mm256_shuffle_epi8(c.lo, x.lo), _mm256_shuffle_epi8(c.hi, x.hi));
  }
};

}  // namespace

void dot_avx2(const uint8_t *coefs, size_t rows, size_t cols, const uint8_t *const *in,
              uint8_t *const *out, size_t begin, size_t end) {
  dot_impl<Avx2>(coefs, rows, cols, in, out, begin, end);
}

}  // namespace gf256
}  // namespace peerlink
