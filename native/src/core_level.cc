#include "core_level.h"

#include <cstdlib>
#include <cstring>

namespace peerlink {

CoreLevel::CoreLevel(std::initializer_list<const char *> names, int compiled, int detected,
                     const char *env_var)
    : count_(0), compiled_(compiled), detected_(detected < compiled ? detected : compiled - 1),
      active_(detected_) {
  for (const char *n : names)
    if (count_ < kMax) names_[count_++] = n;
  const char *env = std::getenv(env_var);
  if (env != nullptr) set(parse(env));  // an unknown or unsupported name leaves the best
}

int CoreLevel::parse(const char *name) const {
  for (int l = 0; l < count_; l++)
    if (std::strcmp(name, names_[l]) == 0) return l;
  return -1;
}

bool CoreLevel::set(int level) {
  if (level < 0 || level > detected_) return false;
  active_.store(level, std::memory_order_relaxed);
  return true;
}

}  // namespace peerlink
