// panfrost ioctls of the model (driver versions 1.0 to 1.6, gated by
// driver_version.h): GET_PARAM, CREATE_BO (HEAP/NOEXEC 1.1, WB_MMAP 1.6),
// MMAP_BO, GET_BO_OFFSET, SET_LABEL_BO (1.4), JM_CTX_CREATE/DESTROY (1.5),
// SYNC_BO and QUERY_BO_INFO (1.6), and the per-file GPU address space.
//
// As in the kernel, every open file has its own address space, [32 MiB,
// 4 GiB), and every object that gets a handle in a file (CREATE_BO or PRIME
// import) is given a kernel-chosen VA there and mapped at once (the GEM
// open callback); closing the handle unmaps it and frees the VA (the close
// callback). Placement follows panfrost_gem_open and the drm_mm colour
// rule of panfrost_mmu.c:
//   - no-exec objects >= 2 MiB are 2 MiB-aligned, smaller ones 4 KiB;
//   - executable objects are aligned to their own size (a multiple of the
//     size, not a power of two), may not start or end on a 4 GiB boundary,
//     and may not start in the last 16 MiB below one (the 24-bit program
//     counter must not wrap inside a shader);
//   - imported objects are no-exec.
// The allocator is first fit over an address-ordered free list (the kernel
// uses drm_mm's best fit; placement is not ABI, only the rules are).
#include <linux/capability.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <climits>
#include <new>
#include <vector>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <unordered_map>

#include "drm-uapi/panfrost_drm.h"
#include "winsys/sim/ioctls.h"
#include "winsys/sim/panfrost_submit.h"
#include "winsys/sim/sim_device.h"
#include "winsys/sim/user_copy.h"
#include "winsys/sim/vm.h"

namespace wsys::sim {

namespace {

constexpr uint64_t kPageShift = 12;
constexpr uint64_t kVaStart = 32ull << 20;  // SZ_32M
constexpr uint64_t kVaEnd = 4ull << 30;     // SZ_4G
constexpr uint64_t kPfn4G = (4ull << 30) >> kPageShift;
constexpr uint64_t kPfn16M = (16ull << 20) >> kPageShift;
constexpr uint64_t kPfn2M = (2ull << 20) >> kPageShift;

constexpr size_t kLabelMax = 4096;  // PANFROST_BO_LABEL_MAXLEN, NUL included
// JM context handles per file: 0 (the default context) .. kMaxJmCtx.
constexpr uint32_t kMaxJmCtx = 128;

// First-fit page-range allocator over [first, end) pages.
class VaRanges {
 public:
  VaRanges(uint64_t first, uint64_t end) { holes_[first] = end; }

  // Returns the first page of `pages` pages, or 0 when nothing fits.
  uint64_t alloc(uint64_t pages, uint64_t align, bool exec) {
    for (auto it = holes_.begin(); it != holes_.end(); ++it) {
      const uint64_t hs = it->first, he = it->second;
      uint64_t cs = hs, ce = he;
      if (exec) {  // panfrost's drm_mm colour adjustment for executable BOs
        if ((cs & (kPfn4G - 1)) == 0) cs++;
        if ((ce & (kPfn4G - 1)) == 0) ce--;
        uint64_t next_seg = (cs + kPfn4G - 1) & ~(kPfn4G - 1);
        if (next_seg - cs <= kPfn16M) cs = next_seg + 1;
        ce = std::min(ce, ((cs + kPfn4G - 1) & ~(kPfn4G - 1)) - 1);
      }
      if (ce <= cs || ce - cs < pages) continue;
      uint64_t start = cs;
      if (align > 1 && start % align) start += align - start % align;
      if (ce <= start || ce - start < pages) continue;
      holes_.erase(it);
      if (start > hs) holes_[hs] = start;
      if (start + pages < he) holes_[start + pages] = he;
      return start;
    }
    return 0;
  }

  void free(uint64_t start, uint64_t pages) {
    uint64_t end = start + pages;
    auto next = holes_.lower_bound(start);
    if (next != holes_.end() && next->first == end) {
      end = next->second;
      next = holes_.erase(next);
    }
    if (next != holes_.begin()) {
      auto prev = std::prev(next);
      if (prev->second == start) {
        prev->second = end;
        return;
      }
    }
    holes_[start] = end;
  }

