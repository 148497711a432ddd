// panthor device queries and BO ioctls of the model (driver version 1.5):
// DEV_QUERY, BO_CREATE, BO_MMAP_OFFSET, BO_SET_LABEL, SET_USER_MMIO_OFFSET.
#include <linux/capability.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>

#include "drm-uapi/panthor_drm.h"
#include "winsys/sim/ioctls.h"
#include "winsys/sim/sim_device.h"
#include "winsys/sim/user_copy.h"
#include "winsys/sim/vm.h"

namespace wsys::sim {

namespace {

// Struct sizes as a 1.5 kernel has them, and the smallest a caller may pass.
// gpu_info ends at `pad` (gpu_features is newer); timestamp_info is the
// 24-byte form (flags and the rest are 1.8).
constexpr uint32_t kGpuInfoSize = offsetof(drm_panthor_gpu_info, gpu_features);
constexpr uint32_t kGpuInfoMinSize = WSYS_PANTHOR_GPU_INFO_MIN_SIZE;
constexpr uint32_t kCsifInfoSize = sizeof(drm_panthor_csif_info);
constexpr uint32_t kTimestampInfoSize = WSYS_PANTHOR_TIMESTAMP_INFO_V1_SIZE;
constexpr uint32_t kPrioritiesInfoSize = sizeof(drm_panthor_group_priorities_info);
static_assert(kGpuInfoSize == 104 && kGpuInfoMinSize == 96);
static_assert(kCsifInfoSize == 24 && kTimestampInfoSize == 24 && kPrioritiesInfoSize == 4);

// BO_CREATE flags a 1.5 kernel knows (WB_MMAP is 1.7).
constexpr uint32_t kBoFlags = DRM_PANTHOR_BO_NO_MMAP;

// Group priorities (drm_panthor_group_priority).
constexpr uint8_t kPrioLow = 0, kPrioMedium = 1, kPrioHigh = 2, kPrioRealtime = 3;

// The kernel's panthor_set_uobj(): copy min(user size, kernel size), zero
// the rest of the user's buffer; a user size below the struct's first
// version is -EINVAL.
int set_uobj(uint64_t user_ptr, uint32_t user_size, uint32_t min_size, uint32_t kernel_size,
             const void* in) {
  if (user_size < min_size) return -EINVAL;
  if (copy_to_user(user_ptr, in, std::min(user_size, kernel_size))) return -EFAULT;
  if (user_size > kernel_size) {  // clear_user() of the tail
    static const unsigned char zeros[4096] = {};
    uint64_t p = user_ptr + kernel_size;
    uint64_t left = user_size - kernel_size;
    while (left) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(left, sizeof zeros));
      if (copy_to_user(p, zeros, n)) return -EFAULT;
      p += n;
      left -= n;
    }
  }
  return 0;
}

drm_panthor_gpu_info gpu_info(const GpuIdentity& g) {
  drm_panthor_gpu_info i;
  std::memset(&i, 0, sizeof i);
  i.gpu_id = g.gpu_id;
  i.gpu_rev = g.gpu_rev;
  i.csf_id = g.csf_id;
  i.l2_features = g.l2_features;
  i.tiler_features = g.tiler_features;
  i.mem_features = g.mem_features;
  i.mmu_features = g.mmu_features;
  i.thread_features = g.thread_features;
  i.max_threads = g.max_threads;
  i.thread_max_workgroup_size = g.thread_max_workgroup_size;
  i.thread_max_barrier_size = g.thread_max_barrier_size;
  i.coherency_features = g.coherency_features;
  for (int t = 0; t < 4; t++) i.texture_features[t] = g.texture_features[t];
  i.as_present = g.as_present;
  i.pad0 = 0;  // selected_coherency is 1.7
  i.shader_present = g.shader_present;
  i.l2_present = g.l2_present;
  i.tiler_present = g.tiler_present;
  i.core_features = g.core_features;
  return i;
}

drm_panthor_csif_info csif_info(const GpuIdentity& g) {
  drm_panthor_csif_info c;
  std::memset(&c, 0, sizeof c);
  c.csg_slot_count = g.csg_slot_count;
  c.cs_slot_count = g.cs_slot_count;
  c.cs_reg_count = g.cs_reg_count;
  c.scoreboard_slot_count = g.scoreboard_slot_count;
  c.unpreserved_cs_reg_count = g.unpreserved_cs_reg_count;
  return c;
}

// The GPU timestamp: CLOCK_MONOTONIC expressed in ticks of the GPU's
// timestamp frequency (offset 0), so it is monotonic and comparable.
uint64_t gpu_timestamp(uint64_t freq_hz) {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  uint64_t sec = static_cast<uint64_t>(ts.tv_sec), nsec = static_cast<uint64_t>(ts.tv_nsec);
  return sec * freq_hz + nsec * freq_hz / 1000000000ull;
}

// capable(CAP_SYS_NICE): the calling thread's effective capability set.
bool capable_sys_nice() {
  __user_cap_header_struct hdr;
  std::memset(&hdr, 0, sizeof hdr);
  hdr.version = _LINUX_CAPABILITY_VERSION_3;
  hdr.pid = 0;
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
  std::memset(data, 0, sizeof data);
  if (syscall(SYS_capget, &hdr, data) != 0) return false;
  return (data[CAP_TO_INDEX(CAP_SYS_NICE)].effective & CAP_TO_MASK(CAP_SYS_NICE)) != 0;
}

// group_priority_permit(): LOW and MEDIUM always; HIGH and REALTIME need
// CAP_SYS_NICE or DRM master, and a render node is never master.
uint8_t allowed_priorities() {
  uint8_t mask = (1u << kPrioLow) | (1u << kPrioMedium);
  if (capable_sys_nice()) mask |= (1u << kPrioHigh) | (1u << kPrioRealtime);
  return mask;
}

}  // namespace

