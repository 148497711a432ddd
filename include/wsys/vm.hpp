// wsys::Vm: a GPU virtual address space and its bind queue.
//
// Owns the address allocator of its range (panthor; panfrost's kernel
// places buffers itself, so there a Vm only validates), builds VM_BIND
// batches, and keeps the bookkeeping that makes binds cheap and safe:
//  - BindBatch collects map / unmap / sync-only ops with wait and signal
//    points; adjacent maps of one buffer (contiguous VA and offset, same
//    flags) and adjacent unmaps coalesce, so a thousand neighbouring 64 KiB
//    pages can be one op; the whole batch is one ioctl.
//  - Modes: Immediate (returns with the page tables updated), Async (queued
//    on the kernel's bind queue, ordered by the batch's points) and
//    DeferToIdle (behind the Vm's activity timeline: after every submission
//    that used the Vm, without blocking the caller).
//  - VA lifetime: free_va_after(range, point) parks a range until a point
//    signals and returns it to the allocator lazily (one SYNCOBJ_QUERY
//    covers every parked range); the record is allocated before the unmap
//    that will signal it is submitted, so nothing is allocated once the
//    kernel has the bind (the model's signalling-section counter proves it).
//  - An unusable VM (an async bind failed in the kernel) is reported by
//    usable(); recreate() builds a new kernel VM and replays every live
//    mapping into it (the Vm tracks its mappings by range for that).
//
// Thread-safe. A Vm keeps its Device alive (except the Device's own Vm,
// which the Device owns).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "wsys/bo.hpp"
#include "wsys/result.hpp"
#include "wsys/sync.hpp"
#include "wsys/va_allocator.hpp"

namespace wsys {

namespace kmod {
class Bo;
class Vm;
}
class Device;
struct KernelAccess;

enum MapFlags : uint32_t {
  kMapReadOnly = 1u << 0,
  kMapNoExec = 1u << 1,
  kMapUncached = 1u << 2,
};

enum class BindMode { Immediate, Async, DeferToIdle };

class BindBatch {
 public:
  // Maps [va, va + size_bytes) to `bo` at `bo_offset`. The batch keeps `bo`
  // alive until it is submitted or cleared.
  void map(Bo& bo, uint64_t bo_offset, uint64_t va, uint64_t size_bytes, uint32_t map_flags = 0);
  void unmap(uint64_t va, uint64_t size_bytes);
  // Maps [va, va + size_bytes) over the kernel's dummy page (MAP_SPARSE:
  // reads undefined -- zero on the model --, writes dropped, never
  // executable). Only where DeviceInfo::sparse_map is true; elsewhere the
  // bind fails with -EOPNOTSUPP and nothing is submitted.
  void map_sparse(uint64_t va, uint64_t size_bytes);
  // Points the whole batch waits for / signals (Async only).
  void wait(SyncPoint p) { waits_.push_back(p); }
  void signal(SyncPoint p) { signals_.push_back(p); }
  void clear();
  bool empty() const { return ops_.empty() && waits_.empty() && signals_.empty(); }
  size_t op_count() const { return ops_.size(); }  // after coalescing
  size_t requested_ops() const { return requested_; }
  // Pre-sizes the arrays (no allocation while adding up to n ops).
  void reserve(size_t n) { ops_.reserve(n); }

