// Fences and the model's one wait/wake mechanism.
//
// A Fence is the model's dma_fence: created unsignalled, signalled exactly
// once with a status (0 or a negative errno). Every state change that a
// waiter could care about (a fence signalled, a syncobj gaining or losing a
// fence) happens under the process-wide SyncState lock and bumps its epoch;
// waiters re-check their condition under that lock and sleep on one
// condition variable. That is a real blocking wait (no polling) that is
// correct for any combination of fences, syncobjs and timeline points, at
// the cost of waking every waiter on every change, which is cheap at the
// model's scale.
//
// Signalling takes only the SyncState lock, which is never held while
// allocating, so signalling is allowed inside a signalling section. Waiting
// is not (it is counted as a violation there).
#pragma once

#include <time.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>

namespace wsys::sim {

class SyncState {
 public:
  static SyncState& get();

  std::mutex& lock() { return mutex_; }

  // Call with lock() held after changing anything a waiter may test.
  void changed_locked() {
    epoch_++;
    cv_.notify_all();
  }

  // Waits (lock held through `lk`) until pred() is true or the absolute
  // CLOCK_MONOTONIC deadline passes. deadline_ns < 0 means forever.
  // Returns pred()'s final value.
  bool wait_until(std::unique_lock<std::mutex>& lk, int64_t deadline_ns,
                  const std::function<bool()>& pred);

 private:
  std::mutex mutex_;
  std::condition_variable cv_;  // waits on CLOCK_MONOTONIC (steady_clock)
  uint64_t epoch_ = 0;
};

// Current CLOCK_MONOTONIC time in nanoseconds.
int64_t monotonic_ns();

class Fence {
 public:
  Fence() = default;
  Fence(const Fence&) = delete;
  Fence& operator=(const Fence&) = delete;

  // A fence that is already signalled with status 0 (what CREATE_SIGNALED
  // and SIGNAL install).
  static std::shared_ptr<Fence> signalled();

  // Signals the fence. Safe inside a signalling section: no allocation.
  // A second signal is ignored (first status wins), as for dma_fence.
  void signal(int status = 0);
  void signal_locked(int status);  // SyncState lock held

  bool is_signalled() const { return signalled_.load(std::memory_order_acquire); }
  // 0 while unsignalled or signalled OK; negative errno if signalled with error.
  int status() const { return status_.load(std::memory_order_acquire); }

  // Blocks until signalled or the absolute deadline (<0: forever).
  // Returns true if signalled. Counted as a violation in a signalling section.
  bool wait(int64_t deadline_ns = -1);

  // An optional sequence number for timeline bookkeeping and debugging.
  uint64_t seqno = 0;

 private:
  std::atomic<bool> signalled_{false};
  std::atomic<int> status_{0};
};

using FencePtr = std::shared_ptr<Fence>;

}  // namespace wsys::sim
