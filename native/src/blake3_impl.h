// BLAKE3 internals shared by the portable core, the SIMD cores and the tree hasher.
//
// The SIMD cores hash many independent inputs at once, one input per vector lane
// ("hash many"): lane i runs the compression function over input i. That is how
// BLAKE3 reaches its speed: 1 KiB chunks are independent, so 4/8/16 of them are
// compressed in parallel, and parent nodes of the tree are hashed the same way,
// level by level.
#ifndef PEERLINK_BLAKE3_IMPL_H
#define PEERLINK_BLAKE3_IMPL_H

#include <cstddef>
#include <cstdint>
#include <cstring>


namespace peerlink {

// Declared only: files built with SIMD flags include this header and must compile none of
// CoreLevel's inline code (the linker could keep their copy for everyone).
class CoreLevel;
namespace blake3 {

constexpr size_t kBlockLen = 64;
constexpr size_t kChunkLen = 1024;
constexpr size_t kOutLen = 32;
constexpr size_t kBlocksPerChunk = kChunkLen / kBlockLen;

enum Flags : uint8_t {
  CHUNK_START = 1 << 0,
  CHUNK_END = 1 << 1,
  PARENT = 1 << 2,
  ROOT = 1 << 3,
};

alignas(64) constexpr uint32_t kIV[8] = {0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A,
                                         0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19};

// Message word order for each of the 7 rounds (the permutation applied r times).
constexpr uint8_t kSchedule[7][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8},
    {3, 4, 10, 12, 13, 2, 7, 14, 6, 5, 9, 0, 11, 15, 8, 1},
    {10, 7, 12, 9, 14, 3, 13, 15, 4, 0, 11, 2, 5, 8, 1, 6},
    {12, 13, 9, 11, 15, 10, 14, 8, 7, 2, 5, 3, 0, 1, 6, 4},
    {9, 14, 11, 5, 8, 12, 15, 1, 13, 3, 0, 10, 2, 6, 4, 7},
    {11, 15, 5, 0, 1, 9, 8, 6, 14, 10, 2, 12, 3, 4, 7, 13},
};

inline uint32_t load_le32(const uint8_t *p) {
  uint32_t v;
  std::memcpy(&v, p, 4);  // x86 and every target we build for is little-endian
  return v;
}

inline void store_le32(uint8_t *p, uint32_t v) { std::memcpy(p, &v, 4); }

inline uint32_t counter_low(uint64_t c) { return static_cast<uint32_t>(c); }
inline uint32_t counter_high(uint64_t c) { return static_cast<uint32_t>(c >> 32); }

// Portable compression: updates cv in place with one 64-byte block.
void compress_portable(uint32_t cv[8], const uint8_t block[kBlockLen], uint8_t block_len,
                       uint64_t counter, uint8_t flags);

// Hash `count` inputs of `blocks` full 64-byte blocks each, writing one 32-byte chaining
// value per input to `out`. Input i uses counter (counter + i) when increment is set,
// `counter` otherwise. The first block of each input adds flags_start, the last adds
// flags_end. Each core handles exactly its lane count; hash_many() dispatches.
using HashLanesFn = void (*)(const uint8_t *const *inputs, size_t blocks, const uint32_t key[8],
                             uint64_t counter, bool increment, uint8_t flags,
                             uint8_t flags_start, uint8_t flags_end, uint8_t *out);

void hash_lanes_portable(const uint8_t *const *inputs, size_t blocks, const uint32_t key[8],
                         uint64_t counter, bool increment, uint8_t flags, uint8_t flags_start,
                         uint8_t flags_end, uint8_t *out);  // 1 lane
void hash_lanes_sse41(const uint8_t *const *inputs, size_t blocks, const uint32_t key[8],
                      uint64_t counter, bool increment, uint8_t flags, uint8_t flags_start,
                      uint8_t flags_end, uint8_t *out);  // 4 lanes
void hash_lanes_avx2(const uint8_t *const *inputs, size_t blocks, const uint32_t key[8],
                     uint64_t counter, bool increment, uint8_t flags, uint8_t flags_start,
                     uint8_t flags_end, uint8_t *out);  // 8 lanes
void hash_lanes_avx512(const uint8_t *const *inputs, size_t blocks, const uint32_t key[8],
                       uint64_t counter, bool increment, uint8_t flags, uint8_t flags_start,
                       uint8_t flags_end, uint8_t *out);  // 16 lanes

// Wide tree cores. A CV set holds the chaining values of `lanes` sibling nodes transposed:
// word i of node j at set[i * lanes + j]. chunks hashes `lanes` consecutive full chunks
// (chunk `counter` first) into a set; parents hashes the 2 * lanes children in the sets
// left then right into the set of their `lanes` parents (out may be left).
using ChunksWideFn = void (*)(const uint8_t *in, uint64_t counter, uint32_t *out);
using ParentsWideFn = void (*)(const uint32_t *left, const uint32_t *right, uint32_t *out);

// One SIMD level's core: `many` hashes `lanes` inputs a call; chunks and parents are its wide
// tree functions (nullptr at the portable level).
struct LaneCore {
  size_t lanes;
  HashLanesFn many;
  ChunksWideFn chunks;
  ParentsWideFn parents;
};

void chunks_wide_sse41(const uint8_t *in, uint64_t counter, uint32_t *out);
void parents_wide_sse41(const uint32_t *left, const uint32_t *right, uint32_t *out);
void chunks_wide_avx2(const uint8_t *in, uint64_t counter, uint32_t *out);
void parents_wide_avx2(const uint32_t *left, const uint32_t *right, uint32_t *out);
void chunks_wide_avx512(const uint8_t *in, uint64_t counter, uint32_t *out);
void parents_wide_avx512(const uint32_t *left, const uint32_t *right, uint32_t *out);

enum class Simd : int { Portable = 0, SSE41 = 1, AVX2 = 2, AVX512 = 3 };

// portable, sse41, avx2, avx512; PEERLINK_SIMD picks a lower one.
CoreLevel &simd_level();

// Dispatch to the widest core of the active level, narrower cores for the remainder.
void hash_many(const uint8_t *const *inputs, size_t count, size_t blocks, const uint32_t key[8],
               uint64_t counter, bool increment, uint8_t flags, uint8_t flags_start,
               uint8_t flags_end, uint8_t *out);

// The active level's core when it has the wide tree functions; nullptr at the portable level.
const LaneCore *wide_core();

// One-shot BLAKE3-256 of any length.
void hash(const uint8_t *input, size_t len, uint8_t out[kOutLen]);

// Incremental BLAKE3-256 for streams (bounded memory: one subtree buffer + CV stack).
struct CvStack;

class Hasher {
 public:
  Hasher();
  ~Hasher();
  Hasher(const Hasher &) = delete;
  Hasher &operator=(const Hasher &) = delete;
  void update(const uint8_t *input, size_t len);
  void finalize(uint8_t out[kOutLen]) const;  // does not change the state
  void reset();

  // Subtrees of this many bytes are hashed wide before their CV joins the stack.
  static constexpr size_t kSubtreeLen = 1 << 20;

 private:
  uint8_t *buf_;  // the pending, not yet known to be non-final, subtree
  size_t buf_len_;
  CvStack *stack_;
};

}  // namespace blake3
}  // namespace peerlink

#endif
