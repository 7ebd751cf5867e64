// Portable GF(2^8): log/exp-built multiplication table and the reference dot product.
#include <cstring>

#include "core_level.h"
#include "cpu_features.h"
#include "gf256.h"

namespace peerlink {
namespace gf256 {

namespace {

struct Tables {
  uint8_t mul[256][256];
  Tables() {
    uint8_t exp[512], log[256] = {0};
    unsigned x = 1;
    for (int i = 0; i < 255; i++) {
      exp[i] = static_cast<uint8_t>(x);
      log[x] = static_cast<uint8_t>(i);
      x <<= 1;
      if (x & 0x100) x ^= kPoly;
    }
    for (int i = 255; i < 512; i++) exp[i] = exp[i - 255];
    for (int a = 0; a < 256; a++)
      for (int b = 0; b < 256; b++)
        mul[a][b] = (a == 0 || b == 0) ? 0 : exp[log[a] + log[b]];
  }
};

const Tables &tables() {
  static const Tables t;
  return t;
}

Level detect() {
  const CpuFeatures &f = cpu_features();
  if (f.avx512f && f.avx512bw && f.gfni) return Level::GFNI;
  if (f.avx2) return Level::AVX2;
  if (f.ssse3) return Level::SSSE3;
  return Level::Portable;
}

}  // namespace

uint8_t mul(uint8_t a, uint8_t b) { return tables().mul[a][b]; }
const uint8_t *mul_row(uint8_t c) { return tables().mul[c]; }

uint64_t affine_matrix(uint8_t c) {
  // Output bit i of c*x is the parity of (row i AND x), where bit j of row i is bit i of
  // c * 2^j. GF2P8AFFINEQB takes row i from byte (7 - i) of the matrix.
  uint64_t m = 0;
  for (int i = 0; i < 8; i++) {
    uint8_t row = 0;
    for (int j = 0; j < 8; j++)
      if (mul(c, static_cast<uint8_t>(1u << j)) & (1u << i)) row |= static_cast<uint8_t>(1u << j);
    m |= static_cast<uint64_t>(row) << (8 * (7 - i));
  }
  return m;
}

void dot_portable(const uint8_t *coefs, size_t rows, size_t cols, const uint8_t *const *in,
                  uint8_t *const *out, size_t begin, size_t end) {
  for (size_t r = 0; r < rows; r++) {
    uint8_t *o = out[r];
    std::memset(o + begin, 0, end - begin);
    for (size_t c = 0; c < cols; c++) {
      const uint8_t coef = coefs[r * cols + c];
      if (coef == 0) continue;
      const uint8_t *row = mul_row(coef);
      const uint8_t *s = in[c];
      for (size_t i = begin; i < end; i++) o[i] ^= row[s[i]];
    }
  }
}

namespace {

// Indexed by Level; off x86 only the portable core is built.
const DotFn kDots[] = {
    dot_portable,
#ifdef PEERLINK_X86
    dot_ssse3, dot_avx2, dot_gfni,
#endif
};
constexpr int kCompiled = sizeof(kDots) / sizeof(kDots[0]);

}  // namespace

CoreLevel &level() {
  static CoreLevel l({"portable", "ssse3", "avx2", "gfni"}, kCompiled, static_cast<int>(detect()),
                     "PEERLINK_GF_SIMD");
  return l;
}

void dot(const uint8_t *coefs, size_t rows, size_t cols, const uint8_t *const *in,
         uint8_t *const *out, size_t begin, size_t end) {
  kDots[level().active()](coefs, rows, cols, in, out, begin, end);
}

}  // namespace gf256
}  // namespace peerlink
