// Points a bounded wait of wsys's own gave up on (sync_wait.h's deadlines).
//
// A point still pending after a whole kGpuTeardownWaitNs means the GPU (or
// the frontend that promised to submit it) is wedged. A later bounded wait
// for the same point, or an earlier point of the same timeline, polls
// instead of waiting the whole deadline again: tearing down many buffers
// that share one stuck use costs one timeout, not one per buffer (the capi
// fuzzer's 20 s input: a scratch pool's two buffers marked with a point
// nobody submitted). A point that signals later is seen by the poll as
// signalled. Fixed size and no allocation: the waits that consult it run
// where allocating is not wanted; the oldest entry makes room.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>

#include "wsys/sync.hpp"

namespace wsys::core {

class StuckPoints {
 public:
  // True when `p` is a point noted stuck, or an earlier one of a noted
  // timeline (a binary syncobj's point is 0: the syncobj itself).
  bool covers(SyncPoint p) const {
    if (!p.syncobj) return false;
    std::lock_guard<std::mutex> g(mu_);
    for (const SyncPoint& s : pts_)
      if (s.syncobj == p.syncobj && p.point <= s.point) return true;
    return false;
  }
  void note(SyncPoint p) {
    if (!p.syncobj) return;
    std::lock_guard<std::mutex> g(mu_);
    ++noted_;
    for (SyncPoint& s : pts_) {
      if (s.syncobj != p.syncobj) continue;
      if (p.point > s.point) s.point = p.point;
      return;
    }
    pts_[next_] = p;
    next_ = (next_ + 1) % pts_.size();
  }

  // How many waits timed out (VmStats::waits_timed_out).
  uint64_t noted() const {
    std::lock_guard<std::mutex> g(mu_);
    return noted_;
  }

 private:
  mutable std::mutex mu_;
  uint64_t noted_ = 0;
  std::array<SyncPoint, 4> pts_{};
  size_t next_ = 0;
};

}  // namespace wsys::core
