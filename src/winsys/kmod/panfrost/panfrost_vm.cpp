// panfrost "VM": the file's single, kernel-managed address space.
//
// The kernel maps a BO at CREATE_BO (or import) time at the VA it chose and
// unmaps it when the last handle goes; there is no bind ioctl. So:
//   Map      must describe exactly that mapping: the whole BO at
//            bo->kernel_va() (or va == kKernelChosenVa), bo_offset 0; else
//            -EINVAL. Read-only and GPU-uncached maps cannot be expressed
//            (-EOPNOTSUPP), nor a no-exec map of an executable BO.
//   Unmap    accepted as a no-op when the range covers whole BOs or none
//            (the mappings go away with the BOs); a range cutting a BO is
//            -EINVAL, since that part would stay mapped.
//   SyncOnly accepted as a no-op (no syncs: Immediate mode only).
// Async and DeferToNextIdle binds are -EOPNOTSUPP.
#include <cerrno>

#include "winsys/kmod/panfrost/panfrost.h"

namespace wsys::kmod::panfrost {

Result<VmPtr> PanfrostDevice::vm_create(uint64_t user_va_range) {
  // The address space is fixed at [32 MiB, 4 GiB): "the user part starting
  // at 0" can only be 4 GiB (or the default).
  if (user_va_range != 0 && user_va_range != kVaEnd) return Error(-EOPNOTSUPP);
  bool expected = false;
  if (!core_->single_vm_taken.compare_exchange_strong(expected, true)) return Error(-EBUSY);
  return VmPtr(std::make_shared<PanfrostVm>(core_));
}

PanfrostVm::PanfrostVm(std::shared_ptr<detail::DeviceCore> core)
    : Vm(0, kVaStart, kVaEnd), core_(std::move(core)) {}

PanfrostVm::~PanfrostVm() { core_->single_vm_taken.store(false); }

int PanfrostVm::check_op(const BindOp& op) const {
  const uint64_t page = detail::cpu_page_size();
  if (op.sparse) return -EOPNOTSUPP;  // no sparse mappings on panfrost
  switch (op.type) {
    case BindOp::Type::Map: {
      if (!op.bo || op.bo_offset != 0 || op.size != op.bo->size()) return -EINVAL;
      if (op.va != kKernelChosenVa && op.va != op.bo->kernel_va()) return -EINVAL;
      if (op.read_only || op.gpu_uncached) return -EOPNOTSUPP;
      if (op.no_exec && (op.bo->flags() & kBoExecutable)) return -EOPNOTSUPP;
      return 0;
    }
    case BindOp::Type::Unmap: {
      if (op.bo || op.bo_offset || op.read_only || op.no_exec || op.gpu_uncached) return -EINVAL;
      if (op.size == 0 || ((op.va | op.size) & (page - 1))) return -EINVAL;
      if (op.va < kVaStart || op.va > kVaEnd || op.size > kVaEnd - op.va) return -EINVAL;
      // Cutting through a BO would leave part of it mapped: refuse rather
      // than pretend. A dying Bo is still mapped, so it counts too (its
      // memory is valid while its destructor waits for bo_lock).
      const uint64_t end = op.va + op.size;
      std::lock_guard<std::mutex> g(core_->bo_lock);
      for (const auto& [handle, e] : core_->bos) {
        uint64_t bo_start = e.raw->kernel_va(), bo_end = bo_start + e.raw->size();
        bool overlaps = bo_start < end && op.va < bo_end;
        bool covered = op.va <= bo_start && bo_end <= end;
        if (overlaps && !covered) return -EINVAL;
      }
      return 0;
    }
    case BindOp::Type::SyncOnly:
      if (op.bo || op.bo_offset || op.va || op.size || op.read_only || op.no_exec ||
          op.gpu_uncached)
        return -EINVAL;
      return 0;
  }
  return -EINVAL;
}

Result<void> PanfrostVm::bind(BindMode mode, std::span<const BindOp> ops, size_t* failed_index) {
  size_t unused;
  size_t& failed = failed_index ? *failed_index : unused;
  failed = 0;
  if (mode != BindMode::Immediate) return Error(-EOPNOTSUPP);
  for (const BindOp& op : ops) {
    if (!op.syncs.empty()) return Error(-EINVAL);
    if (op.bo && detail::DeviceCore::core_of(*op.bo) != core_) return Error(-EINVAL);
  }
  for (size_t i = 0; i < ops.size(); i++) {
    if (int r = check_op(ops[i])) {
      failed = i;
      return Error(r);
    }
  }
  failed = ops.size();
  return {};
}

}  // namespace wsys::kmod::panfrost
