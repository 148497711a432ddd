// wsys::Device: one open GPU (a render node or the kernel model) and the
// memory policy on it: the kmod device, its properties, the device VM and
// its VA allocator, the BO cache and statistics.
//
// Devices are shared (std::shared_ptr): buffers handed out keep theirs
// alive, so releasing a Device while buffers live is safe. Every call is
// thread-safe.
//
// Buffers (see bo.hpp) get a GPU address in the device VM when created:
// through the VaAllocator and an immediate VM_BIND where userspace manages
// the address space, else where the kernel placed them. A cached buffer keeps its mapping, so a
// cache hit costs no bind. When a buffer is destroyed its VA is unmapped: at once if it is idle,
// else by an asynchronous VM_BIND that waits for every pending use (each queue's); that VA goes
// back to the allocator only once the unmap's point on the device's unmap timeline has signalled
// (checked without blocking; the bookkeeping record is allocated before the unmap is submitted).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>
#include <string_view>

#include "wsys/bo.hpp"
#include "wsys/bo_cache.hpp"
#include "wsys/result.hpp"
#include "wsys/sync.hpp"
#include "wsys/va_allocator.hpp"
#include "wsys/vm.hpp"

namespace wsys {

namespace kmod {
class Device;
}  // namespace kmod
class ScratchPool;
struct KernelAccess;

// Host memory as GPU memory (Device::import_host, docs/host-memory.md).
enum class HostMemoryMode {
  // A one-shot upload: the range's contents are unspecified afterwards
  // (stealing leaves it reading zero); the caller may reuse or free it.
  UploadDiscard,
  // A one-shot upload; the range keeps its contents and never sees the
  // GPU's later writes.
  UploadKeep,
  // Long-lived (VK_EXT_external_memory_host): the buffer and the range
  // share pages for the buffer's lifetime. The range must be a shared
  // mapping (memfd, shm, MAP_SHARED|MAP_ANONYMOUS), page-aligned; private
  // read/write memory is first turned into one (BackedRemap: its pages are
  // copied once into a memfd mapped over the range at the same address).
  Shared,
};
// What import_host did.
// BackedRemap: Shared of private memory; its contents were moved once into
// a shared memfd mapped at the same address (docs/host-memory.md).
enum class HostImportPath { Steal, StealKeep, Backed, Udmabuf, Copy, BackedRemap };
const char* host_import_path_name(HostImportPath p);  // "steal", ..., "copy"

// Uploads of at least this many bytes are stolen (page moves) rather than
// copied where the kernel can steal: the crossover measured by
// bench/host_upload_bench.cpp on the model (16 MiB; docs/host-memory.md).
inline constexpr uint64_t kHostStealCrossoverBytes = 16ull << 20;

struct DeviceOptions {
  BoCacheConfig cache;
  // Keep CPU mappings of cached buffers (faster reuse) or drop them (the
  // kernel can purge only unmapped buffers). Unset: keep them only where
  // the kernel has no madvise, since nothing could be purged.
  std::optional<bool> keep_cpu_mapping;
  // Madvise (and unmap) cached buffers only once they have been idle for
  // the decay grace (BoCacheConfig::lazy_madvise): quick reuse costs no
  // syscall. Overrides cache.lazy_madvise.
  bool lazy_madvise = true;
  // Device::import_host: uploads from this size on are stolen where the
  // kernel can (tests lower it; 0 steals everything).
  uint64_t host_steal_min_bytes = kHostStealCrossoverBytes;
  // Apply WSYS_BO_CACHE_* environment overrides on top of `cache`.
  bool cache_from_env = true;
  // Cache decay and deferred VA reclaim on the process's background thread
  // (one for every Device, started when a buffer is first cached) while
  // there is anything to do. Off: call Device::maintain().
  bool maintenance_thread = true;
  // Free cached buffers before the kernel would have to reclaim memory
  // (where it cannot purge them for free: no madvise, e.g. panthor, whose
  // 2026 shrinker swaps idle buffers out instead): before a buffer is
  // created, and in maintain(), the cache is trimmed so the kernel's
  // headroom (kmod memory_available) stays above the new buffer plus 1/32
  // of the device's memory.
  bool trim_cache_under_pressure = true;
  // The BO cache's cap while a user queue can run on the device VM (the
  // coarse pinning policy, docs/user-queues.md). Such a queue makes the
  // kernel keep everything the VM maps resident, and cached buffers live in
  // the device VM: the kernel could neither purge nor swap them. When the
  // first queue on the device VM is created the cache is cut to this; the
  // normal cap returns with the last one. Queues on other Vms change
  // nothing (the cache maps nothing there).
  uint64_t user_queue_cache_bytes = uint64_t{4} << 20;
  // Where the cache's decay clock comes from (tests); default
  // CLOCK_MONOTONIC.
  std::function<uint64_t()> clock;
};

struct DeviceInfo {
  std::string node;    // "sim:panthor", "/dev/dri/renderD128", ...
  std::string driver;  // "panthor", "panfrost"
  int driver_major = 0, driver_minor = 0;
  bool model = false;  // the in-process kernel model
  // Memory the device can use: the model's budget (WSYS_SIM_MEMORY_BUDGET);
  // on a real device, which has no such query (Mali shares system memory),
  // three quarters of the system's RAM (leaving the rest to the CPU side).
  uint64_t memory_bytes = 0;
  uint32_t gpu_id = 0;
  uint32_t arch_major = 0;
  uint32_t core_count = 0;
  uint32_t core_id_range = 0;
  uint32_t va_bits = 0;
  uint64_t va_start = 0, va_end = 0;  // the device VM's user range
  bool kernel_managed_va = false;     // the kernel places buffers (panfrost)
  bool madvise = false;               // purgeable cached buffers
  bool timeline_syncobj = false;
  bool sparse_map = false;          // the kernel has MAP_SPARSE (VM_BIND)
  // Host memory: the model's HOST_IMPORT extension (steal / backed; in no
  // released kernel) and /dev/udmabuf (memfd -> dma-buf, real kernels).
  bool host_import = false;
  bool udmabuf = false;
  // Its PRIME import of a central allocator's buffers (wsys::SharedBuffer)
  // attaches with the GPU's DMA constraints, placing them on first use:
  // the model's deferred-allocation extension (in no released kernel;
  // docs/deferred-allocation.md).
  bool shared_buffers = false;
  // The GPU snoops the CPU's caches (the kernel's selected coherency is
  // ACE-Lite or ACE; assumed on kernels that do not say).
  bool coherent = true;
  // kAllocCpuCached is available (WB mmap and CPU cache maintenance:
  // panthor 1.7, panfrost 1.6).
  bool cpu_cached_mappings = false;
  uint64_t page_size_bytes = 4096;  // the CPU page (mappings, cache size classes)
  uint64_t gpu_page_bytes = 4096;   // the GPU MMU's smallest page
};

// Buffers by the label they were allocated with (docs/labels.md).
struct LabelUsage {
  std::string label;
  uint64_t allocs = 0;      // allocations ever made with it
  uint64_t bos_live = 0;    // handed out now
  uint64_t bytes_live = 0;
};

struct DeviceStats {
  uint64_t bos_live = 0;           // handed out now
  uint64_t bytes_live = 0;         // their sizes (size classes)
  uint64_t bytes_requested = 0;    // what was asked for them
  uint64_t peak_bytes_live = 0;
  uint64_t bo_creates = 0;         // kernel BO_CREATE / CREATE_BO
  uint64_t bo_destroys = 0;        // GEM_CLOSE of our buffers
  uint64_t imports = 0, exports = 0;
  uint64_t alloc_retries = 0;      // allocation failed, cache dropped, retried
  // import_host by the path it took (HostImportPath).
  uint64_t host_steals = 0, host_steal_keeps = 0, host_backed = 0, host_udmabuf = 0,
           host_copies = 0, host_backed_remaps = 0;
  uint64_t pressure_trims = 0;       // cache trims because the kernel ran short
  uint64_t pressure_trimmed_bytes = 0;
  uint32_t device_vm_user_queues = 0;        // user queues on the device VM now
  uint64_t user_queue_cache_trims = 0;       // caps applied for a first queue
  uint64_t user_queue_cache_trimmed_bytes = 0;
  uint64_t zero_fills = 0;         // reused buffers cleared for kAllocZeroed
  uint64_t cache_sync_ops = 0;     // CPU cache maintenance ranges sent to the kernel
                                   // (Bo::flush / invalidate on a non-coherent device)
  uint64_t va_maps = 0, va_unmaps = 0, va_async_unmaps = 0;
  uint64_t va_deferred = 0;        // VAs waiting for their unmap to signal
  uint64_t va_reclaimed = 0;       // deferred VAs returned to the allocator
  BoCacheStats cache;
  VaHeapStats va;  // the device VM's heap (empty where the kernel places BOs)
  VmStats vm;      // the device VM's binds
  std::vector<LabelUsage> labels;  // by label, in order of first use
};

class Device : public std::enable_shared_from_this<Device> {
 public:
  // Opens the device WSYS_DEVICE selects (auto | sim | sim:panthor |
  // sim:panfrost | /dev/dri/renderDNNN). On failure `why` says why.
  static Result<std::shared_ptr<Device>> open(const DeviceOptions& options = {},
                                              std::string* why = nullptr);
  // The same with an explicit WSYS_DEVICE-style spec.
  static Result<std::shared_ptr<Device>> open(std::string_view spec,
                                              const DeviceOptions& options = {},
                                              std::string* why = nullptr);
  // Takes a render-node fd the frontend opened (wsys closes it).
  static Result<std::shared_ptr<Device>> from_fd(int fd, const DeviceOptions& options = {});
  // Wraps a kmod device (in-tree only: kmod.h is not installed; tests use a
  // fake one).
  static Result<std::shared_ptr<Device>> create(std::unique_ptr<kmod::Device> kdev,
                                                const DeviceOptions& options = {});

