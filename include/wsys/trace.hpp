// WSYS_TRACE: the frontend's side of wsys's trace (docs/trace.md).
//
// With WSYS_TRACE=FILE set, wsys writes a Chrome/Perfetto JSON trace of
// its memory events (allocations, binds, heap changes, cache trims) and
// memory counters. A frontend marks its own API calls with a Span; every
// wsys event the call causes, on its thread or (through flow()) on another,
// is linked to it by a flow arrow. Off, a Span costs one relaxed load.
#pragma once

#include <atomic>
#include <cstdint>

namespace wsys::trace {

namespace detail {
extern std::atomic<bool> g_on;
}  // namespace detail

// Whether a trace is being written (one relaxed load).
inline bool enabled() { return detail::g_on.load(std::memory_order_relaxed); }

// A named slice ("vkQueueBindSparse") on the calling thread, from
// construction to destruction. `name` must outlive the Span (a literal).
class Span {
 public:
  // `follows`: a flow id from another Span's flow() (e.g. the API call that
  // handed this thread its work); 0 for none.
  explicit Span(const char* name, uint64_t follows = 0) {
    if (enabled()) begin(name, follows);
  }
  ~Span() {
    if (active_) end();
  }
  Span(const Span&) = delete;
  Span& operator=(const Span&) = delete;

  // An id another thread's Span can follow (0 when not tracing).
  uint64_t flow();
  // When the slice began (CLOCK_MONOTONIC ns; 0 when not tracing).
  uint64_t start_ns() const { return start_ns_; }
  // Whether this is the calling thread's innermost open Span (Spans end in
  // reverse order of their beginning, on their own thread).
  bool innermost() const;

 private:
  void begin(const char* name, uint64_t follows);
  void end();

  const char* name_ = nullptr;
  Span* outer_ = nullptr;
  uint64_t start_ns_ = 0;
  bool active_ = false;
};

// flow() of the calling thread's innermost open Span (0 when there is none
// or when not tracing): hands work to another thread without passing the
// Span along.
uint64_t current_flow();

}  // namespace wsys::trace
