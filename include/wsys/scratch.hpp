// wsys::ScratchPool: the device's thread-local (TLS) and workgroup-local
// (WLS) storage, one pool per device, shared by every context and thread.
//
// Why shared and growing: the hardware sizes scratch by the GPU's geometry
// (threads per core x core id range), not by the work a batch launches, so
// each context or batch holding its own buffer (Gallium allocates one per
// batch, panvk one per command buffer) multiplies the same large allocation
// by the number of batches in flight. The pool keeps ONE TLS and ONE WLS
// buffer, grown monotonically to the largest size asked for so far; every
// job points at it. Sharing is safe because a thread's slice is chosen by
// its core id and its hardware thread slot on that core, which no two
// threads resident at the same time share, whichever job they belong to.
//
// Sizes follow the formulas of docs/scratch-and-heaps.md:
//   TLS = npot(align16(per_thread)) * threads_per_core * core_id_range
//   WLS = npot(max(per_wg, 128)) * instances * core_id_range
// with the geometry read from the device's properties at create().
//
// Growth: a request that the current buffer holds is answered from it (a
// lock and a compare, no allocation, no kernel call). A larger one allocates
// a buffer of the formula's size (the device's BO cache rounds it to its
// size class, at most 12.5 % more) and retires the old one. Sizes are not
// rounded up to a power of two: both formulas already move in powers of two
// times a constant (TLS: threads_per_core * core_id_range, WLS:
// core_id_range), so every growth at least doubles the buffer and the
// number of growth steps is at most log2(largest / smallest request) (about
// ten in practice), while rounding the constant up would waste up to 2x
// (on a Mali-G610, 38912 -> 65536 slices: 1.7x) for no fewer steps.
//
// Retirement and GPU use: a retired buffer may still be used by jobs in
// flight, and by jobs of several contexts at once. Record each job's use of
// a binding with ScratchPool::mark_used(binding, point): it records the
// point on the Bo (Bo::mark_used, which keeps every queue's latest point)
// and in the pool (the same PendingUses, sync.hpp). A retired buffer is
// held ("parked") until every point recorded for it has signalled AND the
// Bo itself is idle (Bo::busy: its recorded uses and, where the kernel
// tracks them, its implicit fences), and only then handed back to the
// device. So the pool never gives the device a busy buffer, whichever way
// the uses were recorded (bo->mark_used() alone is enough too). In
// addition the binding holds a reference, so a buffer stays alive and
// mapped while any caller holds a binding to it, and a use recorded (with
// ScratchPool::mark_used) after the pool let a buffer go is tracked again.
// Parked buffers are checked without blocking: after a growth, on
// mark_used() while any are parked, and by reclaim().
//
// Lifetime: the pool keeps its Device alive; buffers keep their Device
// alive too, so a Device must not own its pool with a strong reference
// (that would be a cycle through the pool's buffers). A per-device accessor
// keeps a std::weak_ptr and calls create() when it has expired. Destroying
// the pool hands its buffers back at once, every use still pending recorded
// on the Bo, so the device's cache keeps each until all are done.
//
// Thread-safe: every call may be made from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "wsys/bo.hpp"
#include "wsys/result.hpp"
#include "wsys/sync.hpp"
#include "wsys/vm.hpp"

namespace wsys {

class Device;

// What a descriptor needs to point a job at scratch. A request for 0 bytes
// gives an empty binding (no bo, gpu_va 0, size 0): the descriptor's
// pointer is null.
struct ScratchBinding {
  // The pool's buffer at the time of the call. Holding it keeps the buffer
  // alive and mapped even after the pool has grown past it.
  BoRef bo;
  uint64_t gpu_va = 0;
  // Bytes this request needs (the formula), <= bo->size().
  uint64_t size = 0;
  // The descriptor's size field. TLS: log2(slice / 16) for the per-thread
  // slice npot(align16(per_thread)) (0 for 0..16 bytes). WLS: the size
  // scale, log2(npot(max(per_wg, 128))) + 1 (0 when no WLS is needed).
  uint32_t size_field = 0;
  // WLS only: the instance count the size was computed with
  // (npot(x) * npot(y) * npot(z), or 128 for an indirect dispatch).
  uint32_t wls_instances = 0;
};

struct ScratchPoolStats {
  uint64_t tls_bytes = 0;        // size of the current TLS buffer (0: none yet)
  uint64_t wls_bytes = 0;        // size of the current WLS buffer
  uint64_t tls_grows = 0;        // buffers allocated for TLS
  uint64_t wls_grows = 0;
  uint64_t grows = 0;            // tls_grows + wls_grows
  uint64_t bytes_held = 0;       // current buffers + parked ones, now
  uint64_t peak_bytes_held = 0;
  uint64_t parked_buffers = 0;   // retired, waiting for their recorded uses
  uint64_t parked_bytes = 0;
  uint64_t released = 0;         // retired buffers handed back to the device
  uint64_t requests = 0;         // tls() + wls() calls that needed a buffer
  uint64_t hits = 0;             // of those, answered without allocating
  uint64_t largest_tls_request = 0;  // bytes, the formula's
  uint64_t largest_wls_request = 0;
  uint64_t late_uses = 0;        // mark_used of a buffer the pool had let go
};

class ScratchPool {
 public:
  // A pool for `device`, its geometry from the device's properties
  // (threads_per_core = THREAD_TLS_ALLOC, or max_threads when 0;
  // core_id_range = highest present core + 1). -EINVAL for a null device
  // or properties that cannot size scratch (no shader cores, no threads).
  static Result<std::shared_ptr<ScratchPool>> create(std::shared_ptr<Device> device);