  ~Device();
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  const DeviceInfo& info() const { return info_; }
  // The device's own VM, where every buffer gets its address.
  Vm& vm() const { return *vm_; }

  // A buffer of at least `size` bytes (its size() is the cache's size
  // class). Taken from the cache when possible; on -ENOMEM from the kernel
  // the cache is dropped and the allocation retried once. Errors: -EINVAL
  // (size 0, unknown flags, kAllocZeroed with kAllocNoMmap is fine: such a
  // buffer is never reused), the kernel's errno otherwise.
  // `label` names the buffer's use ("vk:memory", "scratch:tls", ...; see
  // docs/labels.md); empty gives kUnnamedLabel.
  Result<BoRef> bo_alloc(uint64_t size_bytes, uint32_t flags, std::string_view label = {});
  static constexpr const char* kUnnamedLabel = "unnamed";
  // Imports a dma-buf. The same buffer imported twice (or one this device
  // exported) is the same Bo.
  Result<BoRef> bo_import(int fd);

  // A buffer made of host memory [ptr, ptr + size): steal, backed,
  // udmabuf or copy, chosen from `mode`, the size (uploads below
  // DeviceOptions::host_steal_min_bytes are copied), the kind of memory
  // and what the kernel offers; *path says which (also in stats() and the
  // WSYS_DEBUG=bo log). Labels "host:steal", "host:backed", "host:udmabuf",
  // "host:copy". Errors: -EINVAL (null ptr, size 0; Shared with an
  // unaligned or private range), -EOPNOTSUPP (Shared where the kernel can
  // neither alias nor udmabuf), -EFAULT (a range not mapped), -ENOMEM
  // (Shared past RLIMIT_MEMLOCK), the kernel's errno otherwise.
  Result<BoRef> import_host(void* ptr, uint64_t size, HostMemoryMode mode,
                            HostImportPath* path = nullptr);
  // Shared imports: true once the application unmapped or remapped the
  // range (the buffer is invalid; jobs touching it fault). -EINVAL for a
  // buffer that is not a Shared import of this device.
  Result<bool> host_invalidated(Bo& bo);
  // Whether import_host(ptr, size, Shared) can succeed for this range as it
  // is mapped now (vkGetMemoryHostPointerPropertiesEXT).
  bool host_shareable(const void* ptr, uint64_t size) const;

