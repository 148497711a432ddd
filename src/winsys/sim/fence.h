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
// Things that must *act* when a fence signals (a merged fence counting down,
// a sync_file fd becoming readable, an eventfd being written) register a
// FenceWatcher, the model's dma_fence_cb: the watcher is allocated when it
// is registered (in an ioctl) and is called from the signalling path with
// the SyncState lock held, so signalling itself never allocates.
//
// Signalling takes only the SyncState lock and never allocates, so it is
// allowed inside a signalling section. Waiting is not (it is counted as a
// violation there).
#pragma once

#include <time.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

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

  // Number of changed_locked() calls so far (lock held). Tests use it to
  // see that something happened without sleeping.
  uint64_t epoch_locked() const { return epoch_; }

  // Waits (lock held through `lk`) until pred() is true or the absolute
  // CLOCK_MONOTONIC deadline passes. deadline_ns < 0 means forever; a
  // deadline at or before now only evaluates pred() once (a poll).
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

class Fence;

// Told once when a fence signals (dma_fence_cb). Called with the SyncState
// lock held, from whatever thread signals, possibly inside a signalling
// section: an implementation must not allocate, wait, or take any lock.
class FenceWatcher {
 public:
  virtual ~FenceWatcher() = default;
  virtual void fence_signalled_locked(Fence& fence) = 0;
};

// A watcher that forwards to `target` if it is still alive, so a fence does
// not keep its watcher's owner alive (no reference cycles through fences).
std::shared_ptr<FenceWatcher> make_weak_watcher(std::weak_ptr<FenceWatcher> target);

class Fence {
 public:
  Fence() = default;
  virtual ~Fence() = default;
  Fence(const Fence&) = delete;
  Fence& operator=(const Fence&) = delete;

  // A new fence that is already signalled with `status` (what
  // CREATE_SIGNALED and SIGNAL install: the kernel's private stub).
  static std::shared_ptr<Fence> signalled(int status = 0);
  // One process-wide signalled fence (the kernel's dma_fence_get_stub()),
  // for "that point already signalled"; never destroyed.
  static const std::shared_ptr<Fence>& stub();

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

  // Registers `w` to be called when this fence signals; the fence holds it
  // until then. Returns false (and does not register) if the fence has
  // already signalled. Allocates: call it from an ioctl, never while
  // signalling. SyncState lock held.
  bool add_watcher_locked(std::shared_ptr<FenceWatcher> w);

  // One fence that signals once all of `fences` have (dma_fence_array /
  // dma_fence_unwrap_merge), with the first error among them as status.
  // Merged inputs are flattened, so a merged fence only ever depends on
  // plain fences. Returns an input itself when that is enough (one
  // unsignalled input, or all signalled), the stub for an empty list.
  // Allocates; SyncState lock held.
  static std::shared_ptr<Fence> merge_locked(const std::vector<std::shared_ptr<Fence>>& fences);

  // An optional sequence number, set by whoever creates the fence, for
  // bookkeeping and debugging (the model's own code does not read it).
  uint64_t seqno = 0;

 private:
  std::atomic<bool> signalled_{false};
  std::atomic<int> status_{0};
  // Guarded by the SyncState lock.
  std::vector<std::shared_ptr<FenceWatcher>> watchers_;
  // For a merged fence: the plain fences it waits on (kept alive by it).
  std::vector<std::shared_ptr<Fence>> merged_from_;
};

using FencePtr = std::shared_ptr<Fence>;

}  // namespace wsys::sim
