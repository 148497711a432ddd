// The model's DRM syncobj: a container for a fence, or a timeline of
// points (the kernel's dma_fence_chain).
//
// State: an ordered list of links {point, fence}. A binary replace (SIGNAL,
// RESET, imports, point-0 transfers) replaces the whole list (one link at
// point 0, or none); adding timeline point p appends a link, as
// drm_syncobj_add_point appends a chain node. A link's "fence" in kernel
// terms is its chain node: it signals once the link's own fence and every
// earlier link's fence have signalled.
//
// Finding point p (dma_fence_chain_find_seqno):
//   - p == 0: the current fence, i.e. every link (none: no fence);
//   - p > 0: only if the newest link is a timeline point >= p; then the
//     first link with point >= p, searching from the newest "context
//     start". A point added out of order (not above the newest one) starts
//     a new context with the newest point number, so every point up to it
//     then waits for everything, exactly as the kernel's chain does.
// Signalled links at the front are dropped (as the chain's walk drops
// them), remembering the highest point dropped and the first error.
//
// Waiters that need "the fence for point p as soon as it exists" (the
// WAIT_FOR_SUBMIT / WAIT_AVAILABLE waits, DRM_IOCTL_SYNCOBJ_EVENTFD) are
// registered on the syncobj and handed the fence by the mutator that makes
// the point available, as the kernel's cb_list / ev_fd_list are.
//
// All state is guarded by SyncState::get().lock(), the same lock fences
// signal under, so any wait condition can be evaluated atomically. The
// mutators (replace_locked, add_point_locked) and find_locked may allocate
// (links, merged fences for waiters): call them from ioctl context, never
// inside a signalling section; only Fence::signal runs there.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "winsys/sim/fence.h"

namespace wsys::sim {

struct SyncLink {
  uint64_t point;  // 0 for a plain (binary) fence
  FencePtr fence;
  bool ctx_start = false;  // first link of a dma_fence_chain context
};

// A waiter for a point to become available. Owned by the waiting code,
// linked into the syncobj while it waits (SyncState lock held throughout).
struct SyncobjPointWaiter {
  uint64_t point = 0;
  FencePtr fence;  // set once the point is available
  SyncobjPointWaiter* prev = nullptr;
  SyncobjPointWaiter* next = nullptr;
  bool linked = false;
};

// DRM_IOCTL_SYNCOBJ_EVENTFD: writes 1 to an eventfd when a point signals
// (or becomes available, with wait_available). Owns a duplicate of the
// user's eventfd descriptor.
class SyncobjEventfd final : public FenceWatcher {
 public:
  SyncobjEventfd(int eventfd_dup, uint64_t point, bool wait_available)
      : fd_(eventfd_dup), point_(point), wait_available_(wait_available) {}
  ~SyncobjEventfd() override;
  SyncobjEventfd(const SyncobjEventfd&) = delete;
  SyncobjEventfd& operator=(const SyncobjEventfd&) = delete;

  uint64_t point() const { return point_; }
  // The point is available as `fence`: fires now (WAIT_AVAILABLE, or the
  // fence already signalled) or follows the fence, holding it as the
  // kernel's entry does, until it signals. SyncState lock held.
  static void bind_locked(const std::shared_ptr<SyncobjEventfd>& e, FencePtr fence);
  // Adds 1 to the eventfd, never blocking (no allocation).
  void fire();
  void fence_signalled_locked(Fence&) override { fire(); }

 private:
  int fd_;
  uint64_t point_;
  bool wait_available_;
  // The fence followed once bound. A reference cycle (the fence holds this
  // entry) that the fence's signal breaks: fences always signal.
  FencePtr fence_;
};

class Syncobj {
 public:
  Syncobj() = default;
  ~Syncobj();
  Syncobj(const Syncobj&) = delete;
  Syncobj& operator=(const Syncobj&) = delete;

  // --- all of these require SyncState::get().lock() to be held ---

  // Binary replace (SIGNAL, RESET, point-0 transfers, imports). Null resets.
  void replace_locked(FencePtr f);
  // Timeline: adds `point` signalled by `f` (drm_syncobj_add_point; point
  // 0 appends a link that still waits for the previous fence, which is
  // what TIMELINE_SIGNAL with point 0 does in the kernel).
  void add_point_locked(FencePtr f, uint64_t point);

  // True if there is a fence for `point` (point 0: any fence at all).
  bool available_locked(uint64_t point) const;
  // True if `point` is available and its fence (and predecessors) signalled.
  bool signalled_locked(uint64_t point) const;
  // First error status among the fences `point` waits on (0 if none).
  int status_locked(uint64_t point) const;
  // The fences `point` waits on, for a snapshot (false if not available).
  bool collect_locked(uint64_t point, std::vector<FencePtr>* out) const;
  // The one fence for `point` (drm_syncobj_find_fence: a merged fence, or
  // the stub if the point signalled long ago); null if not available.
  // May allocate (a merged fence).
  FencePtr find_locked(uint64_t point) const;
  // DRM_IOCTL_SYNCOBJ_QUERY: last signalled point, or the last submitted
  // point with `last_submitted`; 0 for a plain fence or nothing.
  uint64_t query_locked(bool last_submitted) const;
  // The largest point submitted (0 if none or binary).
  uint64_t last_point_locked() const;

  // Point waiters: if the point is available now, sets w->fence and does
  // not link; otherwise links `w` until a mutator makes it available.
  void add_waiter_locked(SyncobjPointWaiter* w);
  void remove_waiter_locked(SyncobjPointWaiter* w);

  // DRM_IOCTL_SYNCOBJ_EVENTFD: fires at once, binds to the point's fence,
  // or waits on this syncobj for the point to appear.
  void add_eventfd_locked(std::shared_ptr<SyncobjEventfd> e);

  // Drops signalled links at the front (remembering their point), as
  // dma_fence_chain walking does. Called by the mutators.
  void collect_garbage_locked();

  // For tests: links currently held, point waiters and eventfds pending.
  size_t link_count_locked() const { return links_.size(); }
  size_t waiter_count_locked() const {
    size_t n = 0;
    for (const SyncobjPointWaiter* w = waiters_; w; w = w->next) n++;
    return n;
  }
  size_t pending_eventfd_count_locked() const { return eventfds_.size(); }

 private:
  // Index one past the last link `point` depends on; 0 if it signalled and
  // was collected; -1 if unavailable.
  long depends_end_locked(uint64_t point) const;
  // Gives waiters and eventfds their fence if their point is now available.
  void notify_locked();

  std::vector<SyncLink> links_;
  // Highest point of links already garbage-collected (all signalled).
  uint64_t gc_point_ = 0;
  // The first collected fence that signalled with an error, if any.
  FencePtr gc_error_;
  SyncobjPointWaiter* waiters_ = nullptr;
  std::vector<std::shared_ptr<SyncobjEventfd>> eventfds_;
};

using SyncobjPtr = std::shared_ptr<Syncobj>;

}  // namespace wsys::sim
