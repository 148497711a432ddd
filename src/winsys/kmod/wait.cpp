// wait_point and the monotonic clock (see wait.h).
#include "winsys/kmod/wait.h"

#include <time.h>

#include <cerrno>
#include <limits>
#include <span>

namespace wsys::kmod {

int64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

int64_t monotonic_coarse_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

int64_t deadline_after_ns(int64_t ns) {
  const int64_t now = monotonic_ns();
  if (ns > std::numeric_limits<int64_t>::max() - now) return std::numeric_limits<int64_t>::max();
  return now + ns;
}

PointWait wait_point(Device& dev, uint32_t syncobj, uint64_t point, int64_t abs_deadline_ns) {
  Result<void> w = dev.syncobj_wait(
      std::span<const uint32_t>(&syncobj, 1),
      point ? std::span<const uint64_t>(&point, 1) : std::span<const uint64_t>(), abs_deadline_ns,
      /*wait_all=*/true, /*wait_for_submit=*/true);
  if (w.ok()) return {};
  const int e = w.error();
  if (e == -ETIME || e == -ETIMEDOUT || e == -EBUSY) return {PointState::Pending, e};
  return {PointState::Unknown, e};
}

}  // namespace wsys::kmod
