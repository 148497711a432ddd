// SimVm: a GPU address space of the model, whose MMU is the CPU's MMU.
//
// A VM reserves a PROT_NONE window of CPU address space as large as its GPU
// VA range; GPU VA x is CPU address window_base() + x. Mapping a BO puts the
// BO's memfd pages at base + va (MAP_FIXED | MAP_SHARED, protections from
// the mapping flags); unmapping puts PROT_NONE back. Page tables are
// modelled for accounting and for the kernel's pre-allocation rule (see
// page_table.h); async binds run on the VM's own bind queue thread
// (bind_queue.h).
//
// This header is the interface the ioctl handlers (panthor VM_BIND,
// panfrost CREATE_BO) and tests use. Validation of the uapi rules is the
// ioctl handler's job; SimVm enforces only its own invariants (alignment,
// BO bounds, exclusive-VM BOs, the user VA range).
//
// Every operation has two halves, as in the kernel:
//   prepare  (ioctl context): validate against the VM and pre-allocate
//            everything the operation may need: the mapping-list nodes, a
//            BO reference (the kernel pins the pages) and the worst-case
//            page-table pages. May fail; changes nothing.
//   execute  (ioctl for synchronous binds, the bind queue's run step for
//            asynchronous ones): applies the operation using only what was
//            prepared; inside a fence signalling section for async jobs, so
//            it never allocates, never takes a ReclaimMutex, never waits.
//   Destroying the prepared op (outside any signalling section) returns the
//   unused page-table pages, frees tables emptied by the run step and drops
//   the references of mappings the step removed.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "winsys/sim/gem.h"
#include "winsys/sim/page_table.h"  // PtPageList, PageTableCounters

namespace wsys::sim {

class SimDevice;
class SimFile;
class BindQueue;

// Mapping flags (the model's own, decoupled from any uapi).
enum SimMapFlags : uint32_t {
  kSimMapReadOnly = 1u << 0,
  kSimMapNoExec = 1u << 1,
  kSimMapUncached = 1u << 2,
  // panthor 1.9 MAP_SPARSE: no BO; the range reads zero and drops writes.
  // The window gets one anonymous PROT_READ private mapping (the shared
  // zero page: no memory, one mmap whatever the size). A GPU store there
  // faults; the fault handler (gpu_fault.h) makes that one page writable
  // (sparse_write_fault) and the executor puts the zero page back after
  // the command (sparse_discard), so the store is discarded. The kernel
  // says reads are "undefined"; zero is the model's choice of undefined.
  kSimMapSparse = 1u << 3,
};

class SimVm;
using SimVmPtr = std::shared_ptr<SimVm>;

// One GPU mapping of a VM: [va, va + size) -> bo[bo_offset, bo_offset + size)
// (no bo for a kSimMapSparse mapping).
struct SimMapping {
  uint64_t size = 0;
  SimBoPtr bo;  // the mapping's reference (the kernel pins mapped pages)
  uint64_t bo_offset = 0;
  uint32_t flags = 0;  // SimMapFlags
};
using SimMappingTree = std::map<uint64_t, SimMapping>;  // keyed by va

enum class VmOpType { Map, Unmap, SyncOnly };

// A prepared VM operation (see the top of this file). Owned by the ioctl
// until it is executed, or by a bind job.
struct VmOp {
  VmOpType type = VmOpType::SyncOnly;
  uint64_t va = 0, size = 0;
  SimBoPtr bo;  // Map
  uint64_t bo_offset = 0;
  uint32_t flags = 0;
  // Mapping-list nodes for the new mapping and split remnants (3 for a
  // MAP, 1 for an UNMAP, as the kernel pre-allocates VMAs).
  SimMappingTree::node_type nodes[3];
  // Worst-case page-table pages; emptied tables freed by the run step.
  PtPageList reserved_pages;
  PtPageList dead_pages;
  // Mappings removed by the run step (their BO references are dropped
  // when the op is destroyed, outside the signalling section).
  std::multimap<uint64_t, SimMapping> removed;
  SimVm* vm = nullptr;
  // Unmap only: applies only if [va, va + size) is exactly one mapping of
  // this object, else the step fails with -ENOENT (SimVm::unmap_bo_at).
  const SimBo* only_bo = nullptr;

