// panfrost backend (JM Mali): private classes shared by panfrost_*.cpp.
#pragma once

#include <memory>

#include "drm-uapi/panfrost_drm.h"
#include "winsys/kmod/backends.h"
#include "winsys/kmod/kmod.h"

namespace wsys::kmod::panfrost {

// The per-file address space the kernel places BOs in.
inline constexpr uint64_t kVaStart = 32ull << 20;
inline constexpr uint64_t kVaEnd = 4ull << 30;
// HEAP BOs grow (and are sized) in 2 MiB steps.
inline constexpr uint64_t kHeapGranule = 2ull << 20;
inline constexpr size_t kInlineBoHandles = 64;

// panfrost has one implicit address space per file; this Vm stands for it.
// Only one exists at a time (DeviceCore::single_vm_taken).
class PanfrostVm final : public Vm {
 public:
  explicit PanfrostVm(std::shared_ptr<detail::DeviceCore> core);
  ~PanfrostVm() override;

  Result<void> bind(BindMode mode, std::span<const BindOp> ops,
                    size_t* failed_index = nullptr) override;
  Result<bool> usable() override { return true; }  // nothing can make it unusable

  const std::shared_ptr<detail::DeviceCore>& core() const { return core_; }

 private:
  // Validates one op; 0 or a negative errno.
  int check_op(const BindOp& op) const;
  std::shared_ptr<detail::DeviceCore> core_;
};

class PanfrostDevice final : public Device {
 public:
  explicit PanfrostDevice(std::unique_ptr<drm::DrmFile> f) : Device(std::move(f)) {}
  Result<void> init();

  Result<BoPtr> bo_create(uint64_t size_bytes, uint32_t flags, Vm* exclusive_vm) override;
  Result<void*> bo_mmap(Bo& bo, int prot) override;
  Result<void> bo_set_label(Bo& bo, const std::string& label) override;
  Result<bool> bo_make_evictable(Bo& bo) override;
  Result<bool> bo_make_unevictable(Bo& bo) override;
  Result<void> bo_wait(Bo& bo, int64_t abs_deadline_ns) override;
  Result<VmPtr> vm_create(uint64_t user_va_range) override;
  Result<uint64_t> gpu_timestamp() override;
  Result<void> submit_job_chain(const JobChainSubmit& submit) override;
  Result<uint32_t> jm_ctx_create(JmCtxPriority priority) override;
  Result<void> jm_ctx_destroy(uint32_t ctx) override;
  Result<void> bo_sync(std::span<const BoSyncRange> ranges) override;
  Result<BoInfo> bo_query_info(Bo& bo) override;

 protected:
  Result<uint64_t> imported_bo_kernel_va(uint32_t handle) override;

 private:
  Result<uint64_t> get_param(uint32_t param);
  Result<bool> madvise(Bo& bo, uint32_t madv);
};

}  // namespace wsys::kmod::panfrost
