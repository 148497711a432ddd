// A buffer's address in the device VM, through the Device's wsys::Vm (see
// device.hpp for the contract): an address and an immediate bind when the
// buffer is created; on destruction an immediate unmap when it is idle, or
// an async unmap behind every pending use with the range parked until that
// unmap signals (Vm::unmap_and_free).
#include <cerrno>
#include <cstring>
#include <vector>

#include "winsys/core/debug_log.h"
#include "winsys/core/device_impl.h"

namespace wsys {

Result<void> DeviceVa::init(Device& d) {
  std::shared_ptr<Vm> vm(new Vm(&d, nullptr));
  if (Result<void> r = vm->init(0); !r.ok()) return r;
  d.vm_ = std::move(vm);
  return {};
}

void DeviceVa::fini(Device& d) { d.vm_.reset(); }

Result<void> DeviceVa::map(Device& d, Bo& bo) {
  Vm& vm = *d.vm_;
  if (vm.kernel_managed_va()) {
    bo.gpu_va_ = bo.kbo_->kernel_va();
    return {};
  }
  const uint64_t size = bo.size();
  Result<VaAllocation> a = vm.alloc_va(size, d.va_alignment_bytes(size));
  if (!a.ok()) return Error(a.error());
  BindBatch b;
  uint32_t mf = 0;
  if (!(bo.flags_ & kAllocExecutable)) mf |= kMapNoExec;
  if (bo.flags_ & kAllocGpuUncached) mf |= kMapUncached;
  b.map(bo, 0, a->addr, size, mf);
  if (Result<void> r = vm.bind(b, BindMode::Immediate); !r.ok()) {
    (void)vm.free_va(*a);
    return r;
  }
  bo.gpu_va_ = a->addr;
  bo.va_block_ = a->block;
  d.impl_->va_maps.fetch_add(1, std::memory_order_relaxed);
  return {};
}

void DeviceVa::unmap(Device& d, Bo& bo) {
  if (!d.vm_ || d.vm_->kernel_managed_va() || bo.va_block_ == UINT32_MAX) return;
  VaAllocation a;
  a.addr = bo.gpu_va_;
  a.size = bo.size();
  a.block = bo.va_block_;
  bo.va_block_ = UINT32_MAX;

  // Busy: the unmap waits for every use still pending (busy() forgets the
  // signalled ones first).
  std::vector<SyncPoint> after;
  if (bo.busy()) after = bo.pending_points();
  const bool busy = !after.empty();
  Result<void> r = d.vm_->unmap_and_free(a, std::span<const SyncPoint>(after));
  if (!r.ok()) return;  // logged by the Vm; the range stays allocated
  if (busy) {
    d.impl_->va_async_unmaps.fetch_add(1, std::memory_order_relaxed);
  } else {
    d.impl_->va_unmaps.fetch_add(1, std::memory_order_relaxed);
  }
}

size_t DeviceVa::reclaim(Device& d, bool block) { return d.vm_ ? d.vm_->reclaim(block) : 0; }

bool DeviceVa::pending(Device& d) { return d.vm_ && d.vm_->stats().va_parked != 0; }

void DeviceVa::stats(const Device& d, DeviceStats& s) {
  if (!d.vm_) return;
  s.vm = d.vm_->stats();
  s.va_deferred = s.vm.va_parked;
  s.va_reclaimed = s.vm.va_reclaimed;
  s.va = s.vm.va;
}

}  // namespace wsys
