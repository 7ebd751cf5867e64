// Portable BLAKE3 compression: the reference for every SIMD core and the path for
// inputs too few to fill a vector.
#include "blake3_impl.h"

namespace peerlink {
namespace blake3 {

namespace {

inline uint32_t rotr(uint32_t w, int c) { return (w >> c) | (w << (32 - c)); }

inline void g(uint32_t *v, int a, int b, int c, int d, uint32_t x, uint32_t y) {
  v[a] = v[a] + v[b] + x;
  v[d] = rotr(v[d] ^ v[a], 16);
  v[c] = v[c] + v[d];
  v[b] = rotr(v[b] ^ v[c], 12);
  v[a] = v[a] + v[b] + y;
  v[d] = rotr(v[d] ^ v[a], 8);
  v[c] = v[c] + v[d];
  v[b] = rotr(v[b] ^ v[c], 7);
}

inline void round_fn(uint32_t v[16], const uint32_t m[16], int r) {
  const uint8_t *s = kSchedule[r];
  // Columns, then diagonals.
  g(v, 0, 4, 8, 12, m[s[0]], m[s[1]]);
  g(v, 1, 5, 9, 13, m[s[2]], m[s[3]]);
  g(v, 2, 6, 10, 14, m[s[4]], m[s[5]]);
  g(v, 3, 7, 11, 15, m[s[6]], m[s[7]]);
  g(v, 0, 5, 10, 15, m[s[8]], m[s[9]]);
  g(v, 1, 6, 11, 12, m[s[10]], m[s[11]]);
  g(v, 2, 7, 8, 13, m[s[12]], m[s[13]]);
  g(v, 3, 4, 9, 14, m[s[14]], m[s[15]]);
}

}  // namespace

void compress_portable(uint32_t cv[8], const uint8_t block[kBlockLen], uint8_t block_len,
                       uint64_t counter, uint8_t flags) {
  uint32_t m[16];
  for (int i = 0; i < 16; i++) m[i] = load_le32(block + 4 * i);
  uint32_t v[16] = {cv[0], cv[1], cv[2], cv[3], cv[4], cv[5], cv[6], cv[7],
                    kIV[0], kIV[1], kIV[2], kIV[3], counter_low(counter), counter_high(counter),
                    block_len, flags};
  for (int r = 0; r < 7; r++) round_fn(v, m, r);
  for (int i = 0; i < 8; i++) cv[i] = v[i] ^ v[i + 8];
}

void hash_lanes_portable(const uint8_t *const *inputs, size_t blocks, const uint32_t key[8],
                         uint64_t counter, bool increment, uint8_t flags, uint8_t flags_start,
                         uint8_t flags_end, uint8_t *out) {
  (void)increment;  // one lane: the counter is the caller's
  uint32_t cv[8];
  std::memcpy(cv, key, sizeof(cv));
  uint8_t block_flags = flags | flags_start;
  for (size_t b = 0; b < blocks; b++) {
    if (b + 1 == blocks) block_flags |= flags_end;
    compress_portable(cv, inputs[0] + b * kBlockLen, kBlockLen, counter, block_flags);
    block_flags = flags;
  }
  for (int i = 0; i < 8; i++) store_le32(out + 4 * i, cv[i]);
}

}  // namespace blake3
}  // namespace peerlink