  VmOp();
  ~VmOp();
  VmOp(const VmOp&) = delete;
  VmOp& operator=(const VmOp&) = delete;
};
using VmOpPtr = std::unique_ptr<VmOp>;

class SimVm : public std::enable_shared_from_this<SimVm> {
 public:
  struct Config {
    uint64_t va_size_bytes = 0;   // the whole GPU VA range (window size)
    uint64_t user_va_start = 0;   // [user_va_start, user_va_end): user binds
    uint64_t user_va_end = 0;
    bool with_bind_queue = true;  // panthor: async bind queue thread
  };

  // Reserves the window. Null with *err (negative errno) on failure.
  static SimVmPtr create(SimDevice* dev, const Config& cfg, int* err);
  ~SimVm();
  SimVm(const SimVm&) = delete;
  SimVm& operator=(const SimVm&) = delete;

  // For tests: the VM with panthor id `id` in `file` (SimDrmFile::file()),
  // or null.
  static SimVmPtr lookup(SimFile& file, uint32_t id);

  // VM_DESTROY / file close: drains the bind queue (jobs not yet run are
  // cancelled: their fences signal -ESRCH, as drm_sched does for a killed
  // entity), unmaps everything, drops the BO references, releases the
  // window. Idempotent.
  void destroy();
  bool destroyed() const { return destroyed_.load(std::memory_order_acquire); }

  // CPU address of GPU VA `va` (window base + va). Tests read and write
  // through it to observe what the GPU would see. Null after destroy().
  uint8_t* gpu_view(uint64_t va) const;
  uint64_t va_size() const { return cfg_.va_size_bytes; }
  uint64_t user_va_start() const { return cfg_.user_va_start; }
  uint64_t user_va_end() const { return cfg_.user_va_end; }

  // VM_GET_STATE: false once an async job failed.
  bool usable() const { return !unusable_.load(std::memory_order_acquire); }

  // Synchronous map/unmap with the kernel's pre-allocation (used by
  // synchronous VM_BIND and by panfrost CREATE_BO). 0 or negative errno.
  int map(const SimBoPtr& bo, uint64_t bo_offset, uint64_t va, uint64_t size, uint32_t flags);
  int unmap(uint64_t va, uint64_t size);
  // The shrinker's unmap: removes the mapping at `va` only if it is exactly
  // [va, va + size) of `bo` (checked and removed atomically, so a mapping
  // that replaced it meanwhile is left alone). 0, -ENOENT if not, or the
  // errors of unmap().
  int unmap_bo_at(const SimBo& bo, uint64_t va, uint64_t size);

  PageTableCounters pt_counters() const;

  // --- kernel-reserved VA (csf: tiler heap contexts and chunks) ---
  // The range [user_va_end, va_size) belongs to the kernel. alloc_kernel_va
  // returns a free `align`-aligned range of `size` bytes there (0 if none),
  // free_kernel_va gives it back. map_kernel maps like map() but only
  // inside the kernel range (user binds can never reach it).
  uint64_t alloc_kernel_va(uint64_t size, uint64_t align);
  void free_kernel_va(uint64_t va, uint64_t size);
  int map_kernel(const SimBoPtr& bo, uint64_t va, uint64_t size, uint32_t flags);

  // --- panfrost HEAP objects (grown on GPU fault; executor.h, gpu_fault.h) ---
  // map_heap records [va, va + size) as a growable mapping of `bo` (from
  // offset 0) without mapping any page: the window stays PROT_NONE until
  // GPU faults commit 2 MiB blocks. va and size 2 MiB-aligned. 0/-EINVAL/-ENOMEM.
  int map_heap(const SimBoPtr& bo, uint64_t va, uint64_t size);
  // Forgets the heap mapping at `va` and puts PROT_NONE back over it.
  void unmap_heap(uint64_t va);
  // From the GPU fault handler (executor thread, signalling section): if
  // `va` lies in a heap mapping whose 2 MiB block is not committed yet,
  // checks fault_inject_check("page_commit") and the budget (try_charge),
  // maps the block read/write (no-exec) from the BO's memfd and adds it to
  // bo->heap_committed. 0 on success, 1 if the block is already committed
  // (a concurrent fault won: retry), -EFAULT otherwise. Never allocates.
  int heap_fault(uint64_t va);
  // From the GPU fault handler (a store fault): if `va` lies in a sparse
  // mapping, maps its page writable (private anonymous) and returns 0;
  // else -EFAULT. Never allocates.
  int sparse_write_fault(uint64_t va);
  // Puts the zero page back at the page of `va` if it is still part of a
  // sparse mapping: what was stored there is gone.
  void sparse_discard(uint64_t va);