 private:
  std::map<uint64_t, uint64_t> holes_;  // first page -> end page (exclusive)
};

// The file's address space and its object mappings (panfrost_file_priv).
class PanfrostFile final : public SimFile::DriverPriv {
 public:
  PanfrostFile() : va_(kVaStart >> kPageShift, kVaEnd >> kPageShift) {}

  int gem_open(SimFile& f, const SimBoPtr& bo) override {
    reap(f);
    const uint64_t size = bo->size();
    const uint64_t pages = size >> kPageShift;
    const bool noexec = bo->imported() || (bo->create_flags & PANFROST_BO_NOEXEC);
    const bool heap = (bo->create_flags & PANFROST_BO_HEAP) != 0;
    const uint64_t align = noexec ? (size >= (2ull << 20) ? kPfn2M : 0) : pages;

    std::lock_guard<std::mutex> g(m_);
    SimVmPtr vm = f.panfrost_vm();
    if (!vm) {  // created on first use
      SimVm::Config cfg;
      cfg.va_size_bytes = kVaEnd;
      cfg.user_va_start = kVaStart;
      cfg.user_va_end = kVaEnd;
      cfg.with_bind_queue = false;
      int err = 0;
      vm = SimVm::create(f.device(), cfg, &err);
      if (!vm) return err ? err : -ENOMEM;
      f.set_panfrost_vm(vm);
    }
    if (pages == 0) return -EINVAL;
    uint64_t first = va_.alloc(pages, align, !noexec);
    if (!first) return -ENOSPC;
    const uint64_t va = first << kPageShift;
    // Heap objects get no pages: GPU faults commit them 2 MiB at a time.
    int r = heap ? vm->map_heap(bo, va, size)
                 : vm->map(bo, 0, va, size, noexec ? static_cast<uint32_t>(kSimMapNoExec) : 0u);
    if (r) {
      va_.free(first, pages);
      return r;
    }
    maps_[bo.get()] = Mapping{va, size, heap};
    return 0;
  }

  // The kernel's mapping is refcounted and jobs hold references to the
  // mappings of the BOs they list: closing the handle while a job uses the
  // BO leaves it mapped until the job is done (panfrost_gem_mapping_put).
  // The model parks such a mapping and tears it down once the BO is idle
  // (reap(): at job completion, and on the next open/close).
  void gem_close(SimFile& f, const SimBoPtr& bo) override {
    {
      std::lock_guard<std::mutex> g(m_);
      auto it = maps_.find(bo.get());
      if (it == maps_.end()) return;
      const Mapping m = it->second;
      maps_.erase(it);
      if (bo->gpu_busy.load(std::memory_order_acquire) > 0) {
        closed_busy_.push_back(ClosedMapping{bo, m});
        return;
      }
      teardown_locked(f, m);
    }
    reap(f);
  }

  // Tears down parked mappings whose BO no job uses any more.
  void reap(SimFile& f) {
    std::lock_guard<std::mutex> g(m_);
    for (size_t i = 0; i < closed_busy_.size();) {
      if (closed_busy_[i].bo->gpu_busy.load(std::memory_order_acquire) == 0) {
        teardown_locked(f, closed_busy_[i].m);
        closed_busy_[i] = std::move(closed_busy_.back());
        closed_busy_.pop_back();
      } else {
        ++i;
      }
    }
  }

  // File close: jobs are drained before the VM goes (panfrost_submit.cpp).
  void file_closing(SimFile& f) override { panfrost_jobs_file_closing(f); }