  // The kernel model only: the CPU address through which `va` of the
  // device VM reads and writes exactly as the GPU would (unmapped pages
  // fault). Null on a real device, where the CPU mapping is the way in.
  // The one route of the model's GPU view (docs/architecture.md).
  void* gpu_view(uint64_t va) const;

  // --- syncobjs (the device's DRM file) ---
  // What a frontend uses to name the points its submissions signal
  // (Bo::mark_used, BindBatch waits and signals, ...).
  Result<uint32_t> syncobj_create(bool signalled = false);
  Result<void> syncobj_destroy(uint32_t syncobj);
  // Signals a binary syncobj (point 0) or a timeline point.
  Result<void> syncobj_signal(uint32_t syncobj, uint64_t point = 0);
  // Waits for one point (point 0: binary) until the absolute
  // CLOCK_MONOTONIC deadline (0 polls), including a point whose submission
  // has not reached the kernel yet. -ETIME while it is pending; the
  // kernel's errno for a syncobj or point it does not know.
  Result<void> syncobj_wait(SyncPoint p, int64_t abs_deadline_ns);
  // The last signalled point of a timeline syncobj.
  Result<uint64_t> syncobj_query(uint32_t syncobj);

  // The device's scratch (TLS/WLS) pool, shared by every context: created on
  // first use and kept while anyone holds it (the Device holds it weakly:
  // the pool's buffers hold the Device).
  Result<std::shared_ptr<ScratchPool>> scratch_pool();

