// panthor device queries and BO ioctls of the model (driver versions 1.0 to
// 1.9, gated by driver_version.h): DEV_QUERY (TIMESTAMP_INFO 1.1, its flags
// and 56-byte form 1.8, GROUP_PRIORITIES_INFO 1.2, MMU_INFO 1.9,
// selected_coherency 1.7), BO_CREATE (WB_MMAP 1.7), BO_MMAP_OFFSET,
// BO_SET_LABEL (1.4), SET_USER_MMIO_OFFSET (1.5), BO_SYNC and BO_QUERY_INFO
// (1.7).
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
#include "winsys/sim/panthor_uobj.h"
#include "winsys/sim/sim_device.h"
#include "winsys/sim/user_copy.h"
#include "winsys/sim/vm.h"

namespace wsys::sim {

namespace {

// Struct sizes of the model, and the smallest a caller may pass.
// gpu_info ends at `pad` (gpu_features is newer than the model);
// timestamp_info is the 24-byte form before 1.8 and 56 bytes from 1.8.
constexpr uint32_t kGpuInfoSize = offsetof(drm_panthor_gpu_info, gpu_features);
constexpr uint32_t kGpuInfoMinSize = WSYS_PANTHOR_GPU_INFO_MIN_SIZE;
constexpr uint32_t kCsifInfoSize = sizeof(drm_panthor_csif_info);
constexpr uint32_t kTimestampInfoV1Size = WSYS_PANTHOR_TIMESTAMP_INFO_V1_SIZE;
constexpr uint32_t kTimestampInfoSize = sizeof(drm_panthor_timestamp_info);
constexpr uint32_t kPrioritiesInfoSize = sizeof(drm_panthor_group_priorities_info);
constexpr uint32_t kMmuInfoSize = sizeof(drm_panthor_mmu_info);
static_assert(kGpuInfoSize == 104 && kGpuInfoMinSize == 96);
static_assert(kCsifInfoSize == 24 && kTimestampInfoV1Size == 24 && kTimestampInfoSize == 56 &&
              kPrioritiesInfoSize == 4 && kMmuInfoSize == 8);

// TIMESTAMP_INFO flags (1.8): 0 means GPU | GPU_OFFSET | FREQ (the pre-1.8
// answer); CPU clock types other than NONE, MONOTONIC, MONOTONIC_RAW and
// unknown bits are -EINVAL.
constexpr uint32_t kTsValid = DRM_PANTHOR_TIMESTAMP_GPU | DRM_PANTHOR_TIMESTAMP_CPU_TYPE_MASK |
                              DRM_PANTHOR_TIMESTAMP_GPU_OFFSET |
                              DRM_PANTHOR_TIMESTAMP_GPU_CYCLE_COUNT | DRM_PANTHOR_TIMESTAMP_FREQ |
                              DRM_PANTHOR_TIMESTAMP_DURATION;

// BO_SYNC ops: the element size when the struct was added.
constexpr uint32_t kBoSyncOpMinSize = sizeof(drm_panthor_bo_sync_op);

uint32_t timestamp_info_size(const SimDevice& d) {
  return d.at_least(kPanthorTimestampFlags) ? kTimestampInfoSize : kTimestampInfoV1Size;
}

uint64_t clock_ns(clockid_t c) {
  timespec ts;
  clock_gettime(c, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

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

drm_panthor_gpu_info gpu_info(const SimDevice& d) {
  const GpuIdentity& g = d.gpu();
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
  // selected_coherency is 1.7; before, the word is padding (zero).
  i.selected_coherency = d.at_least(kPanthorSelectedCoherency) ? d.selected_coherency() : 0;
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


// The 1.8 TIMESTAMP_INFO: the flags are an input read from the caller's
// struct (a caller passing the 24-byte form has flags 0).
int timestamp_info_v2(const SimDevice& d, drm_panthor_dev_query* q) {
  drm_panthor_timestamp_info t;
  std::memset(&t, 0, sizeof t);
  if (q->size < kTimestampInfoV1Size) return -EINVAL;
  if (copy_from_user(&t, q->pointer, std::min<uint32_t>(q->size, kTimestampInfoSize)))
    return -EFAULT;
  uint32_t flags = t.flags ? t.flags
                           : DRM_PANTHOR_TIMESTAMP_GPU | DRM_PANTHOR_TIMESTAMP_GPU_OFFSET |
                                 DRM_PANTHOR_TIMESTAMP_FREQ;
  const uint32_t cpu = flags & DRM_PANTHOR_TIMESTAMP_CPU_TYPE_MASK;
  if (cpu != DRM_PANTHOR_TIMESTAMP_CPU_NONE && cpu != DRM_PANTHOR_TIMESTAMP_CPU_MONOTONIC &&
      cpu != DRM_PANTHOR_TIMESTAMP_CPU_MONOTONIC_RAW)
    return -EINVAL;
  if (flags & ~kTsValid) return -EINVAL;
  const uint64_t freq = d.gpu().timestamp_frequency;
  const uint32_t in_flags = t.flags;
  std::memset(&t, 0, sizeof t);
  t.flags = in_flags;
  const uint64_t start = clock_ns(CLOCK_MONOTONIC);
  if (flags & DRM_PANTHOR_TIMESTAMP_FREQ) t.timestamp_frequency = freq;
  if (flags & DRM_PANTHOR_TIMESTAMP_GPU) t.current_timestamp = gpu_timestamp(freq);
  // The model's cycle counter runs at the timestamp frequency.
  if (flags & DRM_PANTHOR_TIMESTAMP_GPU_CYCLE_COUNT) t.cycle_count = gpu_timestamp(freq);
  if (cpu) {
    uint64_t ns = clock_ns(cpu == DRM_PANTHOR_TIMESTAMP_CPU_MONOTONIC ? CLOCK_MONOTONIC
                                                                      : CLOCK_MONOTONIC_RAW);
    t.cpu_timestamp_sec = ns / 1000000000ull;
    t.cpu_timestamp_nsec = ns % 1000000000ull;
  }
  if (flags & DRM_PANTHOR_TIMESTAMP_DURATION)
    t.duration_nsec = static_cast<uint32_t>(clock_ns(CLOCK_MONOTONIC) - start);
  return set_uobj(q->pointer, q->size, kTimestampInfoV1Size, kTimestampInfoSize, &t);
}

}  // namespace

int ioctl_panthor_dev_query(SimFile& f, void* data) {
  auto* q = static_cast<drm_panthor_dev_query*>(data);
  const SimDevice& d = *f.device();
  const GpuIdentity& g = d.gpu();

  // Query types newer than the selected version are unknown types (-EINVAL).
  switch (q->type) {
    case DRM_PANTHOR_DEV_QUERY_TIMESTAMP_INFO:
      if (!d.at_least(kPanthorTimestampInfo)) return -EINVAL;
      break;
    case DRM_PANTHOR_DEV_QUERY_GROUP_PRIORITIES_INFO:
      if (!d.at_least(kPanthorGroupPriorities)) return -EINVAL;
      break;
    case DRM_PANTHOR_DEV_QUERY_MMU_INFO:
      if (!d.at_least(kPanthorMmuInfo)) return -EINVAL;
      break;
    default:
      break;
  }

  if (!q->pointer) {
    switch (q->type) {
      case DRM_PANTHOR_DEV_QUERY_GPU_INFO:
        q->size = kGpuInfoSize;
        return 0;
      case DRM_PANTHOR_DEV_QUERY_CSIF_INFO:
        q->size = kCsifInfoSize;
        return 0;
      case DRM_PANTHOR_DEV_QUERY_TIMESTAMP_INFO:
        q->size = timestamp_info_size(d);
        return 0;
      case DRM_PANTHOR_DEV_QUERY_GROUP_PRIORITIES_INFO:
        q->size = kPrioritiesInfoSize;
        return 0;
      case DRM_PANTHOR_DEV_QUERY_MMU_INFO:
        q->size = kMmuInfoSize;
        return 0;
      default:
        return -EINVAL;
    }
  }

  switch (q->type) {
    case DRM_PANTHOR_DEV_QUERY_GPU_INFO: {
      drm_panthor_gpu_info i = gpu_info(d);
      return set_uobj(q->pointer, q->size, kGpuInfoMinSize, kGpuInfoSize, &i);
    }
    case DRM_PANTHOR_DEV_QUERY_CSIF_INFO: {
      drm_panthor_csif_info c = csif_info(g);
      return set_uobj(q->pointer, q->size, kCsifInfoSize, kCsifInfoSize, &c);
    }
    case DRM_PANTHOR_DEV_QUERY_TIMESTAMP_INFO: {
      if (d.at_least(kPanthorTimestampFlags)) return timestamp_info_v2(d, q);
      drm_panthor_timestamp_info t;
      std::memset(&t, 0, sizeof t);
      t.timestamp_frequency = g.timestamp_frequency;
      t.current_timestamp = gpu_timestamp(g.timestamp_frequency);
      t.timestamp_offset = 0;
      return set_uobj(q->pointer, q->size, kTimestampInfoV1Size, kTimestampInfoV1Size, &t);
    }
    case DRM_PANTHOR_DEV_QUERY_GROUP_PRIORITIES_INFO: {
      drm_panthor_group_priorities_info p;
      std::memset(&p, 0, sizeof p);
      p.allowed_mask = allowed_priorities();
      // Before 1.2 there is no REALTIME priority to allow.
      return set_uobj(q->pointer, q->size, kPrioritiesInfoSize, kPrioritiesInfoSize, &p);
    }
    case DRM_PANTHOR_DEV_QUERY_MMU_INFO: {
      drm_panthor_mmu_info m;
      // The model's MMU: 4 KiB pages and 2 MiB blocks (page_table.h).
      m.page_size_bitmap = WSYS_PANTHOR_MMU_DEFAULT_PAGE_SIZES;
      return set_uobj(q->pointer, q->size, kMmuInfoSize, kMmuInfoSize, &m);
    }
    default:
      return -EINVAL;
  }
}

int ioctl_panthor_bo_create(SimFile& f, void* data) {
  auto* a = static_cast<drm_panthor_bo_create*>(data);
  uint32_t known = DRM_PANTHOR_BO_NO_MMAP;
  if (f.device()->at_least(kPanthorBoWbMmap)) known |= DRM_PANTHOR_BO_WB_MMAP;
  if (!a->size || a->pad || (a->flags & ~known)) return -EINVAL;
  // A write-back CPU mapping of an object that cannot be mapped.
  if ((a->flags & DRM_PANTHOR_BO_NO_MMAP) && (a->flags & DRM_PANTHOR_BO_WB_MMAP)) return -EINVAL;

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

// BO_SYNC (1.7): the kernel's panthor_gem_sync() per op, in order; the
// first failing op ends the call with its errno. The model is coherent
// (selected_coherency ACE-Lite, the CPU's caches are the "GPU's"), so an op
// that passes validation changes nothing: it is counted
// (SimDevice::cache_sync_ops) when the kernel would have done maintenance
// (a WB_MMAP object, size > 0).
int ioctl_panthor_bo_sync(SimFile& f, void* data) {
  auto* a = static_cast<drm_panthor_bo_sync*>(data);
  if (!a->ops.count) return 0;
  std::vector<drm_panthor_bo_sync_op> ops;
  int r = panthor_uobj::get_obj_array(a->ops, kBoSyncOpMinSize, &ops);
  if (r) return r;
  for (const drm_panthor_bo_sync_op& op : ops) {
    SimBoPtr bo = f.lookup_bo(op.handle);
    if (!bo) return -ENOENT;
    if (op.offset + op.size < op.offset || op.offset + op.size > bo->size()) return -EINVAL;
    if (bo->imported()) return -EINVAL;  // no CPU cache maintenance on imports
    if (op.type != DRM_PANTHOR_BO_SYNC_CPU_CACHE_FLUSH &&
        op.type != DRM_PANTHOR_BO_SYNC_CPU_CACHE_FLUSH_AND_INVALIDATE)
      return -EINVAL;
    if (!(bo->create_flags & DRM_PANTHOR_BO_WB_MMAP) || op.size == 0) continue;  // WC: nothing
    f.device()->count_cache_sync_op();
  }
  return 0;
}

// BO_QUERY_INFO (1.7): the creation flags and whether the object was
// imported from another device (pad is an output, cleared).
int ioctl_panthor_bo_query_info(SimFile& f, void* data) {
  auto* a = static_cast<drm_panthor_bo_query_info*>(data);
  SimBoPtr bo = f.lookup_bo(a->handle);
  if (!bo) return -ENOENT;
  a->pad = 0;
  a->create_flags = bo->imported() ? 0 : bo->create_flags;
  a->extra_flags = bo->imported() ? DRM_PANTHOR_BO_IS_IMPORTED : 0;
  return 0;
}

}  // namespace wsys::sim
