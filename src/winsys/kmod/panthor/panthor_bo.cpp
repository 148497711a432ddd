// panthor BOs: BO_CREATE (optionally private to a VM), mmap through
// BO_MMAP_OFFSET. Import, export and closing are common (common.cpp).
#include <sys/mman.h>

#include <cerrno>

#include "winsys/kmod/panthor/panthor.h"
#include "winsys/kmod/small_array.h"

namespace wsys::kmod::panthor {

Result<BoPtr> PanthorDevice::bo_create(uint64_t size_bytes, uint32_t flags, Vm* exclusive_vm) {
  if (flags & ~kBoAllFlags) return Error(-EINVAL);
  // Growable BOs do not exist on panthor (its growable memory is the tiler
  // heap, a different object).
  if (flags & kBoAllocOnFault) return Error(-EOPNOTSUPP);
  if (flags & kBoCpuCached) {
    if (!props_.has_wb_mmap) return Error(-EOPNOTSUPP);
    if (flags & kBoNoMmap) return Error(-EINVAL);  // the kernel's answer too
  }
  PanthorVm* vm = nullptr;
  if (exclusive_vm) {
    vm = own_vm(exclusive_vm);
    if (!vm) return Error(-EINVAL);
  }
  // Executable and GPU-uncached are mapping properties on panthor: the Vm
  // applies them to every MAP of this BO (see PanthorVm::bind).
  drm_panthor_bo_create c{};
  c.size = size_bytes;  // 0 and friends: the kernel's answer
  c.flags = ((flags & kBoNoMmap) ? DRM_PANTHOR_BO_NO_MMAP : 0) |
            ((flags & kBoCpuCached) ? DRM_PANTHOR_BO_WB_MMAP : 0);
  c.exclusive_vm_id = vm ? vm->id() : 0;
  if (int r = file().ioctl(DRM_IOCTL_PANTHOR_BO_CREATE, &c)) return Error(r);
  return core_->adopt(c.handle, c.size, flags, 0, vm != nullptr, c.exclusive_vm_id);
}

Result<void*> PanthorDevice::bo_mmap(Bo& bo, int prot) {
  if (!owns(bo)) return Error(-EINVAL);
  // A NO_MMAP BO is refused by the kernel (at mmap(), or by this ioctl on
  // newer kernels); its errno is passed on.
  drm_panthor_bo_mmap_offset m{};
  m.handle = bo.handle();
  if (int r = file().ioctl(DRM_IOCTL_PANTHOR_BO_MMAP_OFFSET, &m)) return Error(r);
  return file().mmap(nullptr, bo.size(), prot, MAP_SHARED, m.offset);
}

Result<void> PanthorDevice::bo_sync(std::span<const BoSyncRange> ranges) {
  if (!props_.has_cache_maintenance) return Error(-EOPNOTSUPP);
  detail::SmallArray<drm_panthor_bo_sync_op, kInlineSyncOps> ops(ranges.size());
  for (size_t i = 0; i < ranges.size(); i++) {
    if (!ranges[i].bo || !owns(*ranges[i].bo)) return Error(-EINVAL);
    ops[i].handle = ranges[i].bo->handle();
    ops[i].type = ranges[i].invalidate ? DRM_PANTHOR_BO_SYNC_CPU_CACHE_FLUSH_AND_INVALIDATE
                                       : DRM_PANTHOR_BO_SYNC_CPU_CACHE_FLUSH;
    ops[i].offset = ranges[i].offset;
    ops[i].size = ranges[i].size;
  }
  drm_panthor_bo_sync s{};
  s.ops = obj_array(sizeof(drm_panthor_bo_sync_op), ops.size(), ops.data());
  return result_from_errno(file().ioctl(DRM_IOCTL_PANTHOR_BO_SYNC, &s));
}

Result<BoInfo> PanthorDevice::bo_query_info(Bo& bo) {
  if (!props_.has_bo_query_info) return Error(-EOPNOTSUPP);
  if (!owns(bo)) return Error(-EINVAL);
  drm_panthor_bo_query_info q{};
  q.handle = bo.handle();
  if (int r = file().ioctl(DRM_IOCTL_PANTHOR_BO_QUERY_INFO, &q)) return Error(r);
  BoInfo info;
  info.imported = (q.extra_flags & DRM_PANTHOR_BO_IS_IMPORTED) != 0;
  if (q.create_flags & DRM_PANTHOR_BO_NO_MMAP) info.flags |= kBoNoMmap;
  if (q.create_flags & DRM_PANTHOR_BO_WB_MMAP) info.flags |= kBoCpuCached;
  return info;
}

}  // namespace wsys::kmod::panthor
