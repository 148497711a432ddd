#include "winsys/sim/syncobj.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>

namespace wsys::sim {

SyncobjEventfd::~SyncobjEventfd() { ::close(fd_); }

void SyncobjEventfd::fire() {
  // The kernel's eventfd_signal never blocks; a write to a blocking eventfd
  // whose counter is at its maximum would, so only write when writable.
  pollfd p{fd_, POLLOUT, 0};
  if (::poll(&p, 1, 0) != 1 || !(p.revents & POLLOUT)) return;
  uint64_t one = 1;
  ssize_t r = ::write(fd_, &one, sizeof one);
  (void)r;
}

void SyncobjEventfd::bind_locked(const std::shared_ptr<SyncobjEventfd>& e, FencePtr fence) {
  // syncobj_eventfd_entry_func: WAIT_AVAILABLE fires now; otherwise the
  // entry follows the fence it found, whatever happens to the syncobj later.
  if (e->wait_available_ || fence->is_signalled()) {
    e->fire();
    return;
  }
  e->fence_ = fence;
  if (!fence->add_watcher_locked(e)) {
    e->fence_.reset();
    e->fire();
  }
}

Syncobj::~Syncobj() = default;

void Syncobj::replace_locked(FencePtr f) {
  links_.clear();
  gc_point_ = 0;
  gc_error_.reset();
  if (f) links_.push_back({0, std::move(f), true});
  notify_locked();
  SyncState::get().changed_locked();
}

void Syncobj::add_point_locked(FencePtr f, uint64_t point) {
  // dma_fence_chain_init: a point above the newest timeline point continues
  // its context; anything else (the first point after a plain fence or
  // nothing, or a point not above the newest) starts a new context whose
  // number is the newest point (seqnos never go backwards).
  uint64_t last = links_.empty() ? 0 : links_.back().point;
  bool ctx_start = links_.empty() || last == 0 || point <= last;
  if (point < last) point = last;
  links_.push_back({point, std::move(f), ctx_start});
  collect_garbage_locked();
  notify_locked();
  SyncState::get().changed_locked();
}

uint64_t Syncobj::last_point_locked() const {
  if (!links_.empty()) return links_.back().point;
  return 0;
}

long Syncobj::depends_end_locked(uint64_t point) const {
  if (links_.empty()) return -1;  // no fence at all
  long n = static_cast<long>(links_.size());
  if (point == 0) return n;
  // A plain fence (or a point-0 chain) has no points; nor does a timeline
  // whose newest point is below `point` (not submitted yet).
  const SyncLink& head = links_.back();
  if (head.point == 0 || head.point < point) return -1;
  long cs = -1;
  for (long i = n - 1; i >= 0; i--) {
    if (links_[static_cast<size_t>(i)].ctx_start) {
      cs = i;
      break;
    }
  }
  // The context began among the collected links: those all signalled.
  if (cs < 0 && point <= gc_point_) return 0;
  for (long i = std::max(cs, 0L); i < n; i++)
    if (links_[static_cast<size_t>(i)].point >= point) return i + 1;
  return -1;  // unreachable: head.point >= point
}

bool Syncobj::available_locked(uint64_t point) const { return depends_end_locked(point) >= 0; }

bool Syncobj::signalled_locked(uint64_t point) const {
  long end = depends_end_locked(point);
  if (end < 0) return false;
  for (long i = 0; i < end; i++)
    if (!links_[static_cast<size_t>(i)].fence->is_signalled()) return false;
  return true;
}

int Syncobj::status_locked(uint64_t point) const {
  long end = depends_end_locked(point);
  if (end <= 0) return 0;
  if (gc_error_) return gc_error_->status();
  for (long i = 0; i < end; i++) {
    int s = links_[static_cast<size_t>(i)].fence->status();
    if (s < 0) return s;
  }
  return 0;
}

bool Syncobj::collect_locked(uint64_t point, std::vector<FencePtr>* out) const {
  long end = depends_end_locked(point);
  if (end < 0) return false;
  if (end > 0 && gc_error_) out->push_back(gc_error_);
  for (long i = 0; i < end; i++) out->push_back(links_[static_cast<size_t>(i)].fence);
  return true;
}

FencePtr Syncobj::find_locked(uint64_t point) const {
  long end = depends_end_locked(point);
  if (end < 0) return nullptr;
  if (end == 0) return Fence::stub();
  // The common cases without building a list: one link, or a signalled
  // prefix followed by the one link the point ends at.
  const FencePtr& last = links_[static_cast<size_t>(end - 1)].fence;
  bool prefix_done = !gc_error_;
  for (long i = 0; prefix_done && i + 1 < end; i++) {
    const Fence& f = *links_[static_cast<size_t>(i)].fence;
    prefix_done = f.is_signalled() && f.status() == 0;
  }
  if (prefix_done) return last;
  std::vector<FencePtr> deps;
  collect_locked(point, &deps);
  return Fence::merge_locked(deps);
}

uint64_t Syncobj::query_locked(bool last_submitted) const {
  if (links_.empty()) return 0;
  const SyncLink& head = links_.back();
  if (head.point == 0) return 0;  // a plain fence (or a point-0 chain)
  if (last_submitted) return head.point;
  // The kernel walks the head's context back to its oldest link whose fence
  // has not signalled (or stays at the head): that link's point if it is
  // signalled with everything before it, else the point before it.
  size_t n = links_.size();
  size_t start = 0;
  for (size_t i = n; i-- > 0;) {
    if (links_[i].ctx_start) {
      start = i;
      break;
    }
  }
  size_t x = n - 1;
  bool found_unsignalled = false;
  for (size_t i = start; i < n; i++) {
    if (!links_[i].fence->is_signalled()) {
      x = i;
      found_unsignalled = true;
      break;
    }
  }
  bool x_signalled = !found_unsignalled;
  for (size_t i = 0; x_signalled && i < start; i++)
    x_signalled = links_[i].fence->is_signalled();
  if (x_signalled) return links_[x].point;
  if (links_[x].ctx_start) return 0;
  return x > 0 ? links_[x - 1].point : gc_point_;
}

void Syncobj::add_waiter_locked(SyncobjPointWaiter* w) {
  if (w->linked) return;
  if (FencePtr f = find_locked(w->point)) {
    w->fence = std::move(f);
    return;
  }
  w->prev = nullptr;
  w->next = waiters_;
  if (waiters_) waiters_->prev = w;
  waiters_ = w;
  w->linked = true;
}

void Syncobj::remove_waiter_locked(SyncobjPointWaiter* w) {
  if (!w->linked) return;
  if (w->prev) w->prev->next = w->next;
  else waiters_ = w->next;
  if (w->next) w->next->prev = w->prev;
  w->prev = w->next = nullptr;
  w->linked = false;
}

void Syncobj::add_eventfd_locked(std::shared_ptr<SyncobjEventfd> e) {
  if (FencePtr f = find_locked(e->point())) {
    SyncobjEventfd::bind_locked(e, std::move(f));
    return;
  }
  eventfds_.push_back(std::move(e));
}

void Syncobj::notify_locked() {
  for (SyncobjPointWaiter* w = waiters_; w;) {
    SyncobjPointWaiter* next = w->next;
    if (FencePtr f = find_locked(w->point)) {
      remove_waiter_locked(w);
      w->fence = std::move(f);
    }
    w = next;
  }
  for (size_t i = 0; i < eventfds_.size();) {
    if (FencePtr f = find_locked(eventfds_[i]->point())) {
      std::shared_ptr<SyncobjEventfd> e = std::move(eventfds_[i]);
      eventfds_.erase(eventfds_.begin() + static_cast<long>(i));
      SyncobjEventfd::bind_locked(e, std::move(f));
    } else {
      i++;
    }
  }
}

void Syncobj::collect_garbage_locked() {
  // Keep at least the last link so a binary syncobj still holds its
  // (signalled) fence: WAIT on it must succeed, not report "no fence".
  size_t drop = 0;
  while (drop + 1 < links_.size() && links_[drop].fence->is_signalled()) {
    const SyncLink& l = links_[drop];
    if (!gc_error_ && l.fence->status() < 0) gc_error_ = l.fence;
    gc_point_ = std::max(gc_point_, l.point);
    drop++;
  }
  if (drop) links_.erase(links_.begin(), links_.begin() + static_cast<long>(drop));
}

}  // namespace wsys::sim
