// wsys::SparseBuffer: a sparse (partially resident) GPU buffer, the
// winsys half of a Vulkan ICD's sparse binding (vkQueueBindSparse).
//
// A SparseBuffer reserves a 64 KiB-aligned VA range in a Vm and tracks, per
// 64 KiB block (the Vulkan sparse block size), whether memory is bound
// there. Blocks with nothing bound are never left unmapped (a GPU access
// there would be a fatal MMU fault): they map a per-device dummy BO, 2 MiB
// large so that filling or unbinding a large range costs one bind op per
// 2 MiB, no-exec. What the dummy is depends on SparseUnbound, chosen at
// creation: ZeroReadOnly (the default) maps a zero-filled dummy read-only,
// so reads of unbound blocks return zero and a write faults; WritableSink
// maps a second, writable dummy, so writes to unbound blocks are discarded
// there (Vulkan's sparseResidency* requires that) and reads return
// whatever stray writes left (residencyNonResidentStrict is then false).
// Where the kernel can do it itself (panthor MAP_SPARSE, driver 1.9, once
// the bind layer can express it) ZeroReadOnly buffers use it instead of the
// dummy; see docs/sparse.md.
//
// Binds and unbinds are collected in a SparseBindBatch (one VM_BIND ioctl,
// adjacent blocks of one buffer coalesced into one op, like BindBatch) and
// submitted Immediate, Async (ordered by wait/signal SyncPoints, so a
// Vulkan queue can order its bind operations with its submissions) or
// DeferToIdle. Rebinding a bound block replaces its mapping (MAP over MAP:
// the kernel splits or replaces what is there). Each buffer also has an
// internal batch for the simple case (bind/unbind without a batch, then
// submit()).
//
// While a block is bound the buffer holds a reference to its Bo, so a
// bound Bo is never returned to the cache under the mapping. Residency and
// those references follow the submissions in submission order (an Async
// bind counts as done once submitted); the kernel's own view is what the
// Vm tracks.
//
// Where the kernel places every BO itself (panfrost) there is no
// user-managed VA, so sparse buffers are -EOPNOTSUPP there.
//
// Thread-safe: a SparseBuffer may be bound, queried and submitted from any
// thread (submissions touching one buffer are serialised, so its tracking
// follows the kernel's order). A SparseBindBatch is not: one thread fills
// and submits it, as with BindBatch.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include "wsys/bo.hpp"
#include "wsys/device.hpp"
#include "wsys/result.hpp"
#include "wsys/va_allocator.hpp"
#include "wsys/vm.hpp"

namespace wsys {

class SparseBuffer;

// The sparse block: the unit of residency, Vulkan's sparse block size. (A
// "page" elsewhere in wsys is the CPU's or the GPU MMU's 4 KiB one.)
inline constexpr uint64_t kSparseBlockBytes = 64 * 1024;
// The dummy BO's size: the most one dummy op maps (a 2 MiB MMU block).
inline constexpr uint64_t kSparseDummyBytes = 2 * 1024 * 1024;

// What the GPU finds at a block with nothing bound.
enum class SparseUnbound {
  // A zero-filled dummy mapped read-only: reads return zero, a write
  // faults (the context is lost). Where the kernel has MAP_SPARSE (and the
  // bind layer can express it) that is used instead: reads undefined.
  ZeroReadOnly,
  // A writable dummy (one per Device, separate from the zero one), mapped
  // read-write and no-exec: writes are discarded into it, never into a
  // real buffer, and reads return whatever stray writes left there (of any
  // sparse buffer of the Device). What a Vulkan ICD exposing
  // sparseResidencyBuffer needs on a kernel without MAP_SPARSE.
  WritableSink,
};

// Sparse binds of one or more SparseBuffers of one Vm, submitted as one
// VM_BIND ioctl. Holds the buffers it names and the Bos it binds until it
// is submitted or cleared.
class SparseBindBatch {
 public:
  SparseBindBatch() = default;
  ~SparseBindBatch() = default;
  SparseBindBatch(const SparseBindBatch&) = delete;
  SparseBindBatch& operator=(const SparseBindBatch&) = delete;