 private:
  friend class Vm;
  struct Op {
    bool map = false;
    bool sparse = false;           // a map over the dummy page (no bo)
    std::shared_ptr<kmod::Bo> bo;  // keeps the GEM handle open until submitted
    uint64_t bo_offset = 0, va = 0, size = 0;
    uint32_t flags = 0;
  };
  std::vector<Op> ops_;
  std::vector<SyncPoint> waits_, signals_;
  size_t requested_ = 0;
};

struct VmStats {
  uint64_t va_start = 0, va_end = 0;
  uint64_t bind_calls = 0;       // ioctls
  uint64_t ops_requested = 0;    // ops added to batches
  uint64_t ops_submitted = 0;    // after coalescing
  uint64_t immediate = 0, async = 0, deferred = 0;
  uint64_t mappings = 0;         // live tracked mappings
  uint64_t va_parked = 0;        // ranges waiting for their point
  uint64_t va_reclaimed = 0;     // parked ranges returned
  uint64_t recreations = 0;
  // Waits wsys made for itself (an unmap the kernel would not queue, a full
  // VA space, teardown) that gave up after their deadline; a point that
  // timed out once is only polled afterwards.
  uint64_t waits_timed_out = 0;
  VaHeapStats va;
};

class Vm {
 public:
  // A new VM on `device` (va_range 0: the kernel's default).
  static Result<std::shared_ptr<Vm>> create(std::shared_ptr<Device> device, uint64_t va_range = 0);
  ~Vm();
  Vm(const Vm&) = delete;
  Vm& operator=(const Vm&) = delete;

  Device& device() const { return *device_; }
  // The kernel's id for this VM (it changes when recreate() replaces it).
  uint32_t kernel_id() const;
  // The range the kernel gave this VM (not va_start: that is <stdarg.h>'s
  // macro).
  uint64_t user_va_start() const;
  uint64_t user_va_end() const;
  bool kernel_managed_va() const;

  // --- addresses (-EOPNOTSUPP where the kernel places buffers) ---
  Result<VaAllocation> alloc_va(uint64_t size_bytes, uint64_t align_bytes = 0,
                                uint32_t no_cross_log2 = 0);
  Result<VaAllocation> alloc_va_fixed(uint64_t addr, uint64_t size_bytes);
  // Back to the allocator now (the range must no longer be mapped).
  Result<void> free_va(const VaAllocation& va);
  // Back to the allocator once `done` signals (the range's unmap).
  Result<void> free_va_after(const VaAllocation& va, SyncPoint done);
  // Returns parked ranges whose point signalled; `block` waits for all.
  size_t reclaim(bool block = false);

  // --- binds ---
  // Submits the batch as one ioctl and clears it on success.
  // `failed_op` (if given) is the first op not done (see kmod::Vm::bind).
  Result<void> bind(BindBatch& batch, BindMode mode, size_t* failed_op = nullptr);
  // Unmaps `va` and frees the range: at once when `after` is empty, else
  // by an async unmap waiting for `after`, the range parked behind the
  // Vm's own unmap timeline.
  Result<void> unmap_and_free(const VaAllocation& va, std::optional<SyncPoint> after);
  // The same behind every point of `after` (a buffer several queues used);
  // points with syncobj 0 are ignored.
  Result<void> unmap_and_free(const VaAllocation& va, std::span<const SyncPoint> after);

  // --- activity timeline (0 where the kernel has no deferred binds) ---
  uint32_t activity_syncobj() const;
  uint64_t activity_point() const;

  // --- unusable VMs ---
  bool usable();
  // A new kernel VM with every live mapping replayed (same addresses), for
  // a Vm an async failure made unusable: what was asked for, including the
  // async ops whose jobs failed. Parked ranges are freed (their unmaps died
  // with the old VM). Submissions (groups, tiler heaps) must be re-created
  // on the new kernel VM by the caller (kernel_id() names it).
  Result<void> recreate();

  VmStats stats() const;

 private:
  struct Impl;
  friend class Device;
  friend class DeviceVa;
  friend class Heap;
  friend struct KernelAccess;
  Vm(Device* device, std::shared_ptr<Device> owner);
  Result<void> init(uint64_t va_range);
  // The current kernel VM, shared: recreate() replaces it, and a caller
  // holding the old one keeps a valid (if unusable) object.
  std::shared_ptr<kmod::Vm> kernel_vm() const;
  Device* device_;
  std::shared_ptr<Device> owner_;  // null for the Device's own Vm
  std::unique_ptr<Impl> impl_;
};

}  // namespace wsys
