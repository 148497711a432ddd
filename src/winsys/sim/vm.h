// SimVm: a GPU address space of the model, whose MMU is the CPU's MMU.
//
// A VM reserves a PROT_NONE window of CPU address space as large as its GPU
// VA range; GPU VA x is CPU address window_base() + x. Mapping a BO puts the
// BO's memfd pages at base + va (MAP_FIXED | MAP_SHARED, protections from
// the mapping flags); unmapping puts PROT_NONE back. Page tables are
// modelled for accounting and for the kernel's pre-allocation rule (see
// page_table.h); async binds run on the VM's own bind queue thread.
//
// This header is the interface the ioctl handlers (panthor VM_BIND,
// panfrost CREATE_BO) and tests use. Validation of the uapi rules is the
// ioctl handler's job; SimVm enforces only its own invariants.
#pragma once

#include <cstdint>
#include <memory>

#include "winsys/sim/gem.h"

namespace wsys::sim {

class SimDevice;

// Mapping flags (the model's own, decoupled from any uapi).
enum SimMapFlags : uint32_t {
  kSimMapReadOnly = 1u << 0,
  kSimMapNoExec = 1u << 1,
  kSimMapUncached = 1u << 2,
};

// Page-table page accounting (4 KiB table pages), cumulative except `live`.
struct PageTableCounters {
  uint64_t reserved = 0;  // pages reserved by ioctls (worst case)
  uint64_t used = 0;      // reserved pages the worker actually took
  uint64_t returned = 0;  // reserved pages handed back unused
  uint64_t live = 0;      // table pages currently in the tree (root included)
  uint64_t overruns = 0;  // times execution needed more than was reserved (a bug)
};

class SimVm;
using SimVmPtr = std::shared_ptr<SimVm>;

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

  // VM_DESTROY / file close: drains the bind queue, unmaps everything,
  // releases the window. Idempotent.
  void destroy();

  // CPU address of GPU VA `va` (window base + va). Tests read and write
  // through it to observe what the GPU would see.
  uint8_t* gpu_view(uint64_t va) const;
  uint64_t va_size() const;

  // VM_GET_STATE: false once an async job failed.
  bool usable() const;

  // Synchronous map/unmap with the kernel's pre-allocation (used by
  // synchronous VM_BIND and by panfrost CREATE_BO). 0 or negative errno.
  int map(const SimBoPtr& bo, uint64_t bo_offset, uint64_t va, uint64_t size, uint32_t flags);
  int unmap(uint64_t va, uint64_t size);

  PageTableCounters pt_counters() const;

  // (Implementation members are added by the VM implementation.)
};

}  // namespace wsys::sim