  ~ScratchPool();
  ScratchPool(const ScratchPool&) = delete;
  ScratchPool& operator=(const ScratchPool&) = delete;

  // TLS for shaders needing per_thread_bytes of stack each. Errors:
  // -EOVERFLOW (a size beyond 64 bits), -ENOMEM or the kernel's errno when
  // a larger buffer cannot be allocated (the pool keeps its current one).
  Result<ScratchBinding> tls(uint32_t per_thread_bytes);
  // WLS for a dispatch of x * y * z workgroups needing per_wg_bytes each
  // (indirect: the counts are ignored, 128 instances). Errors: -EINVAL for
  // a zero count on a direct dispatch; otherwise as tls().
  Result<ScratchBinding> wls(uint32_t per_wg_bytes, uint32_t x, uint32_t y, uint32_t z,
                             bool indirect);

  // Records that a submission using `binding` signals `done` (point 0: a
  // binary syncobj) when finished: on the Bo (Bo::mark_used) and in the
  // pool (see the top of this file). The syncobj must stay alive until the
  // point signals (a handle destroyed and reused by a new syncobj would read
  // as pending: the buffer is then held longer, never released early). An
  // empty binding is a no-op. -EINVAL for syncobj 0 or a buffer of another
  // device.
  Result<void> mark_used(const ScratchBinding& binding, SyncPoint done);

  // Hands back parked buffers whose recorded uses have all signalled,
  // without blocking. Returns how many were released.
  size_t reclaim();

  // The bytes tls()/wls() would need, without allocating (-EINVAL /
  // -EOVERFLOW as there).
  Result<uint64_t> tls_bytes_for(uint32_t per_thread_bytes) const;
  Result<uint64_t> wls_bytes_for(uint32_t per_wg_bytes, uint32_t x, uint32_t y, uint32_t z,
                                 bool indirect) const;

  uint32_t threads_per_core() const { return threads_per_core_; }
  uint32_t core_id_range() const { return core_id_range_; }
  Device& device() const { return *device_; }

  ScratchPoolStats stats() const;

 private:
  enum Kind { kTls = 0, kWls = 1 };
  struct Held {
    BoRef bo;
    PendingUses uses;  // latest point per syncobj, not yet seen signalled
  };

  ScratchPool(std::shared_ptr<Device> device, uint32_t threads_per_core, uint32_t core_id_range);
  Result<ScratchBinding> grow(Kind kind, uint64_t bytes, uint32_t size_field,
                              uint32_t wls_instances);
  ScratchBinding bind_locked(Kind kind, uint64_t bytes, uint32_t size_field,
                             uint32_t wls_instances) const;
  uint64_t held_bytes_locked() const;
  // Polls recorded uses (parked buffers, and the current ones' lists when
  // `prune_current`), drops the signalled ones and releases parked buffers
  // left with none. Non-blocking; skips if another thread is at it.
  size_t poll_uses(bool prune_current);

  std::shared_ptr<Device> device_;
  uint32_t threads_per_core_;
  uint32_t core_id_range_;

  std::mutex grow_lock_;  // one growth at a time (outside lock_)
  std::mutex poll_lock_;  // one poll pass at a time (outside lock_)

  mutable std::mutex lock_;  // guards everything below
  Held current_[2];          // kTls, kWls
  std::vector<Held> parked_;
  size_t prune_at_ = 16;     // a current buffer's use list this long gets pruned
  ScratchPoolStats stats_;
};

}  // namespace wsys
