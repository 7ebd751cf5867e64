// GF(2^8) arithmetic for Reed-Solomon: polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11d).
//
// The one bulk operation is a dot product of coefficient rows with input shards:
//   out[r][i] = XOR over c of coefs[r * cols + c] * in[c][i]
// Every SIMD core computes exactly the portable result. Each core walks the shards in
// vector-wide steps, loads every input once per step and feeds several outputs from it.
#ifndef PEERLINK_GF256_H
#define PEERLINK_GF256_H

#include <cstddef>
#include <cstdint>


namespace peerlink {

// Declared only: files built with SIMD flags include this header and must compile none of
// CoreLevel's inline code (the linker could keep their copy for everyone).
class CoreLevel;
namespace gf256 {

constexpr unsigned kPoly = 0x11d;

uint8_t mul(uint8_t a, uint8_t b);  // table-driven, for set-up and the portable core
const uint8_t *mul_row(uint8_t c);  // 256 entries: c * x for every x

using DotFn = void (*)(const uint8_t *coefs, size_t rows, size_t cols, const uint8_t *const *in,
                       uint8_t *const *out, size_t begin, size_t end);

// Each computes the bytes [begin, end) of every output.
void dot_portable(const uint8_t *coefs, size_t rows, size_t cols, const uint8_t *const *in,
                  uint8_t *const *out, size_t begin, size_t end);
void dot_ssse3(const uint8_t *coefs, size_t rows, size_t cols, const uint8_t *const *in,
               uint8_t *const *out, size_t begin, size_t end);
void dot_avx2(const uint8_t *coefs, size_t rows, size_t cols, const uint8_t *const *in,
              uint8_t *const *out, size_t begin, size_t end);
void dot_gfni(const uint8_t *coefs, size_t rows, size_t cols, const uint8_t *const *in,
              uint8_t *const *out, size_t begin, size_t end);

// The 8x8 bit matrix that multiplies by c, in the layout GF2P8AFFINEQB takes.
uint64_t affine_matrix(uint8_t c);

enum class Level : int { Portable = 0, SSSE3 = 1, AVX2 = 2, GFNI = 3 };

// portable, ssse3, avx2, gfni; PEERLINK_GF_SIMD picks a lower one.
CoreLevel &level();

// Dispatch to the active core.
void dot(const uint8_t *coefs, size_t rows, size_t cols, const uint8_t *const *in,
         uint8_t *const *out, size_t begin, size_t end);

}  // namespace gf256
}  // namespace peerlink

#endif
