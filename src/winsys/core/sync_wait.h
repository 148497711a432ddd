// Waiting for pending uses, and how long wsys waits on its own behalf.
//
// Every wait in core goes through kmod::wait_point (winsys/kmod/wait.h),
// which decides what "still pending" means; this adds the loop over a
// PendingUses snapshot and the named deadlines.
#pragma once

#include <cstdint>
#include <span>

#include "winsys/kmod/wait.h"
#include "wsys/sync.hpp"

namespace wsys::core {

// The deadline policy. A frontend's own waits carry the frontend's
// deadline; these bound the waits wsys makes for itself, all of them for
// work the kernel will finish or time out on its own (a job timeout is a
// few seconds), so hitting one means the GPU is wedged and wsys goes on.
inline constexpr int64_t kPollDeadline = 0;  // an absolute deadline of 0 polls
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
// A VM's own unmaps before it goes, the last resort of a full VA space,
// an unmap whose async form the kernel refused.
inline constexpr int64_t kGpuTeardownWaitNs = 10'000'000'000;
// ...of which the part spent waiting for the point to be submitted at all
// (a fence to exist): frontends mark a use just before they submit.
inline constexpr int64_t kSubmitWaitNs = 1'000'000'000;
// A heap's last use before it is destroyed or rebuilt.
inline constexpr int64_t kHeapIdleWaitNs = 5'000'000'000;
#else
// The fuzz build (meson -Dfuzz=true) takes the same paths with a
// hundredth of the time: its inputs mark uses on points nobody ever
// submits, single-threaded, so every such wait runs to its end, and at
// the real lengths the C API fuzzer spent half its wall time asleep.
inline constexpr int64_t kGpuTeardownWaitNs = 100'000'000;
inline constexpr int64_t kSubmitWaitNs = 10'000'000;
inline constexpr int64_t kHeapIdleWaitNs = 50'000'000;
#endif

// Waits for each use until `abs_deadline_ns`. `on_done(use, wait)` is
// called for every use found signalled (or Unknown: a syncobj nothing can
// wait on any more). Returns the first Pending outcome (state Signalled
// when none was pending). A poll (deadline 0) stops at the first pending
// use: the answer is known.
template <typename OnDone>
kmod::PointWait wait_uses(kmod::Device& k, std::span<const PendingUses::Use> uses,
                          int64_t abs_deadline_ns, OnDone&& on_done) {
  kmod::PointWait first{};
  for (const PendingUses::Use& u : uses) {
    const kmod::PointWait w = kmod::wait_point(k, u.syncobj, u.point, abs_deadline_ns);
    if (w.state == kmod::PointState::Pending) {
      if (first.state != kmod::PointState::Pending) first = w;
      if (abs_deadline_ns == kPollDeadline) break;
      continue;
    }
    on_done(u, w);
  }
  return first;
}

}  // namespace wsys::core
