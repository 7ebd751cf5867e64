// A run-time choice among cores ordered from plainest (0) to widest: the widest the CPU has
// and this build compiled, unless an environment variable, read once, or a caller asks for a
// lower one. BLAKE3 and GF(2^8) each keep one. Every level keeps its name on every target, so
// asking for avx2 on arm64 is "not on this machine" (false), not an unknown name.
#ifndef PEERLINK_CORE_LEVEL_H
#define PEERLINK_CORE_LEVEL_H

#include <atomic>
#include <cstddef>
#include <initializer_list>

namespace peerlink {

class CoreLevel {
 public:
  // The first `compiled` names have a core in this build; `detected` is the widest the CPU runs.
  CoreLevel(std::initializer_list<const char *> names, int compiled, int detected, const char *env_var);
  int compiled() const { return compiled_; }
  int detected() const { return detected_; }
  int active() const { return active_.load(std::memory_order_relaxed); }
  const char *name(int level) const { return names_[level]; }
  /** The level of that name, or -1. */
  int parse(const char *name) const;
  /** False when the CPU lacks the level or this build has no core for it. */
  bool set(int level);

 private:
  static constexpr int kMax = 8;
  const char *names_[kMax];
  int count_;
  int compiled_;
  int detected_;
  std::atomic<int> active_;
};

}  // namespace peerlink

#endif