int ioctl_panthor_dev_query(SimFile& f, void* data) {
  auto* q = static_cast<drm_panthor_dev_query*>(data);
  const GpuIdentity& g = f.device()->gpu();

  if (!q->pointer) {
    switch (q->type) {
      case DRM_PANTHOR_DEV_QUERY_GPU_INFO:
        q->size = kGpuInfoSize;
        return 0;
      case DRM_PANTHOR_DEV_QUERY_CSIF_INFO:
        q->size = kCsifInfoSize;
        return 0;
      case DRM_PANTHOR_DEV_QUERY_TIMESTAMP_INFO:
        q->size = kTimestampInfoSize;
        return 0;
      case DRM_PANTHOR_DEV_QUERY_GROUP_PRIORITIES_INFO:
        q->size = kPrioritiesInfoSize;
        return 0;
      default:
        return -EINVAL;  // MMU_INFO is 1.9
    }
  }

  switch (q->type) {
    case DRM_PANTHOR_DEV_QUERY_GPU_INFO: {
      drm_panthor_gpu_info i = gpu_info(g);
      return set_uobj(q->pointer, q->size, kGpuInfoMinSize, kGpuInfoSize, &i);
    }
    case DRM_PANTHOR_DEV_QUERY_CSIF_INFO: {
      drm_panthor_csif_info c = csif_info(g);
      return set_uobj(q->pointer, q->size, kCsifInfoSize, kCsifInfoSize, &c);
    }
    case DRM_PANTHOR_DEV_QUERY_TIMESTAMP_INFO: {
      drm_panthor_timestamp_info t;
      std::memset(&t, 0, sizeof t);
      t.timestamp_frequency = g.timestamp_frequency;
      t.current_timestamp = gpu_timestamp(g.timestamp_frequency);
      t.timestamp_offset = 0;
      return set_uobj(q->pointer, q->size, kTimestampInfoSize, kTimestampInfoSize, &t);
    }
    case DRM_PANTHOR_DEV_QUERY_GROUP_PRIORITIES_INFO: {
      drm_panthor_group_priorities_info p;
      std::memset(&p, 0, sizeof p);
      p.allowed_mask = allowed_priorities();
      return set_uobj(q->pointer, q->size, kPrioritiesInfoSize, kPrioritiesInfoSize, &p);
    }
    default:
      return -EINVAL;
  }
}

int ioctl_panthor_bo_create(SimFile& f, void* data) {
  auto* a = static_cast<drm_panthor_bo_create*>(data);
  if (!a->size || a->pad || (a->flags & ~kBoFlags)) return -EINVAL;

  std::shared_ptr<SimVm> vm;
  if (a->exclusive_vm_id) {
    vm = f.lookup_vm(a->exclusive_vm_id);
    if (!vm) return -EINVAL;
  }

  // shmem refuses sizes beyond MAX_LFS_FILESIZE (this also keeps the page
  // round-up from overflowing).
  if (a->size > static_cast<uint64_t>(INT64_MAX) - (kPageSize - 1)) return -EINVAL;
  int err = 0;
  SimBoPtr bo = SimBo::create(f.device(), page_align(a->size), &err);
  if (!bo) return err;
  bo->create_flags = a->flags;
  bo->mmap_allowed = !(a->flags & DRM_PANTHOR_BO_NO_MMAP);
  if (vm) {
    // Shares the VM's reservation: only maps into that VM, never exported.
    bo->exclusive_vm_id = a->exclusive_vm_id;
    bo->exclusive_file = &f;
    bo->exclusive_vm = vm;
    bo->exportable = false;
  }

  uint32_t h = f.handle_for(bo, &err);
  if (!h) return err ? err : -ENOSPC;
  a->size = bo->size();
  a->handle = h;
  return 0;
}

int ioctl_panthor_bo_mmap_offset(SimFile& f, void* data) {
  auto* a = static_cast<drm_panthor_bo_mmap_offset*>(data);
  if (a->pad) return -EINVAL;
  SimBoPtr bo = f.lookup_bo(a->handle);
  if (!bo) return -ENOENT;
  // A NO_MMAP object gets its offset; mmap() itself refuses it (-EINVAL).
  a->offset = bo->mmap_offset();
  return 0;
}

int ioctl_panthor_bo_set_label(SimFile& f, void* data) {
  auto* a = static_cast<drm_panthor_bo_set_label*>(data);
  if (a->pad) return -EINVAL;
  SimBoPtr bo = f.lookup_bo(a->handle);
  if (!bo) return -ENOENT;
  std::string label;  // pointer 0 clears the label
  if (a->label) {
    int r = strndup_user(a->label, WSYS_PANTHOR_BO_LABEL_MAX_SIZE, &label);
    // No NUL within 4096 bytes: strndup_user's -EINVAL becomes -E2BIG.
    if (r) return r == -EINVAL ? -E2BIG : r;
  }
  f.device()->set_bo_label(*bo, std::move(label));
  return 0;
}

int ioctl_panthor_set_user_mmio_offset(SimFile& f, void* data) {
  auto* a = static_cast<drm_panthor_set_user_mmio_offset*>(data);
  if (a->offset != DRM_PANTHOR_USER_MMIO_OFFSET_32BIT &&
      a->offset != DRM_PANTHOR_USER_MMIO_OFFSET_64BIT)
    return -EINVAL;
  f.user_mmio_offset.store(a->offset, std::memory_order_relaxed);
  return 0;
}

}  // namespace wsys::sim
