// HeapSizingPolicy (see heap_policy.h). The recommendation is recomputed on
// record_frame, not on every query: queries happen per heap creation and per
// idle check, frames once each, and a 64-entry scan is cheap either way.
#include "winsys/core/heap_policy.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>

namespace wsys::core {

Result<HeapSizingPolicy> HeapSizingPolicy::create(const HeapPolicyConfig& c) {
  const uint64_t g = c.granule;
  if (g == 0 || !std::has_single_bit(g)) return Error(-EINVAL);
  if (c.min_commit < g || c.min_commit % g != 0) return Error(-EINVAL);
  if (c.max_commit < c.min_commit || c.max_commit % g != 0) return Error(-EINVAL);
  if (c.max_commit > kMaxHeapCommit) return Error(-EINVAL);
  if (c.history_frames == 0 || c.history_frames > kMaxHistoryFrames) return Error(-EINVAL);
  // Written so that NaN fails every comparison and is rejected.
  if (!(c.headroom >= 0.0 && c.headroom <= 4.0)) return Error(-EINVAL);
  if (c.idle_shrink_ns == 0) return Error(-EINVAL);
  if (!(c.shrink_factor > 1.0 && std::isfinite(c.shrink_factor))) return Error(-EINVAL);
  return HeapSizingPolicy(c);
}

HeapSizingPolicy::HeapSizingPolicy(const HeapPolicyConfig& config) : config_(config) {
  recommended_ = cold_start_commit();
}

uint64_t HeapSizingPolicy::clamp_commit(uint64_t bytes) const {
  return std::clamp(bytes, config_.min_commit, config_.max_commit);
}

uint64_t HeapSizingPolicy::cold_start_commit() const {
  // Compared in granules first: cold_start_granules * granule can exceed 64 bits.
  const uint64_t max_granules = config_.max_commit / config_.granule;
  if (config_.cold_start_granules >= max_granules) return config_.max_commit;
  return clamp_commit(uint64_t{config_.cold_start_granules} * config_.granule);
}

uint64_t HeapSizingPolicy::commit_for_peak(uint64_t peak) const {
  // Anything at or above the cap is the cap; below it, peak < 2^48 so the
  // double arithmetic is exact enough and nothing below can overflow.
  if (peak >= config_.max_commit) return config_.max_commit;
  const double scaled = std::ceil(static_cast<double>(peak) * config_.headroom);
  const uint64_t extra = std::max(static_cast<uint64_t>(scaled), config_.granule);
  const uint64_t mask = config_.granule - 1;
  const uint64_t rounded = (peak + extra + mask) & ~mask;
  return clamp_commit(rounded);
}

void HeapSizingPolicy::record_frame(uint64_t used_bytes, uint64_t now_ns) {
  peaks_[next_] = used_bytes;
  next_ = (next_ + 1) % config_.history_frames;
  window_frames_ = std::min(window_frames_ + 1, config_.history_frames);
  ++frames_recorded_;
  // A clock that steps back does not make the last frame look older.
  last_frame_ns_ = std::max(last_frame_ns_, now_ns);

  // The ring holds exactly the window: slots [0, window_frames_) are live
  // (filled in order until the ring wraps, all of them after).
  window_peak_ = *std::max_element(peaks_.begin(), peaks_.begin() + window_frames_);
  recommended_ = commit_for_peak(window_peak_);
}

bool HeapSizingPolicy::should_shrink(uint64_t committed_bytes, uint64_t last_use_ns,
                                     uint64_t now_ns) const {
  if (now_ns < last_use_ns) return false;
  if (now_ns - last_use_ns < config_.idle_shrink_ns) return false;
  // In double because shrink_factor is fractional. Below 2^53 bytes the
  // conversion is exact; above, the rounding is far smaller than a granule
  // and only matters within bytes of the threshold, where either answer is fine.
  return static_cast<double>(committed_bytes) >
         config_.shrink_factor * static_cast<double>(recommended_);
}

bool HeapSizingPolicy::should_release_idle(uint64_t committed_bytes, uint64_t floor_bytes,
                                           uint64_t last_use_ns, uint64_t now_ns) const {
  if (now_ns < last_use_ns) return false;
  if (now_ns - last_use_ns < config_.idle_shrink_ns) return false;
  return committed_bytes > floor_bytes;
}

HeapPolicyStats HeapSizingPolicy::stats() const {
  HeapPolicyStats s;
  s.frames_recorded = frames_recorded_;
  s.window_frames = window_frames_;
  s.window_peak_bytes = window_peak_;
  s.recommended_commit_bytes = recommended_;
  s.last_frame_ns = last_frame_ns_;
  return s;
}

}  // namespace wsys::core