  // --- the two halves, for the VM_BIND ioctl ---

  // -EINVAL for misaligned va/size/bo_offset, a range outside the BO or
  // outside the user VA range, or a BO private to another VM; -ENOMEM.
  // With kSimMapSparse, bo is null and bo_offset 0.
  int prepare_map(const SimBoPtr& bo, uint64_t bo_offset, uint64_t va, uint64_t size,
                  uint32_t flags, VmOpPtr* out);
  int prepare_unmap(uint64_t va, uint64_t size, VmOpPtr* out);
  // An UNMAP from VM_BIND: as prepare_unmap, and -EINVAL for a range that
  // reaches the kernel's part of the VA space (drm_gpuvm_range_valid: it
  // would unmap the tiler heaps' contexts and chunks under the kernel).
  int prepare_user_unmap(uint64_t va, uint64_t size, VmOpPtr* out);
  VmOpPtr prepare_sync_only();
  // Applies a prepared op. `async`: a failure marks the VM unusable. MAPs
  // fail with -EINVAL on an unusable VM; UNMAPs still work.
  int execute(VmOp& op, bool async);
  // The VM's bind queue (null without one).
  BindQueue* bind_queue() const { return queue_.get(); }

  // --- test hooks ---

  // Makes the next `count` run steps (sync or async, SYNC_ONLY excluded)
  // fail with `err` before changing anything, as a kernel allocation or
  // MMU failure during the step would.
  void inject_run_failures(int err, unsigned count = 1);
  size_t mapping_count() const;
  // The distinct objects mapped in this VM (accounting.cpp).
  std::vector<SimBoPtr> mapped_bos() const;
  // The mapping covering `va` and its start (a copy, holding its own BO
  // reference), false if none.
  bool find_mapping(uint64_t va, uint64_t* start, SimMapping* out) const;
  // What the modelled page tables hold for `va`: 0 none, 1 a 4 KiB page,
  // 2 a 2 MiB block.
  int pt_leaf(uint64_t va) const;

  // Host imports (host_import.h): an invalidated backed object's pages
  // leave every mapping of it in this VM (PROT_NONE, records kept), so the
  // next job that touches them faults. Returns the bytes zapped.
  uint64_t zap_bo(const SimBo& bo);

 private:
  friend struct VmOp;
  SimVm(SimDevice* dev, const Config& cfg);
  void remove_range_locked(VmOp& op, uint64_t va, uint64_t end, bool restore_cpu, bool* pt_ok);
  int restore_none(uint64_t va, uint64_t size);
  bool check_user_range(uint64_t va, uint64_t size) const;
  int prepare_map_impl(const SimBoPtr& bo, uint64_t bo_offset, uint64_t va, uint64_t size,
                       uint32_t flags, bool kernel, VmOpPtr* out);

  SimDevice* dev_;
  Config cfg_;
  uint8_t* window_ = nullptr;
  std::unique_ptr<PageTable> pt_;
  std::unique_ptr<BindQueue> queue_;

  // Serialises run steps and guards mappings_ and the page tables. Taken
  // inside signalling sections, so never held while allocating.
  mutable std::mutex op_lock_;
  SimMappingTree mappings_;
  bool window_released_ = false;  // under op_lock_

  std::mutex destroy_lock_;
  std::atomic<bool> destroyed_{false};
  std::atomic<bool> unusable_{false};
  std::atomic<int> inject_err_{0};
  std::atomic<unsigned> inject_count_{0};
  // panfrost heap mappings (map_heap), under op_lock_: va -> mapping; one
  // bit per 2 MiB block, allocated by map_heap.
  struct HeapMapping {
    uint64_t size = 0;
    SimBoPtr bo;
    std::unique_ptr<uint64_t[]> committed;
  };
  std::map<uint64_t, HeapMapping> heaps_;
  // Kernel VA allocator (alloc_kernel_va): bump pointer plus freed ranges.
  std::mutex kva_lock_;
  uint64_t kva_next_ = 0;
  std::multimap<uint64_t, uint64_t> kva_free_;  // size -> va
};

}  // namespace wsys::sim
