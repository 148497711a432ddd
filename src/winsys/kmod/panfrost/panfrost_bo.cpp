// panfrost BOs: CREATE_BO (the kernel places them in the file's address
// space), MMAP_BO, GET_BO_OFFSET for imports, labels, MADVISE, WAIT_BO.
#include <sys/mman.h>

#include <cerrno>
#include <cstdint>
#include <vector>

#include "winsys/kmod/panfrost/panfrost.h"

namespace wsys::kmod::panfrost {

Result<BoPtr> PanfrostDevice::bo_create(uint64_t size_bytes, uint32_t flags, Vm* exclusive_vm) {
  if (flags & ~kBoAllFlags) return Error(-EINVAL);
  // panfrost maps everything with the same cacheability.
  if (flags & kBoGpuUncached) return Error(-EOPNOTSUPP);
  if (flags & kBoCpuCached) {
    if (!props_.has_wb_mmap) return Error(-EOPNOTSUPP);
    // Heaps are never CPU-mapped; a cached mapping of a never-mapped BO is
    // refused as panthor's kernel refuses it.
    if (flags & (kBoAllocOnFault | kBoNoMmap)) return Error(-EINVAL);
  }
  if (flags & kBoAllocOnFault) {
    if (flags & kBoExecutable) return Error(-EINVAL);  // HEAP requires NOEXEC
    if (!props_.version.at_least(1, 1)) return Error(-EOPNOTSUPP);
  }
  if (exclusive_vm) {
    auto* vm = dynamic_cast<PanfrostVm*>(exclusive_vm);
    if (!vm || vm->core() != core_) return Error(-EINVAL);
  }
  // The uapi size is 32-bit; nothing larger fits the 4 GiB address space.
  if (size_bytes > UINT32_MAX) return Error(-EINVAL);

  drm_panfrost_create_bo c{};
  c.size = static_cast<uint32_t>(size_bytes);  // 0: the kernel's -EINVAL
  // Before 1.1 every BO is executable (no NOEXEC flag to ask for).
  if (props_.version.at_least(1, 1) && !(flags & kBoExecutable)) c.flags |= PANFROST_BO_NOEXEC;
  if (flags & kBoAllocOnFault) c.flags |= PANFROST_BO_HEAP | PANFROST_BO_NOEXEC;
  if (flags & kBoCpuCached) c.flags |= PANFROST_BO_WB_MMAP;
  // kBoNoMmap has no panfrost flag: kmod records it and refuses bo_mmap.
  if (int r = file().ioctl(DRM_IOCTL_PANFROST_CREATE_BO, &c)) return Error(r);
  // CREATE_BO does not report the rounded size; the kernel rounds to CPU
  // pages, HEAP BOs to 2 MiB.
  uint64_t size = detail::align_up(size_bytes, (flags & kBoAllocOnFault) ? kHeapGranule
                                                                          : detail::cpu_page_size());
  return core_->adopt(c.handle, size, flags, c.offset, exclusive_vm != nullptr, 0);
}

Result<uint64_t> PanfrostDevice::imported_bo_kernel_va(uint32_t handle) {
  drm_panfrost_get_bo_offset g{};
  g.handle = handle;
  if (int r = file().ioctl(DRM_IOCTL_PANFROST_GET_BO_OFFSET, &g)) return Error(r);
  return static_cast<uint64_t>(g.offset);
}

Result<void*> PanfrostDevice::bo_mmap(Bo& bo, int prot) {
  if (!owns(bo)) return Error(-EINVAL);
  // The errno panthor's kernel gives for mmap of a NO_MMAP BO.
  if (bo.flags() & kBoNoMmap) return Error(-EINVAL);
  drm_panfrost_mmap_bo m{};
  m.handle = bo.handle();
  if (int r = file().ioctl(DRM_IOCTL_PANFROST_MMAP_BO, &m)) return Error(r);  // HEAP: -EINVAL
  return file().mmap(nullptr, bo.size(), prot, MAP_SHARED, m.offset);
}

Result<void> PanfrostDevice::bo_set_label(Bo& bo, const std::string& label) {
  if (!props_.has_bo_labels) return Error(-EOPNOTSUPP);
  if (!owns(bo)) return Error(-EINVAL);
  drm_panfrost_set_label_bo l{};
  l.handle = bo.handle();
  l.label = reinterpret_cast<uintptr_t>(label.c_str());
  return result_from_errno(file().ioctl(DRM_IOCTL_PANFROST_SET_LABEL_BO, &l));
}

Result<bool> PanfrostDevice::madvise(Bo& bo, uint32_t madv) {
  if (!owns(bo)) return Error(-EINVAL);
  drm_panfrost_madvise m{};
  m.handle = bo.handle();
  m.madv = madv;
  if (int r = file().ioctl(DRM_IOCTL_PANFROST_MADVISE, &m)) return Error(r);
  return m.retained != 0;
}

Result<bool> PanfrostDevice::bo_make_evictable(Bo& bo) {
  return madvise(bo, PANFROST_MADV_DONTNEED);
}

Result<bool> PanfrostDevice::bo_make_unevictable(Bo& bo) {
  return madvise(bo, PANFROST_MADV_WILLNEED);
}

Result<void> PanfrostDevice::bo_wait(Bo& bo, int64_t abs_deadline_ns) {
  if (!owns(bo)) return Error(-EINVAL);
  drm_panfrost_wait_bo w{};
  w.handle = bo.handle();
  w.timeout_ns = abs_deadline_ns;
  return result_from_errno(file().ioctl(DRM_IOCTL_PANFROST_WAIT_BO, &w));
}

Result<void> PanfrostDevice::bo_sync(std::span<const BoSyncRange> ranges) {
  if (!props_.has_cache_maintenance) return Error(-EOPNOTSUPP);
  std::vector<drm_panfrost_bo_sync_op> ops(ranges.size());
  for (size_t i = 0; i < ranges.size(); i++) {
    const BoSyncRange& r = ranges[i];
    if (!r.bo || !owns(*r.bo)) return Error(-EINVAL);
    // The uapi range is 32-bit (BOs are < 4 GiB anyway).
    if (r.offset > UINT32_MAX || r.size > UINT32_MAX) return Error(-EINVAL);
    ops[i].handle = r.bo->handle();
    ops[i].type = r.invalidate ? PANFROST_BO_SYNC_CPU_CACHE_FLUSH_AND_INVALIDATE
                               : PANFROST_BO_SYNC_CPU_CACHE_FLUSH;
    ops[i].offset = static_cast<uint32_t>(r.offset);
    ops[i].size = static_cast<uint32_t>(r.size);
  }
  drm_panfrost_sync_bo s{};
  s.ops = ops.empty() ? 0 : reinterpret_cast<uintptr_t>(ops.data());
  s.op_count = static_cast<uint32_t>(ops.size());
  return result_from_errno(file().ioctl(DRM_IOCTL_PANFROST_SYNC_BO, &s));
}

Result<BoInfo> PanfrostDevice::bo_query_info(Bo& bo) {
  if (!props_.has_bo_query_info) return Error(-EOPNOTSUPP);
  if (!owns(bo)) return Error(-EINVAL);
  drm_panfrost_query_bo_info q{};
  q.handle = bo.handle();
  if (int r = file().ioctl(DRM_IOCTL_PANFROST_QUERY_BO_INFO, &q)) return Error(r);
  BoInfo info;
  info.imported = (q.extra_flags & DRM_PANFROST_BO_IS_IMPORTED) != 0;
  if (!info.imported && !(q.create_flags & PANFROST_BO_NOEXEC)) info.flags |= kBoExecutable;
  if (q.create_flags & PANFROST_BO_HEAP) info.flags |= kBoAllocOnFault;
  if (q.create_flags & PANFROST_BO_WB_MMAP) info.flags |= kBoCpuCached;
  return info;
}

}  // namespace wsys::kmod::panfrost
