// Run-time choice of the BLAKE3 core from what the CPU and OS support (cpu_features), so a
// shipped build runs everywhere and uses what it finds.
#include <atomic>
#include <cstdlib>
#include <cstring>

#include "blake3_impl.h"
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

const Simd kDetected = detect();

Simd initial_level() {
  Simd level = kDetected;
  const char *env = std::getenv("PEERLINK_SIMD");
  Simd wanted;
  if (env && simd_from_name(env, &wanted) && wanted <= kDetected) level = wanted;
  return level;
}

std::atomic<int> g_active{static_cast<int>(initial_level())};

}  // namespace

const char *simd_name(Simd s) {
  switch (s) {
    case Simd::AVX512: return "avx512";
    case Simd::AVX2: return "avx2";
    case Simd::SSE41: return "sse41";
    default: return "portable";
  }
}

bool simd_from_name(const char *name, Simd *out) {
  static const Simd all[] = {Simd::Portable, Simd::SSE41, Simd::AVX2, Simd::AVX512};
  for (Simd s : all) {
    if (std::strcmp(name, simd_name(s)) == 0) {
      *out = s;
      return true;
    }
  }
  return false;
}

Simd simd_detected() { return kDetected; }
Simd simd_active() { return static_cast<Simd>(g_active.load(std::memory_order_relaxed)); }

bool simd_set(Simd level) {
  if (level > kDetected) return false;
  g_active.store(static_cast<int>(level), std::memory_order_relaxed);
  return true;
}

void hash_many(const uint8_t *const *inputs, size_t count, size_t blocks, const uint32_t key[8],
               uint64_t counter, bool increment, uint8_t flags, uint8_t flags_start,
               uint8_t flags_end, uint8_t *out) {
  struct Core { Simd level; size_t lanes; HashLanesFn fn; };
  static const Core cores[] = {
      {Simd::AVX512, 16, hash_lanes_avx512},
      {Simd::AVX2, 8, hash_lanes_avx2},
      {Simd::SSE41, 4, hash_lanes_sse41},
      {Simd::Portable, 1, hash_lanes_portable},
  };
  const Simd active = simd_active();
  for (const Core &core : cores) {
    if (core.level > active) continue;
    while (count >= core.lanes) {
      core.fn(inputs, blocks, key, counter, increment, flags, flags_start, flags_end, out);
      inputs += core.lanes;
      count -= core.lanes;
      if (increment) counter += core.lanes;
      out += core.lanes * kOutLen;
    }
  }
}

}  // namespace blake3
}  // namespace peerlink
