// wsys::Bo: a GPU buffer object as frontends see it.
//
// Reference-counted (intrusive, so the C API's wsys_bo_ref/unref map onto
// it one to one); BoRef is the owning smart pointer. When the last
// reference goes the buffer returns to its Device's BoCache (or is
// destroyed when it cannot be cached: shared, imported, too large, growable,
// or the Device is gone), so frontends never free a buffer explicitly.
//
// A Bo has a GPU address in its Device's VM (Vm objects of the bind layer
// track further mappings), a CPU mapping created on first use, a label,
// and "busy": pending GPU use, recorded by the frontend with mark_used()
// (a syncobj point its submission signals; every queue's, so a buffer used
// by two queues is busy until both are done) and, on panfrost, the
// kernel's implicit fences. busy() never blocks.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "wsys/bo_cache.hpp"
#include "wsys/result.hpp"
#include "wsys/sync.hpp"

namespace wsys {

namespace kmod {
class Bo;
}

class Device;
struct KernelAccess;

// Allocation flags. The low byte describes the buffer (and selects its
// cache pool); the rest is how it is handed out.
enum AllocFlags : uint32_t {
  kAllocExecutable = 1u << 0,   // may hold shader code
  kAllocNoMmap = 1u << 1,       // never CPU-mapped
  kAllocGpuUncached = 1u << 2,  // GPU-uncached mappings (panthor)
  kAllocShareable = 1u << 3,    // may be exported (else private to the device's VM where the
                                // kernel supports it, which is cheaper to bind)
  kAllocCpuCached = 1u << 4,    // write-back cached CPU mapping (DeviceInfo::cpu_cached_mappings,
                                // else -EOPNOTSUPP); on a non-coherent device the CPU's
                                // writes reach the GPU after flush(), its reads see the
                                // GPU's after invalidate()
  kAllocZeroed = 1u << 8,       // contents must read as zero (a reused buffer is cleared)
  kAllocNoCache = 1u << 9,      // never taken from or returned to the cache
};
inline constexpr uint32_t kAllocBufferFlags =
    kAllocExecutable | kAllocNoMmap | kAllocGpuUncached | kAllocShareable | kAllocCpuCached;
inline constexpr uint32_t kAllocAllFlags = kAllocBufferFlags | kAllocZeroed | kAllocNoCache;

class Bo {
 public:
  Bo(const Bo&) = delete;
  Bo& operator=(const Bo&) = delete;

  void ref() { refs_.fetch_add(1, std::memory_order_relaxed); }
  void unref();  // the last one returns the buffer to the cache

  Device& device() const { return *device_; }
  uint64_t size() const { return hook_.size; }  // bytes held (the size class)
  uint64_t requested_size() const { return requested_; }
  uint32_t flags() const { return flags_; }  // kAllocBufferFlags bits
  uint32_t handle() const;                   // GEM handle
  // GPU address in the device's VM (panfrost: where the kernel placed it).
  uint64_t gpu_va() const { return gpu_va_; }
  bool imported() const { return imported_; }
  bool shared() const { return hook_.shared; }  // exported or imported: never cached

  // The CPU mapping (read/write), created on first call and kept until the
  // buffer is destroyed or cached (see BoCacheConfig::keep_cpu_mapping).
  // -EINVAL for kAllocNoMmap buffers.
  Result<void*> map();
  void* cpu() const { return cpu_.load(std::memory_order_acquire); }

  // CPU cache maintenance of [offset, offset + size) of a kAllocCpuCached
  // buffer (the range is widened to whole cache lines by the kernel):
  // flush() before the GPU reads what the CPU wrote, invalidate() (flush
  // and invalidate) before the CPU reads what the GPU wrote. Nothing to do,
  // and no ioctl, for other buffers or on a coherent device. -EINVAL for a
  // range outside the buffer.
  Result<void> flush(uint64_t offset, uint64_t size);
  Result<void> invalidate(uint64_t offset, uint64_t size);

  std::string label() const;
  // -EOPNOTSUPP where the kernel has no labels (before driver 1.4); the
  // label is still kept here (docs/labels.md).
  Result<void> set_label(std::string_view label);

