// HeapSizingPolicy: how much a growable tiler heap should commit up front,
// learned from what recent frames actually used, and when an idle heap is
// oversized enough to be recreated smaller.
//
// A tiler heap that starts too small costs a GPU fault per 2 MiB (panfrost)
// or an incremental render (panthor tiler OOM); one that starts at the 128 MiB
// worst case costs memory nobody uses ("our memory consumption is scary").
// The policy sits between the two: recommend the recent peak plus headroom,
// and shrink only a heap that is both idle and clearly oversized.
//
// Pure and deterministic: no clock, no kernel, no allocation after create();
// the caller passes the time. Not thread-safe: the owning Heap serialises
// calls (one policy per heap or per device, as the owner decides).
// docs/scratch-and-heaps.md explains the parameters with an example.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "wsys/result.hpp"

namespace wsys::core {

struct HeapPolicyConfig {
  // Commit unit: a panthor tiler chunk or the panfrost 2 MiB fault step.
  // Power of two. Every recommendation is a multiple of it.
  uint64_t granule = uint64_t{2} << 20;
  // Bounds of every recommendation; multiples of granule,
  // granule <= min_commit <= max_commit <= kMaxHeapCommit.
  uint64_t min_commit = uint64_t{2} << 20;
  uint64_t max_commit = uint64_t{128} << 20;
  // Frames whose peaks the recommendation covers, 1..kMaxHistoryFrames. A
  // one-off burst stops inflating the recommendation after this many frames.
  uint32_t history_frames = 16;
  // Fraction of the window peak added as headroom (at least one granule), so
  // a frame slightly above the recent peak does not grow the heap. 0..4.
  double headroom = 0.25;
  // A heap unused this long (> 0) may be shrunk.
  uint64_t idle_shrink_ns = 1'000'000'000;
  // Oversized means committed > shrink_factor * recommended. Must be > 1 so a
  // heap just shrunk to the recommendation never qualifies again at once.
  double shrink_factor = 2.0;
  // Recommendation before any frame is recorded, in granules, clamped to
  // [min_commit, max_commit]: 4 x 2 MiB = 8 MiB by default (see initial_commit).
  uint32_t cold_start_granules = 4;
};

// What the policy has learned, for statistics and WSYS_DEBUG=heap.
struct HeapPolicyStats {
  uint64_t frames_recorded = 0;           // since create()
  uint32_t window_frames = 0;             // frames in the window: min(recorded, history)
  uint64_t window_peak_bytes = 0;         // largest usage in the window; 0 before any frame
  uint64_t recommended_commit_bytes = 0;  // initial_commit()
  uint64_t last_frame_ns = 0;             // largest now_ns passed to record_frame
};

class HeapSizingPolicy {
 public:
  static constexpr uint32_t kMaxHistoryFrames = 64;
  // No GPU has more than 48 VA bits, so no heap can commit more. The cap also
  // keeps the headroom arithmetic exact in a double and free of overflow.
  static constexpr uint64_t kMaxHeapCommit = uint64_t{1} << 48;

  // -EINVAL unless: granule is a power of two; min_commit and max_commit are
  // multiples of granule with granule <= min_commit <= max_commit <=
  // kMaxHeapCommit; history_frames is 1..64; headroom is a number in [0, 4];
  // idle_shrink_ns > 0; shrink_factor is a finite number > 1.
  static Result<HeapSizingPolicy> create(const HeapPolicyConfig& config);

  // Records the bytes the tiler actually used in a frame (its peak), at time
  // now_ns. O(history_frames), no allocation. Any value is accepted: usage
  // above max_commit simply pins the recommendation at max_commit.
  void record_frame(uint64_t used_bytes, uint64_t now_ns);

  // What a new heap should commit: the window's peak plus headroom
  // (max(headroom * peak, granule)), rounded up to the granule and clamped to
  // [min_commit, max_commit]. Before any frame: the cold-start commit,
  // cold_start_granules * granule clamped the same way. Why not min_commit:
  // the first frames of a context are its most latency-visible, and one
  // granule is below what even a simple UI frame bins, so every new context
  // would start by faulting or rendering incrementally. A few granules cover
  // light scenes (panthor's own default is 5 chunks of 2 MiB) and cost at
  // most a few MiB per context until the history takes over.
  uint64_t initial_commit() const { return recommended_; }

  // True when the heap is idle (now_ns - last_use_ns >= idle_shrink_ns) and
  // oversized (committed_bytes > shrink_factor * initial_commit()). Both are
  // needed: a busy heap is never recreated, and a heap a little above the
  // recommendation is kept (recreating costs more than the memory saved), so
  // decisions do not flap. A last_use_ns after now_ns (a clock the caller got
  // out of order) counts as not idle.
  bool should_shrink(uint64_t committed_bytes, uint64_t last_use_ns, uint64_t now_ns) const;

  // For a heap that commits on demand (HeapBackend::commits_on_demand): true
  // when it is idle as above and holds more than `floor_bytes`, what a new
  // heap would hold. Its recommendation is not held memory (a new heap
  // faults it in only when a frame needs it), so being idle is enough: the
  // shrink factor, which protects heaps that commit the recommendation up
  // front from flapping, does not apply.
  bool should_release_idle(uint64_t committed_bytes, uint64_t floor_bytes, uint64_t last_use_ns,
                           uint64_t now_ns) const;

  // The size to recreate an oversized heap at: the current recommendation.
  uint64_t shrink_target() const { return initial_commit(); }

  HeapPolicyStats stats() const;
  const HeapPolicyConfig& config() const { return config_; }

 private:
  explicit HeapSizingPolicy(const HeapPolicyConfig& config);
  uint64_t cold_start_commit() const;
  uint64_t commit_for_peak(uint64_t peak) const;
  uint64_t clamp_commit(uint64_t bytes) const;

  HeapPolicyConfig config_;
  // Ring of the last history_frames peaks; next_ is where the next one goes.
  std::array<uint64_t, kMaxHistoryFrames> peaks_{};
  uint32_t next_ = 0;
  uint32_t window_frames_ = 0;
  uint64_t frames_recorded_ = 0;
  uint64_t window_peak_ = 0;
  uint64_t recommended_ = 0;
  uint64_t last_frame_ns_ = 0;
};

}  // namespace wsys::core
