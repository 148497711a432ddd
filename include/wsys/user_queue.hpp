// wsys::UserQueue: user-mode submission. Commands go into a ring buffer in
// GPU memory and a doorbell write tells the GPU; no system call per
// submission. Where the kernel has no user queues (every released kernel
// today: the kernel model offers them as an extension, see
// docs/user-queues.md), create() reports -EOPNOTSUPP and the frontend keeps
// submitting through groups.
//
// Memory: while a queue can run, the kernel keeps everything its Vm maps
// resident (coarse pinning, docs/user-queues.md). Under memory pressure the
// kernel's eviction fence waits for the submission fences already handed
// out, suspends the queue at a command boundary and reclaims; the next
// ring() (or resume()) brings the memory back. Callers see latency, never
// lost work.
//
// Threads: push/end_submission/ring are serialised by the queue (several
// producers may share one queue; each submission is one push...end_submission
// sequence under the caller's own ordering). wait/export_point/completed
// may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>

#include "wsys/bo.hpp"
#include "wsys/result.hpp"
#include "wsys/sync.hpp"
#include "wsys/va_allocator.hpp"

namespace wsys {

class Device;
class Vm;

struct UserQueueOptions {
  // Power of two, 4 KiB .. 1 MiB.
  uint32_t ring_bytes = 64 * 1024;
  // wait(): how long to poll the seqno before sleeping on a fence.
  int64_t poll_ns = 20'000;
};

struct UserQueueStats {
  uint64_t submissions = 0;   // end_submission calls
  uint64_t rings = 0;         // doorbell writes
  uint64_t waits_polled = 0;  // waits satisfied while polling
  uint64_t waits_fenced = 0;  // waits that slept on a submission fence
  uint64_t ring_full_waits = 0;  // pushes that waited for room
};

struct UserQueueState {
  bool suspended = false;  // evicted by the kernel, resumes on the next ring
  bool dead = false;       // killed (timeout or fault): nothing more runs
  uint64_t completed_seqno = 0;
  uint64_t suspensions = 0;
};

class UserQueue {
 public:
  // A queue on `vm` (its own kernel group). -EOPNOTSUPP without kernel
  // support; -EINVAL for bad options.
  static Result<std::unique_ptr<UserQueue>> create(Vm& vm, const UserQueueOptions& options = {});
  ~UserQueue();
  UserQueue(const UserQueue&) = delete;
  UserQueue& operator=(const UserQueue&) = delete;

  // Appends commands (the kernel's command format; a multiple of 8 bytes;
  // no single command larger than the ring). Waits for room in the ring;
  // -ECANCELED if the queue died, -ETIME after 10 s without room.
  Result<void> push(std::span<const uint8_t> commands);
  // Ends the current submission: returns its seqno (1, 2, ...). The GPU
  // sees it after ring().
  Result<uint64_t> end_submission();
  // Publishes what was pushed and writes the doorbell.
  void ring();

  // The last seqno the GPU completed (a read of user memory).
  uint64_t completed() const;
  // The last seqno published by ring().
  uint64_t submitted() const { return rung_.load(std::memory_order_acquire); }
  // Waits until `seqno` completed or the absolute CLOCK_MONOTONIC deadline
  // passed (0 polls): polls first, then sleeps on a submission fence.
  // -ETIME while pending, -EINVAL for a seqno not rung yet, -ECANCELED if
  // the queue died before it.
  Result<void> wait(uint64_t seqno, int64_t abs_deadline_ns);
  // Puts a fence for `seqno` (rung) at `at` (point 0: a binary syncobj),
  // to share with other queues, processes or the display. -EAGAIN while
  // the kernel is evicting the queue's memory (try again).
  Result<void> export_point(uint64_t seqno, SyncPoint at);
  // A new sync_file fd (O_CLOEXEC, the caller's to close) that signals
  // when `seqno` (rung) completes: for another process, another device or
  // the display. The fd can be passed to another process and imported
  // there (DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE with IMPORT_SYNC_FILE) or polled.
  // -EAGAIN while the kernel is evicting the queue's memory.
  Result<int> export_sync_file(uint64_t seqno);
  // Brings an evicted queue back now (ring() does it too).
  Result<void> resume();

  UserQueueState state() const;
  UserQueueStats stats() const;
  // The ring's GPU address and size, for tools.
  uint64_t ring_gpu_va() const { return ring_va_; }
  uint32_t ring_bytes() const { return ring_size_; }

 private:
  struct Impl;
  UserQueue() = default;
  Result<void> append(const uint8_t* p, uint32_t n);  // lock_ held
  Result<void> room(uint32_t n);                      // lock_ held

  std::shared_ptr<Device> device_;
  std::unique_ptr<Impl> impl_;
  BoRef bo_;  // ring + control page
  uint8_t* ring_ = nullptr;
  volatile uint64_t* ctrl_ = nullptr;  // rptr, wptr, seqno
  volatile uint32_t* doorbell_ = nullptr;
  uint64_t ring_va_ = 0;
  uint32_t ring_size_ = 0;
  int64_t poll_ns_ = 0;
  std::mutex lock_;
  uint64_t w_ = 0;          // lock_
  uint64_t next_seqno_ = 0;  // lock_
  uint64_t pushed_seqno_ = 0;  // lock_: ended, not yet rung
  std::atomic<uint64_t> rung_{0};
  mutable std::atomic<uint64_t> s_subs_{0}, s_rings_{0}, s_polled_{0}, s_fenced_{0}, s_full_{0};
};

}  // namespace wsys
