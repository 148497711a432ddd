// The model's DRM syncobj: a container for a fence, or a timeline of
// points (the kernel's dma_fence_chain).
//
// State: an ordered list of links {point, fence}. A binary signal/reset
// replaces the whole list (one link at point 0, or none); adding timeline
// point p appends a link. Point p (> 0) is "submitted" once a link with
// point >= p exists and "signalled" once every link up to the first such
// link has signalled, exactly as a dma_fence_chain node signals after its
// predecessors. Point 0 means "the current fence": every link.
//
// All state is guarded by SyncState::get().lock(), the same lock fences
// signal under, so any wait condition can be evaluated atomically.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "winsys/sim/fence.h"

namespace wsys::sim {

struct SyncLink {
  uint64_t point;  // 0 for a plain (binary) fence
  FencePtr fence;
};

class Syncobj {
 public:
  // --- all of these require SyncState::get().lock() to be held ---

  // Binary replace (SIGNAL, RESET, point-0 transfers, imports). Null resets.
  void replace_locked(FencePtr f);
  // Timeline: adds `point` (> 0) signalled by `f`.
  void add_point_locked(FencePtr f, uint64_t point);

  // True if there is a fence for `point` (point 0: any fence at all).
  bool available_locked(uint64_t point) const;
  // True if `point` is available and its fence (and predecessors) signalled.
  bool signalled_locked(uint64_t point) const;
  // First error status among the fences `point` waits on (0 if none).
  int status_locked(uint64_t point) const;
  // The fences `point` waits on, for a snapshot (false if not available).
  bool collect_locked(uint64_t point, std::vector<FencePtr>* out) const;
  // DRM_IOCTL_SYNCOBJ_QUERY: last signalled point, or the last submitted
  // point with `last_submitted`; 0 for a plain fence or nothing.
  uint64_t query_locked(bool last_submitted) const;
  // The largest point submitted (0 if none or binary).
  uint64_t last_point_locked() const;

  // Drops signalled links at the front (remembering their point), as
  // dma_fence_chain walking does. Called by the mutators.
  void collect_garbage_locked();

 private:
  // Index one past the last link `point` depends on, or -1 if unavailable.
  long depends_end_locked(uint64_t point) const;

  std::vector<SyncLink> links_;
  // Highest point of links already garbage-collected (all signalled).
  uint64_t gc_point_ = 0;
  bool gc_had_fence_ = false;  // something was signalled and collected
};

using SyncobjPtr = std::shared_ptr<Syncobj>;

}  // namespace wsys::sim
