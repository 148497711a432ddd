// panthor backend (CSF Mali): private classes shared by panthor_*.cpp.
#pragma once

#include <memory>

#include "drm-uapi/panthor_drm.h"
#include "winsys/kmod/backends.h"
#include "winsys/kmod/kmod.h"

namespace wsys::kmod::panthor {

// Stack capacities of the ioctl argument arrays (heap only beyond).
inline constexpr size_t kInlineBindOps = 16;
inline constexpr size_t kInlineSyncOps = 32;
inline constexpr size_t kInlineQueues = 8;

// kmod's SyncOp as a drm_panthor_sync_op: point 0 is a binary syncobj.
inline drm_panthor_sync_op to_uapi(const SyncOp& s) {
  drm_panthor_sync_op op{};
  op.flags = (s.point ? DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_TIMELINE_SYNCOBJ
                      : DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_SYNCOBJ) |
             (s.kind == SyncOp::Kind::Signal ? static_cast<uint32_t>(DRM_PANTHOR_SYNC_OP_SIGNAL)
                                             : static_cast<uint32_t>(DRM_PANTHOR_SYNC_OP_WAIT));
  op.handle = s.syncobj;
  op.timeline_value = s.point;
  return op;
}

inline drm_panthor_obj_array obj_array(uint32_t stride, size_t count, const void* p) {
  drm_panthor_obj_array a{};
  a.stride = stride;
  a.count = static_cast<uint32_t>(count);
  a.array = count ? reinterpret_cast<uintptr_t>(p) : 0;
  return a;
}

class PanthorVm final : public Vm {
 public:
  PanthorVm(std::shared_ptr<detail::DeviceCore> core, uint32_t id, uint64_t va_end,
            uint32_t activity_syncobj, bool sparse_map);
  ~PanthorVm() override;

  Result<void> bind(BindMode mode, std::span<const BindOp> ops,
                    size_t* failed_index = nullptr) override;
  Result<bool> usable() override;

  const std::shared_ptr<detail::DeviceCore>& core() const { return core_; }

 private:
  std::shared_ptr<detail::DeviceCore> core_;
  bool sparse_map_;  // props.has_sparse_map
};

class PanthorDevice final : public Device {
 public:
  explicit PanthorDevice(std::unique_ptr<drm::DrmFile> f) : Device(std::move(f)) {}
  Result<void> init();

  Result<BoPtr> bo_create(uint64_t size_bytes, uint32_t flags, Vm* exclusive_vm) override;
  Result<void*> bo_mmap(Bo& bo, int prot) override;
  Result<void> bo_sync(std::span<const BoSyncRange> ranges) override;
  Result<BoInfo> bo_query_info(Bo& bo) override;
  Result<void> bo_set_label(Bo& bo, const std::string& label) override;
  Result<bool> bo_make_evictable(Bo& bo) override;
  Result<bool> bo_make_unevictable(Bo& bo) override;
  Result<void> bo_wait(Bo& bo, int64_t abs_deadline_ns) override;
  Result<VmPtr> vm_create(uint64_t user_va_range) override;
  Result<uint64_t> gpu_timestamp() override;

  Result<uint32_t> group_create(const GroupCreateInfo& info) override;
  Result<void> group_destroy(uint32_t group) override;
  Result<void> group_submit(uint32_t group, std::span<const QueueSubmit> submits) override;
  Result<GroupState> group_get_state(uint32_t group) override;
  Result<TilerHeap> tiler_heap_create(Vm& vm, const TilerHeapCreateInfo& info) override;
  Result<void> tiler_heap_destroy(uint32_t handle) override;

  // User queues (panthor_userq.cpp; a model extension).
  Result<UserQueueHandle> user_queue_create(const UserQueueCreateInfo& info) override;
  Result<void> user_queue_destroy(uint32_t queue) override;
  Result<void> user_queue_signal(uint32_t queue, uint64_t seqno, uint32_t syncobj,
                                 uint64_t point) override;
  Result<void> user_queue_resume(uint32_t queue) override;
  Result<UserQueueState> user_queue_state(uint32_t queue) override;
  Result<uint32_t> user_queue_seqno_command(uint64_t seqno, uint8_t* out) override;
  Result<void> user_queue_nop_command(uint32_t bytes, uint8_t* out) override;
  // Probes the extension (EXT_QUERY); false on a kernel without it.
  bool probe_user_queues();

 protected:
  Result<uint64_t> imported_bo_kernel_va(uint32_t) override { return uint64_t{0}; }

 private:
  // DEV_QUERY with size negotiation: asks the kernel its struct size, then
  // copies min(ours, its) bytes into `out` (zeroed first).
  int dev_query(uint32_t type, void* out, uint32_t our_size);
  // The Vm as this device's PanthorVm, or null.
  PanthorVm* own_vm(Vm* vm) const;
};

}  // namespace wsys::kmod::panthor
