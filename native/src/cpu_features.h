// What this CPU and OS can run, read once (cpuid for the instructions, xgetbv for the OS
// saving the wide registers). Every run-time dispatcher chooses from this.
#ifndef PEERLINK_CPU_FEATURES_H
#define PEERLINK_CPU_FEATURES_H

// The x86 SIMD cores are built, dispatched to and detected only where this is set; every
// other target (arm64, …) builds the portable cores alone.
#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64) || defined(_M_IX86)
#define PEERLINK_X86 1
#endif

namespace peerlink {

// All false off x86.
struct CpuFeatures {
  bool ssse3 = false;
  bool sse41 = false;
  bool avx2 = false;     // and the OS saves YMM state
  bool avx512f = false;  // and the OS saves ZMM and opmask state
  bool avx512vl = false;
  bool avx512bw = false;
  bool gfni = false;
};

const CpuFeatures &cpu_features();

}  // namespace peerlink

#endif
