// Fence signalling sections, checked.
//
// The kernel annotates the code between a fence's publication and its signal
// (dma_fence_begin_signalling/end) so lockdep can prove it never allocates
// memory that may wait on reclaim and never takes a lock that is held while
// allocating: either could deadlock with a shrinker waiting on that fence.
// The model does the same for its bind worker and job executor:
//   - SignallingSection marks the current thread as inside a section;
//   - every C++ heap allocation (global operator new, replaced in
//     signalling.cpp) made inside one is counted;
//   - every wait on a fence and every ReclaimMutex taken inside one is counted.
// Tests assert the counters stay zero. With WSYS_DEBUG_CHECKS (debug builds),
// or WSYS_SIM_SIGNALLING_ABORT=1, a violation aborts with a message instead.
#pragma once

#include <cstdint>
#include <mutex>

namespace wsys::sim {

struct SignallingViolations {
  uint64_t allocations = 0;     // operator new inside a section
  uint64_t blocking_locks = 0;  // ReclaimMutex locked inside a section
  uint64_t waits = 0;           // fence waits inside a section
  uint64_t total() const { return allocations + blocking_locks + waits; }
};

// Process-wide totals since start (or since the last reset).
SignallingViolations signalling_violations();
void reset_signalling_violations();

// Number of sections entered so far (so tests can see the check ran at all).
uint64_t signalling_sections_entered();

// True if the calling thread is inside a signalling section.
bool in_signalling_section();

// Reports a violation of `kind` if the calling thread is in a section.
enum class ViolationKind { Allocation, BlockingLock, Wait };
void note_if_signalling(ViolationKind kind, const char* what);

class SignallingSection {
 public:
  SignallingSection();
  ~SignallingSection();
  SignallingSection(const SignallingSection&) = delete;
  SignallingSection& operator=(const SignallingSection&) = delete;
};

// A lock that may be held while allocating memory (e.g. a file's handle
// table). Taking it inside a signalling section is a violation.
class ReclaimMutex {
 public:
  void lock() {
    note_if_signalling(ViolationKind::BlockingLock, "ReclaimMutex");
    m_.lock();
  }
  bool try_lock() { return m_.try_lock(); }
  void unlock() { m_.unlock(); }

 private:
  std::mutex m_;
};

}  // namespace wsys::sim
