#include "cpu_features.h"

#include <cstdint>

#ifdef PEERLINK_X86
#include <cpuid.h>
#endif

namespace peerlink {

namespace {

#ifdef PEERLINK_X86
uint64_t xgetbv0() {
  uint32_t eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<uint64_t>(edx) << 32) | eax;
}
#endif

CpuFeatures detect() {
  CpuFeatures f;
#ifdef PEERLINK_X86
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  f.ssse3 = c & (1u << 9);
  f.sse41 = c & (1u << 19);
  const bool osxsave = c & (1u << 27);
  if (!osxsave || !__get_cpuid_count(7, 0, &a, &b, &c, &d)) return f;
  const uint64_t xcr0 = xgetbv0();
  const bool ymm = (xcr0 & 0x6) == 0x6;     // XMM and YMM state
  const bool zmm = (xcr0 & 0xE6) == 0xE6;   // plus opmask and both ZMM halves
  f.avx2 = ymm && (b & (1u << 5));
  f.avx512f = zmm && (b & (1u << 16));
  f.avx512bw = f.avx512f && (b & (1u << 30));
  f.avx512vl = f.avx512f && (b & (1u << 31));
  f.gfni = c & (1u << 8);
#endif
  return f;
}

}  // namespace

const CpuFeatures &cpu_features() {
  static const CpuFeatures f = detect();
  return f;
}

}  // namespace peerlink
