// The vector GF(2^8) dot product, written once over an "Ops" type; included only by the
// SIMD cores, each built with its own target flags (internal linkage, as in blake3_lanes.h).
//
// Ops provides: V, X (an input vector prepared for multiplication), Coef (a coefficient
// prepared for the core), kWidth, kGroup (outputs per pass), kUnroll (vectors per step), zero, load, store, xor_, prepare(coef), prepare_x(v),
// mul(coef, x).
#ifndef PEERLINK_GF256_LANES_H
#define PEERLINK_GF256_LANES_H

#include <memory>

#include "gf256.h"

namespace peerlink {
namespace gf256 {
namespace {

// Every type and helper here is local to the including file: a std:: template instantiated
// on a shared type inside a SIMD-flagged file could be picked by the linker for other files.
inline size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

// Shard bytes per tile: every row group of a tile re-reads the inputs from L2, not memory.
constexpr size_t kTile = 16 * 1024;

// Each step loads kUnroll vectors of every input once and feeds all G outputs from them, the
// G * kUnroll accumulators staying in registers; independent chains also hide the multiply's
// latency (the scheme of ISA-L's gf_Nvect_dot_prod kernels).
template <class O, size_t G>
void group_tile(const typename O::Coef *prep, size_t cols, const uint8_t *const *in,
                uint8_t *const *out, size_t begin, size_t end) {
  using V = typename O::V;
  constexpr size_t U = O::kUnroll;
  for (size_t i = begin; i < end; i += O::kWidth * U) {
    V acc[U][G];
    for (size_t u = 0; u < U; u++)
      for (size_t g = 0; g < G; g++) acc[u][g] = O::zero();
    for (size_t c = 0; c < cols; c++) {
      typename O::X x[U];
      for (size_t u = 0; u < U; u++) x[u] = O::prepare_x(O::load(in[c] + i + u * O::kWidth));
      for (size_t g = 0; g < G; g++) {
        const typename O::Coef k = prep[g * cols + c];
        for (size_t u = 0; u < U; u++) acc[u][g] = O::xor_(acc[u][g], O::mul(k, x[u]));
      }
    }
    for (size_t u = 0; u < U; u++)
      for (size_t g = 0; g < G; g++) O::store(out[g] + i + u * O::kWidth, acc[u][g]);
  }
}

template <class O>
void dot_impl(const uint8_t *coefs, size_t rows, size_t cols, const uint8_t *const *in,
              uint8_t *const *out, size_t begin, size_t end) {
  constexpr size_t G = O::kGroup;
  // Coef is a type of the including file, so this instantiation is private to it.
  std::unique_ptr<typename O::Coef[]> prep(new typename O::Coef[rows * cols]);
  for (size_t i = 0; i < rows * cols; i++) prep[i] = O::prepare(coefs[i]);
  constexpr size_t step = O::kWidth * O::kUnroll;
  const size_t vec_end = begin + (end - begin) / step * step;
  for (size_t t = begin; t < vec_end; t += kTile) {
    const size_t t_end = min_size(vec_end, t + kTile);
    for (size_t r = 0; r < rows; r += G) {
      const typename O::Coef *p = prep.get() + r * cols;
      switch (min_size(G, rows - r)) {
        case 4: group_tile<O, 4>(p, cols, in, out + r, t, t_end); break;
        case 3: group_tile<O, 3>(p, cols, in, out + r, t, t_end); break;
        case 2: group_tile<O, 2>(p, cols, in, out + r, t, t_end); break;
        default: group_tile<O, 1>(p, cols, in, out + r, t, t_end); break;
      }
    }
  }
  if (vec_end < end) dot_portable(coefs, rows, cols, in, out, vec_end, end);
}

}  // namespace
}  // namespace gf256
}  // namespace peerlink

#endif