  // --- JM contexts (1.5) ---
  std::shared_ptr<PanfrostJmCtx> ctx(uint32_t handle) {
    std::lock_guard<std::mutex> g(m_);
    auto it = ctxs_.find(handle);
    return it == ctxs_.end() ? nullptr : it->second;
  }
  // xa_alloc(0..kMaxJmCtx): the lowest free handle; -EBUSY when full.
  int ctx_create(uint32_t priority, uint32_t* handle) {
    auto c = std::make_shared<PanfrostJmCtx>();
    c->priority = priority;
    std::lock_guard<std::mutex> g(m_);
    for (uint32_t h = 1; h <= kMaxJmCtx; h++) {
      if (ctxs_.count(h)) continue;
      ctxs_.emplace(h, std::move(c));
      *handle = h;
      return 0;
    }
    return -EBUSY;
  }
  int ctx_destroy(uint32_t handle) {
    std::shared_ptr<PanfrostJmCtx> c;
    {
      std::lock_guard<std::mutex> g(m_);
      auto it = ctxs_.find(handle);
      if (it == ctxs_.end()) return -EINVAL;
      c = std::move(it->second);
      ctxs_.erase(it);
    }
    c->destroyed.store(true, std::memory_order_release);
    return 0;
  }

  // The object's GPU VA in this file, 0 if it has none.
  uint64_t va_of(const SimBo* bo) {
    std::lock_guard<std::mutex> g(m_);
    auto it = maps_.find(bo);
    return it == maps_.end() ? 0 : it->second.va;
  }