  BoCache& cache() { return *cache_; }
  // Frees up to `bytes` of cached memory now (a low-memory signal).
  uint64_t trim(uint64_t bytes);
  // Decays the cache and reclaims signalled VAs now.
  void maintain();

  DeviceStats stats() const;

  // --- VA (the device VM) ---
  // Allocation alignment for a buffer of `size_bytes`: the largest block
  // the GPU MMU has that fits in it (2 MiB on Mali), so the MMU can use
  // it, else the GPU page.
  uint64_t va_alignment_bytes(uint64_t size_bytes) const;

 private:
  struct Impl;
  friend class Bo;
  friend class DeviceVa;
  friend class DeviceCacheBackend;
  friend class Vm;
  friend class Heap;
  friend class ScratchPool;
  friend struct KernelAccess;
  friend class UserQueue;
  explicit Device(std::unique_ptr<kmod::Device> kdev);
  kmod::Device& kmod() const { return *kdev_; }

  Result<void> init(const DeviceOptions& options);
  void release(Bo* bo);  // the last reference went
  void destroy_bo(Bo* bo);
  // Trims the cache when the kernel's headroom is below `need` + a reserve
  // (DeviceOptions::trim_cache_under_pressure).
  void relieve_pressure(uint64_t need);
  // A user queue was created on / destroyed from `vm`: the pinning
  // policy's cache cap (DeviceOptions::user_queue_cache_bytes).
  void user_queue_added(const Vm& vm);
  void user_queue_removed(const Vm& vm);

  std::unique_ptr<kmod::Device> kdev_;
  std::shared_ptr<Vm> vm_;
  DeviceInfo info_;
  std::unique_ptr<BoCache> cache_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace wsys
