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
//   even(a, b), odd(a, b): the even (odd) numbered lanes of a, then those of b;
//   store_cvs(h, out): lane i's 8 CV words (h[j] holds word j of every lane) to out + 32 i;
//   kMsgSteps, kMsgStepAfter[kMsgSteps], load_msg_step(inputs, offset, step, scratch, m):
//   the transpose of each lane's block at `offset` into m (m[j] = word j of every lane), in
//   kMsgSteps steps run in order, passing state between them in scratch.
#ifndef PEERLINK_BLAKE3_LANES_H
#define PEERLINK_BLAKE3_LANES_H

#include "blake3_impl.h"

namespace peerlink {
namespace blake3 {
namespace {

#define PL_INLINE inline __attribute__((always_inline))
#define PL_LAMBDA_INLINE __attribute__((always_inline))

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

// Half k of the 14 half-rounds: even k mixes the columns, odd k the diagonals of round k / 2.
template <class O>
PL_INLINE void half_round_lanes(typename O::V *v, const typename O::V *m, int k) {
  const uint8_t *s = kSchedule[k / 2];
  if (k % 2 == 0) {
    g_lanes<O>(v, 0, 4, 8, 12, m[s[0]], m[s[1]]);
    g_lanes<O>(v, 1, 5, 9, 13, m[s[2]], m[s[3]]);
    g_lanes<O>(v, 2, 6, 10, 14, m[s[4]], m[s[5]]);
    g_lanes<O>(v, 3, 7, 11, 15, m[s[6]], m[s[7]]);
  } else {
    g_lanes<O>(v, 0, 5, 10, 15, m[s[8]], m[s[9]]);
    g_lanes<O>(v, 1, 6, 11, 12, m[s[10]], m[s[11]]);
    g_lanes<O>(v, 2, 7, 8, 13, m[s[12]], m[s[13]]);
    g_lanes<O>(v, 3, 4, 9, 14, m[s[14]], m[s[15]]);
  }
}

// One full block in every lane: h (each lane's CV, h[j] = word j of every lane) advances by
// message m. after(k) runs after half-round k: a place for independent work to fill the
// issue slots the rounds leave free.
template <class O, class After>
PL_INLINE void compress_block_lanes(typename O::V h[8], const typename O::V *m,
                                    typename O::V ctr_lo, typename O::V ctr_hi, uint8_t flags,
                                    After after) {
  typename O::V v[16] = {h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7],
                         O::set1(kIV[0]), O::set1(kIV[1]), O::set1(kIV[2]), O::set1(kIV[3]),
                         ctr_lo, ctr_hi, O::set1(static_cast<uint32_t>(kBlockLen)),
                         O::set1(flags)};
  // Unrolled so every message index, and whatever after(k) selects by k, is a constant.
#pragma GCC unroll 14
  for (int k = 0; k < 14; k++) {
    half_round_lanes<O>(v, m, k);
    after(k);
  }
  for (int i = 0; i < 8; i++) h[i] = O::xor_(v[i], v[i + 8]);
}

// Compresses `blocks` blocks of every lane's input from `key`, leaving each lane's 8 CV words
// in h (h[j] = word j of every lane).
template <class O>
PL_INLINE void compress_lanes(const uint8_t *const *inputs, size_t blocks, const uint32_t key[8],
                              uint64_t counter, bool increment, uint8_t flags,
                              uint8_t flags_start, uint8_t flags_end, typename O::V h[8]) {
  using V = typename O::V;
  constexpr size_t N = O::kLanes;
  for (int i = 0; i < 8; i++) h[i] = O::set1(key[i]);
  alignas(64) uint32_t lo[N], hi[N];
  for (size_t i = 0; i < N; i++) {
    uint64_t c = counter + (increment ? i : 0);
    lo[i] = counter_low(c);
    hi[i] = counter_high(c);
  }
  const V ctr_lo = O::loadu(lo), ctr_hi = O::loadu(hi);
  uint8_t block_flags = flags | flags_start;
  // Software-pipelined message loads: the transpose of block b + 1 runs in steps between
  // the half-rounds of block b (after half-round O::kMsgStepAfter[step]), so its shuffles
  // fill the issue slots the rounds leave free instead of stalling the start of each block.
  V msg[2][16], scratch[16];
  for (int step = 0; step < O::kMsgSteps; step++)
    O::load_msg_step(inputs, 0, step, scratch, msg[0]);
  for (size_t b = 0; b < blocks; b++) {
    if (b + 1 == blocks) block_flags |= flags_end;
    V *next = msg[(b + 1) & 1];
    const bool more = b + 1 < blocks;
    auto load_next = [&](int k) PL_LAMBDA_INLINE {
      if (!more) return;
#pragma GCC unroll 16
      for (int step = 0; step < O::kMsgSteps; step++)
        if (O::kMsgStepAfter[step] == k)
          O::load_msg_step(inputs, (b + 1) * kBlockLen, step, scratch, next);
    };
    compress_block_lanes<O>(h, msg[b & 1], ctr_lo, ctr_hi, block_flags, load_next);
    block_flags = flags;
  }
}

template <class O>
void hash_lanes_impl(const uint8_t *const *inputs, size_t blocks, const uint32_t key[8],
                     uint64_t counter, bool increment, uint8_t flags, uint8_t flags_start,
                     uint8_t flags_end, uint8_t *out) {
  typename O::V h[8];
  compress_lanes<O>(inputs, blocks, key, counter, increment, flags, flags_start, flags_end, h);
  O::store_cvs(h, out);
}

// Wide tree cores (LaneCore::chunks and ::parents in blake3_impl.h): CV sets stay transposed from the chunks up
// through the parents, so a parent's message is two deinterleaves per word of its children's
// CVs instead of a transpose, and no level is un-transposed but the last.
template <class O>
void chunks_wide_impl(const uint8_t *in, uint64_t counter, uint32_t *out) {
  constexpr size_t N = O::kLanes;
  const uint8_t *inputs[N];
  for (size_t i = 0; i < N; i++) inputs[i] = in + i * kChunkLen;
  typename O::V h[8];
  compress_lanes<O>(inputs, kBlocksPerChunk, kIV, counter, true, 0, CHUNK_START, CHUNK_END, h);
  for (int i = 0; i < 8; i++) O::storeu(out + i * N, h[i]);
}

template <class O>
void parents_wide_impl(const uint32_t *left, const uint32_t *right, uint32_t *out) {
  using V = typename O::V;
  constexpr size_t N = O::kLanes;
  // Parent j hashes children 2j and 2j + 1 of the 2N in (left, right): its message words
  // 0..7 are the even children's CV words, 8..15 the odd children's. Every load happens
  // before the first store, so out may be left.
  V m[16];
  for (int k = 0; k < 8; k++) {
    const V a = O::loadu(left + k * N), b = O::loadu(right + k * N);
    m[k] = O::even(a, b);
    m[8 + k] = O::odd(a, b);
  }
  V h[8];
  for (int i = 0; i < 8; i++) h[i] = O::set1(kIV[i]);
  const V zero = O::set1(0);
  compress_block_lanes<O>(h, m, zero, zero, PARENT, [](int) {});
  for (int i = 0; i < 8; i++) O::storeu(out + i * N, h[i]);
}

// Un-transposes the 8 CV words of each lane into 32-byte outputs, one word at a time.
template <class O>
PL_INLINE void store_cvs_by_word(const typename O::V h[8], uint8_t *out) {
  constexpr size_t N = O::kLanes;
  alignas(64) uint32_t words[8][N];
  for (int i = 0; i < 8; i++) O::storeu(words[i], h[i]);
  for (size_t lane = 0; lane < N; lane++)
    for (int i = 0; i < 8; i++) store_le32(out + lane * kOutLen + 4 * i, words[i][lane]);
}

#undef PL_INLINE
#undef PL_LAMBDA_INLINE

}  // namespace
}  // namespace blake3
}  // namespace peerlink

#endif
