#include "winsys/sim/syncobj.h"

namespace wsys::sim {

void Syncobj::replace_locked(FencePtr f) {
  links_.clear();
  gc_point_ = 0;
  gc_had_fence_ = false;
  if (f) links_.push_back({0, std::move(f)});
  collect_garbage_locked();
  SyncState::get().changed_locked();
}

void Syncobj::add_point_locked(FencePtr f, uint64_t point) {
  // An out-of-order point joins the timeline at its current end, as the
  // kernel's chain does (it warns; the seqno cannot go backwards).
  uint64_t last = last_point_locked();
  if (point < last) point = last;
  f->seqno = point;
  links_.push_back({point, std::move(f)});
  collect_garbage_locked();
  SyncState::get().changed_locked();
}

uint64_t Syncobj::last_point_locked() const {
  if (!links_.empty()) return links_.back().point;
  return gc_point_;
}

long Syncobj::depends_end_locked(uint64_t point) const {
  if (point == 0) {
    if (links_.empty()) return gc_had_fence_ ? 0 : -1;
    return static_cast<long>(links_.size());
  }
  if (point <= gc_point_) return 0;  // already signalled and collected
  for (size_t i = 0; i < links_.size(); i++)
    if (links_[i].point >= point) return static_cast<long>(i + 1);
  return -1;
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
  for (long i = 0; i < end; i++) {
    int s = links_[static_cast<size_t>(i)].fence->status();
    if (s < 0) return s;
  }
  return 0;
}

bool Syncobj::collect_locked(uint64_t point, std::vector<FencePtr>* out) const {
  long end = depends_end_locked(point);
  if (end < 0) return false;
  for (long i = 0; i < end; i++) out->push_back(links_[static_cast<size_t>(i)].fence);
  return true;
}

uint64_t Syncobj::query_locked(bool last_submitted) const {
  bool timeline = gc_point_ > 0 || (!links_.empty() && links_.back().point > 0);
  if (!timeline) return 0;
  if (last_submitted) return last_point_locked();
  uint64_t p = gc_point_;
  for (const SyncLink& l : links_) {
    if (!l.fence->is_signalled()) break;
    if (l.point > p) p = l.point;
  }
  return p;
}

void Syncobj::collect_garbage_locked() {
  // Keep at least the last link so a binary syncobj still holds its
  // (signalled) fence: WAIT on it must succeed, not report "no fence".
  size_t drop = 0;
  while (drop + 1 < links_.size() && links_[drop].fence->is_signalled() &&
         links_[drop].fence->status() == 0) {
    if (links_[drop].point > gc_point_) gc_point_ = links_[drop].point;
    gc_had_fence_ = true;
    drop++;
  }
  if (drop) links_.erase(links_.begin(), links_.begin() + static_cast<long>(drop));
}

}  // namespace wsys::sim