 private:
  struct Mapping {
    uint64_t va, size;
    bool heap;
  };
  struct ClosedMapping {
    SimBoPtr bo;  // a job's reference, as the kernel's mapping holds the object
    Mapping m;
  };
  void teardown_locked(SimFile& f, const Mapping& m) {
    if (SimVmPtr vm = f.panfrost_vm()) {
      if (m.heap) vm->unmap_heap(m.va);
      else vm->unmap(m.va, m.size);
    }
    va_.free(m.va >> kPageShift, m.size >> kPageShift);
  }
  std::mutex m_;
  VaRanges va_;
  std::unordered_map<const SimBo*, Mapping> maps_;
  std::vector<ClosedMapping> closed_busy_;  // closed while a job used them
  std::map<uint32_t, std::shared_ptr<PanfrostJmCtx>> ctxs_{
      {0u, std::make_shared<PanfrostJmCtx>()}};  // 0: the default context
};

PanfrostFile* priv_of(SimFile& f) {
  return static_cast<PanfrostFile*>(f.driver_priv());
}

// capable(CAP_SYS_NICE) (panfrost_high_prio_allowed; a render node is
// never DRM master).
bool high_prio_allowed() {
  __user_cap_header_struct hdr;
  std::memset(&hdr, 0, sizeof hdr);
  hdr.version = _LINUX_CAPABILITY_VERSION_3;
  __user_cap_data_struct caps[_LINUX_CAPABILITY_U32S_3];
  std::memset(caps, 0, sizeof caps);
  if (syscall(SYS_capget, &hdr, caps) != 0) return false;
  return (caps[CAP_TO_INDEX(CAP_SYS_NICE)].effective & CAP_TO_MASK(CAP_SYS_NICE)) != 0;
}

uint64_t timestamp_ticks(uint64_t freq_hz) {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  uint64_t sec = static_cast<uint64_t>(ts.tv_sec), nsec = static_cast<uint64_t>(ts.tv_nsec);
  return sec * freq_hz + nsec * freq_hz / 1000000000ull;
}

}  // namespace

void panfrost_reap_closed_mappings(SimFile& f) {
  if (PanfrostFile* p = priv_of(f)) p->reap(f);
}

std::shared_ptr<PanfrostJmCtx> panfrost_jm_ctx_lookup(SimFile& f, uint32_t handle) {
  PanfrostFile* p = priv_of(f);
  return p ? p->ctx(handle) : nullptr;
}

std::unique_ptr<SimFile::DriverPriv> make_panfrost_file_priv() {
  return std::make_unique<PanfrostFile>();
}

int ioctl_panfrost_get_param(SimFile& f, void* data) {
  auto* p = static_cast<drm_panfrost_get_param*>(data);
  if (p->pad) return -EINVAL;
  const SimDevice& d = *f.device();
  const GpuIdentity& g = d.gpu();
  const uint32_t param = p->param;
  // Parameters newer than the selected version are unknown (-EINVAL).
  switch (param) {
    case DRM_PANFROST_PARAM_AFBC_FEATURES:
      if (!d.at_least(kPanfrostAfbcFeatures)) return -EINVAL;
      break;
    case DRM_PANFROST_PARAM_SYSTEM_TIMESTAMP:
    case DRM_PANFROST_PARAM_SYSTEM_TIMESTAMP_FREQUENCY:
      if (!d.at_least(kPanfrostSystemTimestamp)) return -EINVAL;
      break;
    case DRM_PANFROST_PARAM_ALLOWED_JM_CTX_PRIORITIES:
      if (!d.at_least(kPanfrostJmContexts)) return -EINVAL;
      break;
    case DRM_PANFROST_PARAM_SELECTED_COHERENCY:
      if (!d.at_least(kPanfrostSelectedCoherency)) return -EINVAL;
      break;
    default:
      break;
  }
  switch (param) {
    case DRM_PANFROST_PARAM_GPU_PROD_ID:
      p->value = g.gpu_id >> 16;
      break;
    case DRM_PANFROST_PARAM_GPU_REVISION:
      p->value = g.gpu_id & 0xffff;
      break;
    case DRM_PANFROST_PARAM_SHADER_PRESENT:
      p->value = g.shader_present;
      break;
    case DRM_PANFROST_PARAM_TILER_PRESENT:
      p->value = g.tiler_present;
      break;
    case DRM_PANFROST_PARAM_L2_PRESENT:
      p->value = g.l2_present;
      break;
    case DRM_PANFROST_PARAM_STACK_PRESENT:
      p->value = g.stack_present;
      break;
    case DRM_PANFROST_PARAM_AS_PRESENT:
      p->value = g.as_present;
      break;
    case DRM_PANFROST_PARAM_JS_PRESENT:
      p->value = g.js_present;
      break;
    case DRM_PANFROST_PARAM_L2_FEATURES:
      p->value = g.l2_features;
      break;
    case DRM_PANFROST_PARAM_CORE_FEATURES:
      p->value = g.core_features;
      break;
    case DRM_PANFROST_PARAM_TILER_FEATURES:
      p->value = g.tiler_features;
      break;
    case DRM_PANFROST_PARAM_MEM_FEATURES:
      p->value = g.mem_features;
      break;
    case DRM_PANFROST_PARAM_MMU_FEATURES:
      p->value = g.mmu_features;
      break;
    case DRM_PANFROST_PARAM_THREAD_FEATURES:
      p->value = g.thread_features;
      break;
    case DRM_PANFROST_PARAM_MAX_THREADS:
      p->value = g.max_threads;
      break;
    case DRM_PANFROST_PARAM_THREAD_MAX_WORKGROUP_SZ:
      p->value = g.thread_max_workgroup_size;
      break;
    case DRM_PANFROST_PARAM_THREAD_MAX_BARRIER_SZ:
      p->value = g.thread_max_barrier_size;
      break;
    case DRM_PANFROST_PARAM_COHERENCY_FEATURES:
      p->value = g.coherency_features;
      break;
    case DRM_PANFROST_PARAM_NR_CORE_GROUPS:
      p->value = g.nr_core_groups;
      break;
    case DRM_PANFROST_PARAM_THREAD_TLS_ALLOC:
      p->value = g.thread_tls_alloc;
      break;
    case DRM_PANFROST_PARAM_AFBC_FEATURES:
      p->value = g.afbc_features;
      break;                                   // 1.2
    case DRM_PANFROST_PARAM_SYSTEM_TIMESTAMP:  // 1.3
      p->value = timestamp_ticks(g.timestamp_frequency);
      break;
    case DRM_PANFROST_PARAM_SYSTEM_TIMESTAMP_FREQUENCY:
      p->value = g.timestamp_frequency;
      break;
    case DRM_PANFROST_PARAM_ALLOWED_JM_CTX_PRIORITIES:  // 1.5
      p->value = (1u << PANFROST_JM_CTX_PRIORITY_LOW) | (1u << PANFROST_JM_CTX_PRIORITY_MEDIUM);
      if (high_prio_allowed()) p->value |= 1u << PANFROST_JM_CTX_PRIORITY_HIGH;
      break;
    case DRM_PANFROST_PARAM_SELECTED_COHERENCY:  // 1.6
      p->value = d.selected_coherency();
      break;
    default:
      if (param >= DRM_PANFROST_PARAM_TEXTURE_FEATURES0 &&
          param <= DRM_PANFROST_PARAM_TEXTURE_FEATURES3) {
        p->value = g.texture_features[param - DRM_PANFROST_PARAM_TEXTURE_FEATURES0];
      } else if (param >= DRM_PANFROST_PARAM_JS_FEATURES0 &&
                 param <= DRM_PANFROST_PARAM_JS_FEATURES15) {
        p->value = g.js_features[param - DRM_PANFROST_PARAM_JS_FEATURES0];
      } else {
        return -EINVAL;
      }
  }
  return 0;
}

int ioctl_panfrost_create_bo(SimFile& f, void* data) {
  auto* a = static_cast<drm_panfrost_create_bo*>(data);
  uint32_t known = 0;  // 1.0 takes no flags
  if (f.device()->at_least(kPanfrostHeapNoexec)) known |= PANFROST_BO_NOEXEC | PANFROST_BO_HEAP;
  if (f.device()->at_least(kPanfrostWbMmap)) known |= PANFROST_BO_WB_MMAP;
  if (!a->size || a->pad || (a->flags & ~known)) return -EINVAL;
  // Heaps are never executable, and never CPU-mapped.
  if ((a->flags & PANFROST_BO_HEAP) && !(a->flags & PANFROST_BO_NOEXEC)) return -EINVAL;
  if ((a->flags & PANFROST_BO_HEAP) && (a->flags & PANFROST_BO_WB_MMAP)) return -EINVAL;
  // Heap objects: size rounded up to 2 MiB, no pages until GPU faults
  // commit them (lazy: charged per committed block), never mmapped or
  // exported.
  const bool heap = (a->flags & PANFROST_BO_HEAP) != 0;
  constexpr uint64_t k2M = 2ull << 20;
  const uint64_t size = heap ? (uint64_t{a->size} + k2M - 1) & ~(k2M - 1) : page_align(a->size);

  int err = 0;
  SimBoPtr bo = SimBo::create(f.device(), size, &err, /*lazy=*/heap);
  if (!bo) return err;
  bo->create_flags = a->flags;
  if (heap) {
    bo->mmap_allowed = false;
    bo->exportable = false;
  }

  // The handle's creation maps the object into this file's VM.
  uint32_t h = f.handle_for(bo, &err);
  if (!h) return err ? err : -ENOSPC;
  a->handle = h;
  uint64_t va = priv_of(f)->va_of(bo.get());
  // Only possible if user space guessed the handle and closed it already.
  if (!va) return -EINVAL;
  a->offset = va;
  return 0;
}

int ioctl_panfrost_mmap_bo(SimFile& f, void* data) {
  auto* a = static_cast<drm_panfrost_mmap_bo*>(data);
  if (a->flags != 0) return -EINVAL;
  SimBoPtr bo = f.lookup_bo(a->handle);
  if (!bo) return -ENOENT;
  // Heap pages are not pinned, so heaps cannot be mapped.
  if (bo->create_flags & PANFROST_BO_HEAP) return -EINVAL;
  a->offset = bo->mmap_offset();
  return 0;
}

int ioctl_panfrost_get_bo_offset(SimFile& f, void* data) {
  // No pad check: the kernel has none for this ioctl.
  auto* a = static_cast<drm_panfrost_get_bo_offset*>(data);
  SimBoPtr bo = f.lookup_bo(a->handle);
  if (!bo) return -ENOENT;
  uint64_t va = priv_of(f)->va_of(bo.get());
  if (!va) return -EINVAL;
  a->offset = va;
  return 0;
}

int ioctl_panfrost_set_label_bo(SimFile& f, void* data) {
  auto* a = static_cast<drm_panfrost_set_label_bo*>(data);
  if (a->pad) return -EINVAL;
  SimBoPtr bo = f.lookup_bo(a->handle);
  if (!bo) return -ENOENT;
  std::string label;  // pointer 0 clears the label
  if (a->label) {
    int r = strndup_user(a->label, kLabelMax, &label);
    if (r) return r == -EINVAL ? -E2BIG : r;
  }
  f.device()->set_bo_label(*bo, std::move(label));
  return 0;
}

int ioctl_panfrost_jm_ctx_create(SimFile& f, void* data) {
  auto* a = static_cast<drm_panfrost_jm_ctx_create*>(data);
  switch (a->priority) {
    case PANFROST_JM_CTX_PRIORITY_LOW:
    case PANFROST_JM_CTX_PRIORITY_MEDIUM:
      break;
    case PANFROST_JM_CTX_PRIORITY_HIGH:
      if (!high_prio_allowed()) return -EACCES;
      break;
    default:
      return -EINVAL;
  }
  return priv_of(f)->ctx_create(a->priority, &a->handle);
}

int ioctl_panfrost_jm_ctx_destroy(SimFile& f, void* data) {
  auto* a = static_cast<drm_panfrost_jm_ctx_destroy*>(data);
  if (a->pad) return -EINVAL;
  if (!a->handle) return -EINVAL;  // the default context stays
  return priv_of(f)->ctx_destroy(a->handle);
}

// SYNC_BO (1.6): panfrost_gem_sync() per op, in order. The model is
// coherent (PARAM_SELECTED_COHERENCY ACE-Lite): a valid op changes nothing
// and is counted (SimDevice::cache_sync_ops) when the kernel would have
// done maintenance (a WB_MMAP object, size > 0).
int ioctl_panfrost_sync_bo(SimFile& f, void* data) {
  auto* a = static_cast<drm_panfrost_sync_bo*>(data);
  if (a->pad) return -EINVAL;
  if (!a->op_count) return 0;
  if (uint64_t{a->op_count} * sizeof(drm_panfrost_bo_sync_op) > INT_MAX) return -ENOMEM;
  if (!user_range_ends_readable(a->ops, a->op_count * sizeof(drm_panfrost_bo_sync_op)))
    return -EFAULT;
  std::vector<drm_panfrost_bo_sync_op> ops;
  try {
    ops.resize(a->op_count);
  } catch (const std::bad_alloc&) {
    return -ENOMEM;
  }
  if (copy_from_user(ops.data(), a->ops, ops.size() * sizeof(ops[0]))) return -EFAULT;
  for (const drm_panfrost_bo_sync_op& op : ops) {
    SimBoPtr bo = f.lookup_bo(op.handle);
    if (!bo) return -ENOENT;
    const uint64_t end = uint64_t{op.offset} + op.size;
    // The kernel adds in 32 bits: a sum that wraps is refused too.
    if (static_cast<uint32_t>(end) < op.offset || end > bo->size()) return -EINVAL;
    if (bo->imported()) return -EINVAL;
    if (op.type != PANFROST_BO_SYNC_CPU_CACHE_FLUSH &&
        op.type != PANFROST_BO_SYNC_CPU_CACHE_FLUSH_AND_INVALIDATE)
      return -EINVAL;
    if (!(bo->create_flags & PANFROST_BO_WB_MMAP) || op.size == 0) continue;
    f.device()->count_cache_sync_op();
  }
  return 0;
}

// QUERY_BO_INFO (1.6): no pad check on input (pad is cleared on output).
int ioctl_panfrost_query_bo_info(SimFile& f, void* data) {
  auto* a = static_cast<drm_panfrost_query_bo_info*>(data);
  SimBoPtr bo = f.lookup_bo(a->handle);
  if (!bo) return -ENOENT;
  a->pad = 0;
  a->create_flags = 0;
  a->extra_flags = 0;
  if (bo->imported())
    a->extra_flags |= DRM_PANFROST_BO_IS_IMPORTED;
  else
    a->create_flags =
        bo->create_flags & (PANFROST_BO_NOEXEC | PANFROST_BO_HEAP | PANFROST_BO_WB_MMAP);
  return 0;
}

}  // namespace wsys::sim
