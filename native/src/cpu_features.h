// What this CPU and OS can run, read once (cpuid for the instructions, xgetbv for the OS
// saving the wide registers). Every run-time dispatcher chooses from this.
#ifndef PEERLINK_CPU_FEATURES_H
#define PEERLINK_CPU_FEATURES_H

namespace peerlink {

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