  // A dma-buf fd (O_CLOEXEC | O_RDWR); the buffer becomes shared and is
  // never cached. -EINVAL for private buffers (no kAllocShareable).
  Result<int> export_fd();

  // Records that a submission using this buffer signals (syncobj, point)
  // when done (point 0: a binary syncobj). The syncobj must stay alive
  // until that point signals or the buffer is released. One use is kept
  // per syncobj (a queue's timeline: its latest point, which signals after
  // the earlier ones; a binary syncobj: its latest submission, which
  // replaced the earlier fence there), and uses of different syncobjs
  // accumulate until they signal. Syncobj 0 is ignored.
  void mark_used(uint32_t syncobj, uint64_t point = 0);
  // Pending GPU use, without blocking.
  bool busy();
  // Waits until idle; absolute CLOCK_MONOTONIC deadline (-ETIME past it).
  Result<void> wait(int64_t abs_deadline_ns);

 private:
  friend class Device;
  friend class DeviceVa;
  friend class DeviceCacheBackend;
  friend class BindBatch;
  friend struct KernelAccess;
  Bo(Device* device, std::shared_ptr<kmod::Bo> kbo, uint64_t requested, uint32_t flags);
  ~Bo();
  Result<void> count_sync(Result<void> r);  // DeviceStats::cache_sync_ops
  // Waits for every recorded use (0 polls); forgets those found signalled.
  Result<void> wait_uses(int64_t abs_deadline_ns);
  // The recorded uses' points (a copy, taken under the lock).
  std::vector<SyncPoint> pending_points() const;

  BoCacheHook hook_;  // first: Device converts hook pointers back to Bos
  std::atomic<uint32_t> refs_{1};
  Device* device_;
  // Held while handed out, so the Device outlives its users' buffers;
  // dropped while cached (the cache is the Device's).
  std::shared_ptr<Device> device_ref_;
  std::shared_ptr<kmod::Bo> kbo_;
  uint64_t requested_;
  uint32_t flags_;
  bool imported_ = false;
  bool no_cache_ = false;  // kAllocNoCache, or zeroed + no-mmap
  int8_t stats_label_ = -1;  // the live statistics' label slot it counts in
  // label_'s slot, remembered so a reused buffer skips the slot search
  // (-1: not known; set_label forgets it). Touched only while the Bo is
  // its holder's alone (allocation) or under lock_ (set_label).
  int8_t label_slot_ = -1;
  uint64_t gpu_va_ = 0;
  uint32_t va_block_ = UINT32_MAX;  // VaAllocation record (panthor)
  uintptr_t host_addr_ = 0;         // a backed host import's range start
  std::atomic<void*> cpu_{nullptr};

  mutable std::mutex lock_;  // guards the fields below
  std::string label_;
  // Uses not yet seen signalled, one per syncobj (capacity kept across
  // cache reuse: steady-state mark_used allocates nothing).
  PendingUses uses_;
  // !uses_.empty(), stored under lock_: busy() and wait() of a buffer
  // without uses (every cache put on a device without implicit sync) skip
  // the lock.
  std::atomic<bool> has_uses_{false};
};

// An owning reference to a Bo.
class BoRef {
 public:
  BoRef() = default;
  // Adopts one reference (does not add one).
  static BoRef adopt(Bo* bo) {
    BoRef r;
    r.bo_ = bo;
    return r;
  }
  BoRef(const BoRef& o) : bo_(o.bo_) {
    if (bo_) bo_->ref();
  }
  BoRef(BoRef&& o) noexcept : bo_(std::exchange(o.bo_, nullptr)) {}
  BoRef& operator=(BoRef o) noexcept {
    std::swap(bo_, o.bo_);
    return *this;
  }
  ~BoRef() { reset(); }
  void reset() {
    if (Bo* b = std::exchange(bo_, nullptr)) b->unref();
  }
  // Gives up ownership without dropping the reference.
  Bo* release() { return std::exchange(bo_, nullptr); }
  Bo* get() const { return bo_; }
  Bo* operator->() const { return bo_; }
  Bo& operator*() const { return *bo_; }
  explicit operator bool() const { return bo_ != nullptr; }

 private:
  Bo* bo_ = nullptr;
};

}  // namespace wsys
