// Run-time choice of the BLAKE3 core from what the CPU and OS support (cpu_features), so a
// shipped build runs everywhere and uses what it finds.
#include "blake3_impl.h"
#include "core_level.h"
#include "cpu_features.h"

namespace peerlink {
namespace blake3 {

namespace {

Simd detect() {
  const CpuFeatures &f = cpu_features();
  if (f.avx512f && f.avx512vl) return Simd::AVX512;
  if (f.avx2) return Simd::AVX2;
  if (f.sse41) return Simd::SSE41;
  return Simd::Portable;
}

struct Level {
  Simd level;
  LaneCore core;
};

// Widest first: hash_many runs the widest core the active level allows, then narrower ones
// for the remainder. Off x86 only the portable core is built.
const Level kLevels[] = {
#ifdef PEERLINK_X86
    {Simd::AVX512, {16, hash_lanes_avx512, chunks_wide_avx512, parents_wide_avx512}},
    {Simd::AVX2, {8, hash_lanes_avx2, chunks_wide_avx2, parents_wide_avx2}},
    {Simd::SSE41, {4, hash_lanes_sse41, chunks_wide_sse41, parents_wide_sse41}},
#endif
    {Simd::Portable, {1, hash_lanes_portable, nullptr, nullptr}},
};
constexpr int kCompiled = sizeof(kLevels) / sizeof(kLevels[0]);

}  // namespace

CoreLevel &simd_level() {
  static CoreLevel level({"portable", "sse41", "avx2", "avx512"}, kCompiled, static_cast<int>(detect()),
                         "PEERLINK_SIMD");
  return level;
}

void hash_many(const uint8_t *const *inputs, size_t count, size_t blocks, const uint32_t key[8],
               uint64_t counter, bool increment, uint8_t flags, uint8_t flags_start,
               uint8_t flags_end, uint8_t *out) {
  const Simd active = static_cast<Simd>(simd_level().active());
  for (const Level &l : kLevels) {
    if (l.level > active) continue;
    const LaneCore &core = l.core;
    while (count >= core.lanes) {
      core.many(inputs, blocks, key, counter, increment, flags, flags_start, flags_end, out);
      inputs += core.lanes;
      count -= core.lanes;
      if (increment) counter += core.lanes;
      out += core.lanes * kOutLen;
    }
  }
}

const LaneCore *wide_core() {
  const Simd active = static_cast<Simd>(simd_level().active());
  for (const Level &l : kLevels)
    if (l.level == active) return l.core.chunks ? &l.core : nullptr;
  return nullptr;
}

}  // namespace blake3
}  // namespace peerlink