  // Points the whole batch waits for / signals (BindMode::Async only).
  void wait(SyncPoint p) { ops_.wait(p); }
  void signal(SyncPoint p) { ops_.signal(p); }
  // The underlying batch: other binds of the same Vm may ride in the same
  // ioctl (never over a SparseBuffer's range: its tracking would not know).
  BindBatch& ops() { return ops_; }
  bool empty() const { return ops_.empty(); }
  size_t op_count() const { return ops_.op_count(); }  // after coalescing
  // Drops everything (nothing was submitted).
  void clear();

  // Submits the batch as one ioctl and applies its changes to the buffers'
  // tracking; the batch is empty afterwards, whatever the outcome.
  // -EINVAL without a call when a buffer of the batch was destroyed
  // meanwhile or the batch names no buffer (raw ops alone: use Vm::bind);
  // Vm::bind's errors otherwise (-EINVAL for points without Async). On an
  // error what the kernel did (an Immediate bind stops at `*failed_op`) is
  // tracked and the rest dropped.
  Result<void> submit(BindMode mode, size_t* failed_op = nullptr);

 private:
  friend class SparseBuffer;
  // One bind or unbind of [first, first + count) blocks of `buf`. Its ops
  // are [op_first, op_last] of ops_ (a bind is one op, possibly merged into
  // the previous one; an unbind over the dummy one op per chunk).
  struct Change {
    SparseBuffer* buf = nullptr;
    uint64_t first = 0, count = 0;
    BoRef bo;  // null: unbind
    size_t op_first = 0, op_last = 0;
  };
  Result<void> submit_locked(BindMode mode, size_t* failed_op);

  BindBatch ops_;
  std::vector<Change> changes_;
  std::vector<std::shared_ptr<SparseBuffer>> keep_;  // distinct buffers (not owner_)
  Vm* vm_ = nullptr;
  SparseBuffer* owner_ = nullptr;  // set for a buffer's internal batch
};

class SparseBuffer : public std::enable_shared_from_this<SparseBuffer> {
 public:
  // A sparse buffer of `size` bytes (rounded up to 64 KiB) in `vm`, every
  // block unbound (see SparseUnbound). -EINVAL for size 0 or an unknown
  // `unbound`, -EOPNOTSUPP where the kernel places buffers itself
  // (panfrost), -ENOMEM when the VA range is full.
  static Result<std::shared_ptr<SparseBuffer>> create(
      std::shared_ptr<Vm> vm, uint64_t size_bytes,
      SparseUnbound unbound = SparseUnbound::ZeroReadOnly);
  // The same in the device's own Vm (the buffer keeps the Device alive).
  static Result<std::shared_ptr<SparseBuffer>> create(
      std::shared_ptr<Device> device, uint64_t size_bytes,
      SparseUnbound unbound = SparseUnbound::ZeroReadOnly);
  // Unmaps and frees the range at once if destroy() was not called.
  ~SparseBuffer();
  SparseBuffer(const SparseBuffer&) = delete;
  SparseBuffer& operator=(const SparseBuffer&) = delete;

  uint64_t gpu_va() const { return va_.addr; }
  uint64_t size() const { return va_.size; }  // bytes
  uint64_t block_count() const { return blocks_; }
  Vm& vm() const { return *vm_; }
  // Unbound blocks are the kernel's MAP_SPARSE (reads undefined) rather than
  // the dummy BO (reads zero).
  bool kernel_sparse() const { return kernel_sparse_; }
  SparseUnbound unbound_mode() const { return unbound_; }
  // The dummy BO unbound blocks map (null with kernel_sparse()): the zero
  // one or, for WritableSink, the writable one.
  const Bo* dummy_bo() const;

