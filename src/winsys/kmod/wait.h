// The one way wsys asks whether a syncobj point has signalled, and the
// clock its deadlines are on.
//
// Every wait is SYNCOBJ_(TIMELINE_)WAIT with WAIT_FOR_SUBMIT (a point whose
// submission has not reached the kernel yet is pending, not an error) on
// an absolute CLOCK_MONOTONIC deadline (0 polls). The kernel says "not yet"
// with -ETIME (the model and the timeline ioctl), -ETIMEDOUT (some kernels
// for binary waits) or -EBUSY (a poll on some paths); wait_point folds
// those into PointState::Pending so no caller has its own list.
#pragma once

#include <cerrno>
#include <cstdint>

#include "winsys/kmod/kmod.h"

namespace wsys::kmod {

// CLOCK_MONOTONIC now, in nanoseconds (the clock of every deadline).
int64_t monotonic_ns();
// CLOCK_MONOTONIC_COARSE: the same clock at the kernel tick's resolution
// (1-4 ms), read without touching the TSC. For bookkeeping that needs no
// precision and runs on every call of a hot path (the BO cache's ageing,
// whose grace is 1/8 of a 1 s half-life); never for deadlines.
int64_t monotonic_coarse_ns();
// An absolute deadline `ns` from now (saturating).
int64_t deadline_after_ns(int64_t ns);

enum class PointState {
  Signalled,  // done
  Pending,    // not yet (by the deadline)
  Unknown,    // the kernel refused the wait (a destroyed syncobj, an unknown point):
              // nothing can still be waiting on it, so callers treat it as done
};

struct PointWait {
  PointState state = PointState::Signalled;
  int error = 0;  // the kernel's errno for Pending / Unknown, 0 when signalled
};

// Waits for (syncobj, point) until `abs_deadline_ns` (point 0: a binary
// syncobj). Never fails: the outcome is the state.
PointWait wait_point(Device& dev, uint32_t syncobj, uint64_t point, int64_t abs_deadline_ns);

// The errno that means "still pending" in the C API and Bo::wait: -ETIME.
inline constexpr int kPendingErrno = -ETIME;

}  // namespace wsys::kmod
