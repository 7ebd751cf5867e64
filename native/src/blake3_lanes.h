// The many-lanes BLAKE3 compression loop, written once over a vector "Ops" type.
//
// Included only by the SIMD cores, each compiled with its own target flags. Everything
// here has internal linkage (anonymous namespace) so that code built for AVX-512 can never
// be merged by the linker into a path that runs on a CPU without it.
//
// The state is transposed: v[i] holds word i of every lane's state, and m[j] holds message
// word j of every lane's current block, so one vector instruction advances all lanes.
// The Ops type provides:
//   V, kLanes, add, xor_, set1, loadu (kLanes uint32), storeu, rot16, rot12, rot8, rot7,
//   load_msg(inputs, offset, m): message words of each lane's block at `offset`, transposed.
#ifndef PEERLINK_BLAKE3_LANES_H
#define PEERLINK_BLAKE3_LANES_H

#include "blake3_impl.h"

namespace peerlink {
namespace blake3 {
namespace {

#define PL_INLINE inline __attribute__((always_inline))

template <class O>
PL_INLINE void g_lanes(typename O::V *v, int a, int b, int c, int d, typename O::V x,
                       typename O::V y) {
  v[a] = O::add(O::add(v[a], v[b]), x);
  v[d] = O::rot16(O::xor_(v[d], v[a]));
  v[c] = O::add(v[c], v[d]);
  v[b] = O::rot12(O::xor_(v[b], v[c]));
  v[a] = O::add(O::add(v[a], v[b]), y);
  v[d] = O::rot8(O::xor_(v[d], v[a]));
  v[c] = O::add(v[c], v[d]);
  v[b] = O::rot7(O::xor_(v[b], v[c]));
}

template <class O>
PL_INLINE void round_lanes(typename O::V *v, const typename O::V *m, int r) {
  const uint8_t *s = kSchedule[r];
  g_lanes<O>(v, 0, 4, 8, 12, m[s[0]], m[s[1]]);
  g_lanes<O>(v, 1, 5, 9, 13, m[s[2]], m[s[3]]);
  g_lanes<O>(v, 2, 6, 10, 14, m[s[4]], m[s[5]]);
  g_lanes<O>(v, 3, 7, 11, 15, m[s[6]], m[s[7]]);
  g_lanes<O>(v, 0, 5, 10, 15, m[s[8]], m[s[9]]);
  g_lanes<O>(v, 1, 6, 11, 12, m[s[10]], m[s[11]]);
  g_lanes<O>(v, 2, 7, 8, 13, m[s[12]], m[s[13]]);
  g_lanes<O>(v, 3, 4, 9, 14, m[s[14]], m[s[15]]);
}

template <class O>
void hash_lanes_impl(const uint8_t *const *inputs, size_t blocks, const uint32_t key[8],
                     uint64_t counter, bool increment, uint8_t flags, uint8_t flags_start,
                     uint8_t flags_end, uint8_t *out) {
  using V = typename O::V;
  constexpr size_t N = O::kLanes;
  V h[8];
  for (int i = 0; i < 8; i++) h[i] = O::set1(key[i]);
  alignas(64) uint32_t lo[N], hi[N];
  for (size_t i = 0; i < N; i++) {
    uint64_t c = counter + (increment ? i : 0);
    lo[i] = counter_low(c);
    hi[i] = counter_high(c);
  }
  const V ctr_lo = O::loadu(lo), ctr_hi = O::loadu(hi);
  const V block_len = O::set1(static_cast<uint32_t>(kBlockLen));
  uint8_t block_flags = flags | flags_start;
  for (size_t b = 0; b < blocks; b++) {
    if (b + 1 == blocks) block_flags |= flags_end;
    V m[16];
    O::load_msg(inputs, b * kBlockLen, m);
    V v[16] = {h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7],
               O::set1(kIV[0]), O::set1(kIV[1]), O::set1(kIV[2]), O::set1(kIV[3]),
               ctr_lo, ctr_hi, block_len, O::set1(block_flags)};
    // Unrolled so every message index is a constant and m[] can live in registers.
//#pragma GCC unroll 7
    for (int r = 0; r < 7; r++) round_lanes<O>(v, m, r);
    for (int i = 0; i < 8; i++) h[i] = O::xor_(v[i], v[i + 8]);
    block_flags = flags;
  }
  // Un-transpose the 8 CV words of each lane into 32-byte outputs.
  alignas(64) uint32_t words[8][N];
  for (int i = 0; i < 8; i++) O::storeu(words[i], h[i]);
  for (size_t lane = 0; lane < N; lane++)
    for (int i = 0; i < 8; i++) store_le32(out + lane * kOutLen + 4 * i, words[i][lane]);
}

#undef PL_INLINE

}  // namespace
}  // namespace blake3
}  // namespace peerlink

#endif