  // Binds blocks [block_first, block_first + block_count) to `bo` from
  // `bo_offset` (64 KiB-aligned), with MapFlags (kMapUncached is added for
  // a GPU-uncached Bo). A bound block is replaced. -EINVAL, nothing
  // changed: block_count 0, blocks outside the buffer, a misaligned
  // bo_offset, a range beyond the Bo, unknown flags, a Bo of another
  // device, a destroyed buffer, or a batch of another Vm.
  Result<void> bind(SparseBindBatch& batch, uint64_t block_first, uint64_t block_count, Bo& bo,
                    uint64_t bo_offset, uint32_t map_flags = kMapNoExec);
  // Unbinds blocks (back to the dummy). Unbinding an unbound block is fine.
  Result<void> unbind(SparseBindBatch& batch, uint64_t block_first, uint64_t block_count);

  // The same into the buffer's internal batch, submitted by submit().
  Result<void> bind(uint64_t block_first, uint64_t block_count, Bo& bo, uint64_t bo_offset,
                    uint32_t map_flags = kMapNoExec);
  Result<void> unbind(uint64_t block_first, uint64_t block_count);
  // Submits the internal batch (see SparseBindBatch::submit); `waits` and
  // `signals` need BindMode::Async (-EINVAL, the batch kept, otherwise or
  // for a zero syncobj). An empty batch with points is a pure sync op.
  Result<void> submit(BindMode mode, std::span<const SyncPoint> waits = {},
                      std::span<const SyncPoint> signals = {}, size_t* failed_op = nullptr);

  // Residency as of the last submission (false outside the buffer).
  bool is_resident(uint64_t block) const;
  uint64_t resident_blocks() const;

  // Unmaps the whole range and frees it: at once, or by an async unmap
  // behind `after` with the range parked until then (Vm::unmap_and_free).
  // The Bos still bound are released; an idle one is first marked used
  // until `after`, so the cache keeps it until the GPU is done with the
  // range. Later binds are -EINVAL; a second destroy() does nothing.
  Result<void> destroy(std::optional<SyncPoint> after = std::nullopt);
  bool destroyed() const { return destroyed_.load(std::memory_order_acquire); }

  // True when the kernel has MAP_SPARSE (DeviceInfo::sparse_map: kmod's
  // answer, panthor >= 1.9).
  static bool driver_has_map_sparse(const DeviceInfo& info);
  // True when buffers on `info` use MAP_SPARSE: the driver has it and the
  // bind layer (BindBatch::map_sparse) can express it.
  static bool uses_map_sparse(const DeviceInfo& info);

 private:
  friend class SparseBindBatch;
  struct Dummy;
  SparseBuffer() = default;
  Result<void> init(std::shared_ptr<Vm> vm, uint64_t size, SparseUnbound unbound);
  Result<void> check_range(uint64_t block_first, uint64_t block_count) const;
  Result<void> check_batch(SparseBindBatch& batch);
  // Adds the ops mapping [va, va + size) to the dummy (or MAP_SPARSE).
  void add_unbound(BindBatch& b, uint64_t va, uint64_t size) const;
  // Applies `c` (blocks of ops before `ops_done` only). Requires state_lock_.
  void apply(const SparseBindBatch::Change& c, size_t ops_done, std::vector<BoRef>& dropped);

  std::shared_ptr<Vm> vm_;  // aliases the Device for the Device's own Vm
  std::shared_ptr<Dummy> dummy_;
  bool kernel_sparse_ = false;
  SparseUnbound unbound_ = SparseUnbound::ZeroReadOnly;
  VaAllocation va_;
  uint64_t blocks_ = 0;
  std::atomic<bool> destroyed_{false};

  std::mutex own_lock_;  // the internal batch
  SparseBindBatch own_;
  std::mutex submit_lock_;  // a submission touching this buffer, destroy()
  mutable std::mutex state_lock_;  // the tracking below
  struct Blocks;                   // residency and the Bo bound at each block
  std::unique_ptr<Blocks> blocks_table_;
};

}  // namespace wsys
