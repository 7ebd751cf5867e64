// GF(2^8) dot product, AVX-512 + GFNI: multiplying by a constant is linear over GF(2), so
// one GF2P8AFFINEQB with that constant's 8x8 bit matrix multiplies 64 bytes, whatever the
// field polynomial (the instruction's own GF2P8MULB is fixed to AES's 0x11b, not ours).
#include <immintrin.h>

#include "gf256_lanes.h"

namespace peerlink {
namespace gf256 {
namespace {

struct Gfni {
  using V = __m512i;
  using X = __m512i;
  struct Coef { uint64_t matrix; };
  static constexpr size_t kWidth = 64;
  static constexpr size_t kGroup = 4;
  // Two vectors per step: eight independent accumulator chains for four outputs hide the
  // affine multiply's latency, as ISA-L's unrolled GFNI kernels do.
  static constexpr size_t kUnroll = 2;
  static V zero() { return _mm512_setzero_si512(); }
  static V load(const uint8_t *p) { return _mm512_loadu_si512(p); }
  static void store(uint8_t *p, V v) { _mm512_storeu_si512(p, v); }
  static V xor_(V a, V b) { return _mm512_xor_si512(a, b); }
  static Coef prepare(uint8_t c) { return {affine_matrix(c)}; }
  static X prepare_x(V v) { return v; }
  static V mul(Coef c, X x) {
    return _mm512_gf2p8affine_epi64_epi8(x, _mm512_set1_epi64(static_cast<long long>(c.matrix)), 0);
  }
};

}  // namespace

void dot_gfni(const uint8_t *coefs, size_t rows, size_t cols, const uint8_t *const *in,
              uint8_t *const *out, size_t begin, size_t end) {
  dot_impl<Gfni>(coefs, rows, cols, in, out, begin, end);
}

}  // namespace gf256
}  // namespace peerlink
