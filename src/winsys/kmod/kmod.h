// kmod: one kernel-driver interface, one backend per DRM driver.
//
// The object model is what a Mesa developer knows from pan_kmod: a Device
// (properties, BO and VM factory, syncobj helpers, submission passthrough),
// Bos and Vms. Backends (panthor/, panfrost/) implement it with uapi structs
// over a DrmFile and are chosen by the DRM driver name; features are gated
// on the driver version. What a kernel cannot do is reported as -EOPNOTSUPP,
// never faked. The layer above (core) never sees a uapi struct.
//
// Errors: Result<T> / negative errno exactly as the kernel returned it. Where
// kmod itself refuses a request before any ioctl (a contradiction in the
// arguments, or something one driver cannot express) the errno is documented
// on the call and in README.md.
//
// Lifetimes: Bos and Vms keep the open file alive (they share it with the
// Device), so they may outlive the Device object; the file is closed when
// the last of them goes. A Bo's GEM handle is closed when its last reference
// goes; a Vm is destroyed in the kernel when its last reference goes.
//
// Thread safety: every call may be made from any thread. The Device
// serialises what must be serialised (the handle table behind import
// deduplication, a Vm's activity timeline).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>

#include "winsys/drm/drm_file.h"
#include "wsys/result.hpp"

namespace wsys::kmod {

namespace detail {
struct DeviceCore;  // the shared open file and handle table (backends.h)
}

// Which backend drives the file. For kmod's own tests and tools that print
// it; the layers above read the capabilities below instead, never this.
enum class Driver { Panthor, Panfrost };

// How the kernel grows memory for the tiler.
enum class GrowableHeap : uint8_t {
  None,           // no growable memory (panfrost before 1.1)
  TilerHeap,      // a chunked kernel tiler heap (TILER_HEAP_CREATE; panthor)
  GrowOnFaultBo,  // a BO whose pages are committed on GPU fault (panfrost HEAP)
};

// Device properties, from DEV_QUERY (panthor) or GET_PARAM (panfrost).
// Fields a driver does not report stay 0 (noted per field).
struct DeviceProps {
  Driver driver = Driver::Panthor;
  drm::DriverVersion version;

  // --- What this kernel can do -------------------------------------------
  // kmod owns every driver and version gate: these fields are the answer,
  // and the layers above read only them (NVK's nvkmd_info.has_* style).
  bool has_madvise = false;           // purgeable BOs (panfrost MADVISE)
  bool has_bo_wait = false;           // wait for a BO's implicit fences (panfrost WAIT_BO)
  bool has_vm_per_context = false;    // several VMs per file (panthor VM_CREATE)
  bool has_async_bind = false;        // VM_BIND on the kernel's bind queue (panthor)
  bool has_deferred_bind = false;     // binds behind a VM's activity timeline (panthor)
  bool has_timeline_syncobj = false;  // DRM_CAP_SYNCOBJ_TIMELINE
  GrowableHeap growable_heap = GrowableHeap::None;
  bool has_sparse_map = false;         // VM_BIND MAP_SPARSE (panthor 1.9)
  bool has_bo_labels = false;          // BO labels (both drivers 1.4)
  bool has_cache_maintenance = false;  // bo_sync: panthor BO_SYNC 1.7, panfrost SYNC_BO 1.6
  bool has_wb_mmap = false;            // kBoCpuCached: panthor 1.7, panfrost 1.6
  bool has_bo_query_info = false;      // bo_query_info: panthor 1.7, panfrost 1.6
  bool has_jm_contexts = false;        // jm_ctx_create, submits on a context (panfrost 1.5)
  // User queues with doorbells and eviction fences: a MODEL EXTENSION
  // (drm-uapi/wsys_sim_ext.h), in no released kernel; probed, never
  // assumed from a version (the model offers it on panthor >= 1.5).
  bool has_user_queues = false;
  // Host memory import (steal / backed): a MODEL EXTENSION
  // (drm-uapi/wsys_sim_ext.h HOST_IMPORT), in no released kernel; probed
  // with EXT_QUERY on both drivers.
  bool has_host_import = false;
  // /dev/udmabuf exists and opens: memfd pages can become a dma-buf the
  // GPU imports (PRIME), the real kernels' route to backed host memory.
  bool has_udmabuf = false;
  // Shared buffers with deferred backing (issue 19): a MODEL EXTENSION
  // (drm-uapi/wsys_sim_alloc.h), probed with EXT_QUERY on both drivers:
  // the model's central allocator exists (kmod/shared_alloc.h) and PRIME
  // import of its buffers attaches with this GPU's DMA constraints.
  bool has_deferred_alloc = false;
  // The coherency protocol the kernel chose (panthor gpu_info 1.7, panfrost
  // PARAM_SELECTED_COHERENCY 1.6): 0 ACE-Lite, 1 ACE, 31 none;
  // kCoherencyUnknown on older kernels.
  static constexpr uint32_t kCoherencyUnknown = ~0u;
  static constexpr uint32_t kCoherencyNone = 31;
  uint32_t selected_coherency = kCoherencyUnknown;
  bool has_gpu_timestamp = false;      // panthor 1.1 TIMESTAMP_INFO, panfrost 1.3
  // Bit n set: the GPU MMU maps pages of 1 << n bytes (4 KiB | 2 MiB ...).
  // The smallest is the GPU page; larger ones are blocks a mapping can use
  // when its address and size are aligned to them.
  uint64_t page_size_bitmap = 0;

  // GPU_ID register layout: product id in bits 31:16 (arch major 31:28),
  // version/revision in 15:0. panfrost: GPU_PROD_ID << 16 | GPU_REVISION.
  uint32_t gpu_id = 0;
  uint32_t gpu_rev = 0;  // panthor GPU_REV; panfrost GPU_REVISION
  uint32_t csf_id = 0;   // panthor only
  uint32_t l2_features = 0;
  uint32_t tiler_features = 0;
  uint32_t mem_features = 0;
  uint32_t mmu_features = 0;
  uint32_t thread_features = 0;
  uint32_t core_features = 0;
  uint32_t coherency_features = 0;
  uint32_t texture_features[4] = {};
  uint32_t as_present = 0;
  uint64_t shader_present = 0;
  uint64_t tiler_present = 0;
  uint64_t l2_present = 0;
  uint32_t max_threads = 0;
  uint32_t thread_max_workgroup_size = 0;
  uint32_t thread_max_barrier_size = 0;
  uint32_t thread_tls_alloc = 0;  // 0: use max_threads (always 0 on panthor)
  uint32_t va_bits = 0;

  // Where GPU VAs of user BOs live: [user_va_start, user_va_end).
  // panthor: userspace-managed; this is the largest user range a VM may ask
  //   for ((1 << va_bits) - 256 MiB, the kernel keeps the top); each Vm
  //   reports the range the kernel actually gave it.
  // panfrost: the kernel places BOs itself, always in [32 MiB, 4 GiB).
  uint64_t user_va_start = 0;
  uint64_t user_va_end = 0;
  bool kernel_managed_va = false;  // panfrost

  uint64_t timestamp_frequency = 0;  // Hz; 0 when the kernel cannot say

  // CSF (panthor) only.
  uint32_t csg_slot_count = 0;
  uint32_t cs_slot_count = 0;
  uint32_t cs_reg_count = 0;
  uint32_t scoreboard_slot_count = 0;
  uint32_t unpreserved_cs_reg_count = 0;
  // Bit p: this file may create groups of GroupPriority p (the kernel's
  // answer from 1.2; before that LOW | MEDIUM, which any file may use).
  uint8_t allowed_group_priorities = 0;

  // JM (panfrost) only.
  uint32_t js_present = 0;
  uint64_t stack_present = 0;
  uint32_t nr_core_groups = 0;
  uint32_t afbc_features = 0;  // 1.2

  // BoFlags this device can honour (others are -EOPNOTSUPP at bo_create).
  uint32_t supported_bo_flags = 0;

  uint32_t arch_major() const { return gpu_id >> 28; }
  uint32_t product_id() const { return gpu_id >> 16; }
  // Highest present core id + 1 (TLS/WLS sizing uses this, not the count:
  // shader_present may have holes).
  uint32_t core_id_range() const;
  uint32_t core_count() const;
  // The smallest GPU page (4 KiB when the bitmap is empty).
  uint64_t gpu_page_bytes() const;
  // The alignment that lets a mapping of `size_bytes` use the largest
  // block the MMU has that fits in it (the smallest page for small ones).
  uint64_t va_alignment_bytes(uint64_t size_bytes) const;
};

// BO creation flags (the driver-neutral set).
enum BoFlags : uint32_t {
  kBoExecutable = 1u << 0,    // may hold shader code (panfrost: no NOEXEC)
  kBoNoMmap = 1u << 1,        // never CPU-mapped
  kBoAllocOnFault = 1u << 2,  // growable: pages committed on GPU fault (panfrost HEAP)
  kBoGpuUncached = 1u << 3,   // GPU-uncached mappings (panthor: MAP_UNCACHED on every map)
  // Write-back cached CPU mappings (WB_MMAP; props.has_wb_mmap, else
  // -EOPNOTSUPP); flush/invalidate with Device::bo_sync.
  kBoCpuCached = 1u << 4,
};
inline constexpr uint32_t kBoAllFlags =
    kBoExecutable | kBoNoMmap | kBoAllocOnFault | kBoGpuUncached | kBoCpuCached;

class Bo;

// One CPU cache maintenance range (Device::bo_sync).
struct BoSyncRange {
  Bo* bo = nullptr;
  uint64_t offset = 0;
  uint64_t size = 0;
  bool invalidate = false;  // flush and invalidate (before the CPU reads GPU writes)
};

// What the kernel says about a BO (Device::bo_query_info).
struct BoInfo {
  bool imported = false;        // from another device (the kernel's IS_IMPORTED)
  uint32_t flags = 0;           // BoFlags the kernel records: kBoNoMmap (panthor),
                                // kBoCpuCached, kBoAllocOnFault and kBoExecutable (panfrost)
};

// Sync operation attached to a bind or a submission. point 0 means a binary
// syncobj (its current fence); any other value a timeline point.
struct SyncOp {
  enum class Kind { Wait, Signal };
  Kind kind = Kind::Wait;
  uint32_t syncobj = 0;
  uint64_t point = 0;

  static SyncOp wait(uint32_t syncobj, uint64_t point = 0) { return {Kind::Wait, syncobj, point}; }
  static SyncOp signal(uint32_t syncobj, uint64_t point = 0) {
    return {Kind::Signal, syncobj, point};
  }
};

class Vm;

class Bo {
 public:
  Bo(const Bo&) = delete;
  Bo& operator=(const Bo&) = delete;
  virtual ~Bo();  // closes the GEM handle (unless a newer Bo took it over)

  uint32_t handle() const { return handle_; }
  uint64_t size() const { return size_; }  // as the kernel rounded it
  uint32_t flags() const { return flags_; }  // BoFlags (0 for imports)
  bool imported() const { return imported_; }
  // panfrost: the kernel-assigned GPU VA (0 on panthor).
  uint64_t kernel_va() const { return kernel_va_; }
  // Created private to a Vm (bo_create's exclusive_vm): bindable only
  // there, never exportable.
  bool exclusive() const { return exclusive_; }
  // panthor: the id of that Vm (0 otherwise).
  uint32_t exclusive_vm_id() const { return exclusive_vm_id_; }

 protected:
  Bo(std::shared_ptr<detail::DeviceCore> core, uint32_t handle, uint64_t size, uint32_t flags,
     bool imported, uint64_t kernel_va, bool exclusive, uint32_t exclusive_vm_id);

 private:
  friend struct detail::DeviceCore;
  std::shared_ptr<detail::DeviceCore> core_;
  uint32_t handle_;
  uint64_t size_;
  uint32_t flags_;
  bool imported_;
  uint64_t kernel_va_;
  bool exclusive_;
  uint32_t exclusive_vm_id_;
};
using BoPtr = std::shared_ptr<Bo>;

inline constexpr uint64_t kKernelChosenVa = ~uint64_t{0};

struct BindOp {
  enum class Type { Map, Unmap, SyncOnly };
  Type type = Type::Map;
  Bo* bo = nullptr;  // Map only (must belong to the Vm's Device, else -EINVAL)
  // panfrost places BOs itself: a Map there must cover the whole BO at
  // bo->kernel_va() (or va == kKernelChosenVa), else -EINVAL.
  uint64_t bo_offset = 0;
  uint64_t va = 0;
  uint64_t size = 0;
  bool read_only = false;
  bool no_exec = false;
  bool gpu_uncached = false;
  // Map only, bo null, bo_offset 0: map [va, va + size) over the kernel's
  // dummy page (reads undefined, writes dropped), never executable
  // (props.has_sparse_map, panthor 1.9; else -EOPNOTSUPP).
  bool sparse = false;
  std::span<const SyncOp> syncs;  // Async mode only (else -EINVAL before any ioctl)
};

enum class BindMode {
  Immediate,        // synchronous; returns once the page tables are updated
  Async,            // queued on the VM's bind queue; ordered by the ops' syncs
  DeferToNextIdle,  // queued behind the VM's activity timeline (no user syncs)
};

// A reserved point on a Vm's activity timeline, for a submission that uses
// the Vm (Mesa's vm sync lock/unlock). While it lives it holds the Vm's
// activity lock: DeferToNextIdle binds wait for it. Attach a SIGNAL of
// (syncobj(), point()) to the submission and call commit() once the kernel
// accepted it; without commit() the timeline does not advance. Do not bind
// DeferToNextIdle on the same Vm from the thread holding it (self-deadlock).
class ActivityPoint {
 public:
  ActivityPoint(ActivityPoint&&) noexcept = default;
  ActivityPoint& operator=(ActivityPoint&&) noexcept = default;
  ~ActivityPoint() = default;

  uint32_t syncobj() const { return syncobj_; }
  uint64_t point() const { return point_; }
  void commit();

 private:
  friend class Vm;
  ActivityPoint(std::unique_lock<std::mutex> lock, Vm* vm, uint32_t syncobj, uint64_t point)
      : lock_(std::move(lock)), vm_(vm), syncobj_(syncobj), point_(point) {}
  std::unique_lock<std::mutex> lock_;
  Vm* vm_;
  uint32_t syncobj_;
  uint64_t point_;
};

class Vm {
 public:
  Vm(const Vm&) = delete;
  Vm& operator=(const Vm&) = delete;
  virtual ~Vm() = default;

  uint32_t id() const { return id_; }
  uint64_t user_va_start() const { return va_start_; }
  uint64_t user_va_end() const { return va_end_; }

  // Binds ops in order. `*failed_index` (if given) is the index of the first
  // op not done: ops.size() on success; on an Immediate failure the op the
  // kernel stopped at (0 when it refused the call as a whole); on an
  // Async/DeferToNextIdle failure 0 (all or nothing). An empty span is a
  // no-op.
  virtual Result<void> bind(BindMode mode, std::span<const BindOp> ops,
                            size_t* failed_index = nullptr) = 0;
  // True while the kernel considers the VM usable (an async bind failure
  // makes it unusable; only destroying it helps).
  virtual Result<bool> usable() = 0;

  // The VM's activity timeline (a timeline syncobj; 0 where the driver has
  // none, i.e. panfrost): work using the VM signals points on it;
  // DeferToNextIdle binds wait for the last point and signal the next.
  uint32_t activity_syncobj() const { return activity_syncobj_; }
  // The last point committed (0: nothing yet).
  uint64_t activity_point();
  // Reserves the next point for a submission (see ActivityPoint);
  // -EOPNOTSUPP without an activity timeline.
  Result<ActivityPoint> next_activity_point();

 protected:
  Vm(uint32_t id, uint64_t start, uint64_t end) : id_(id), va_start_(start), va_end_(end) {}
  uint32_t id_;
  uint64_t va_start_, va_end_;
  // Guarded by activity_lock_.
  std::mutex activity_lock_;
  uint64_t activity_point_ = 0;
  uint32_t activity_syncobj_ = 0;
  friend class ActivityPoint;
};
using VmPtr = std::shared_ptr<Vm>;

// --- CSF (panthor) submission passthrough --------------------------------
enum class GroupPriority : uint8_t { Low = 0, Medium = 1, High = 2, Realtime = 3 };

struct QueueCreateInfo {
  uint8_t priority = 0;                     // 0..15 within the group
  uint32_t ringbuf_size_bytes = 64 * 1024;  // power of two in [4 KiB, 64 KiB]
};

struct GroupCreateInfo {
  std::span<const QueueCreateInfo> queues;
  Vm* vm = nullptr;
  GroupPriority priority = GroupPriority::Medium;
  uint8_t max_compute_cores = 0;
  uint8_t max_fragment_cores = 0;
  uint8_t max_tiler_cores = 0;
  uint64_t compute_core_mask = 0;
  uint64_t fragment_core_mask = 0;
  uint64_t tiler_core_mask = 0;
};

struct QueueSubmit {
  uint32_t queue_index = 0;
  uint64_t stream_addr = 0;  // GPU VA, 64-byte aligned (0 with size 0: a sync point)
  uint32_t stream_size_bytes = 0;
  uint32_t latest_flush = 0;
  std::span<const SyncOp> syncs;
};

struct GroupState {
  bool timed_out = false;
  bool fatal_fault = false;
  bool innocent = false;  // 1.3
  uint32_t fatal_queues = 0;
};

struct TilerHeapCreateInfo {
  uint32_t initial_chunk_count = 5;
  uint32_t chunk_size_bytes = 2 * 1024 * 1024;
  uint32_t max_chunks = 64;
  uint32_t target_in_flight = 65535;
};

struct TilerHeap {
  uint32_t handle = 0;
  uint64_t context_va = 0;
  uint64_t first_chunk_va = 0;
};

// --- JM (panfrost) submission passthrough --------------------------------
struct JobChainSubmit {
  uint64_t jc = 0;                       // GPU VA of the first job descriptor
  std::span<const uint32_t> in_syncs;    // binary syncobjs to wait on
  uint32_t out_sync = 0;                 // binary syncobj receiving the job's fence (0: none)
  std::span<Bo* const> bos;              // BOs the job uses (implicit sync)
  bool fragment = false;                 // JD_REQ_FS
  bool cycle_count = false;              // JD_REQ_CYCLE_COUNT (1.3)
  uint32_t jm_ctx = 0;                   // a jm_ctx_create context; 0: the file's default (1.5)
};

enum class JmCtxPriority : uint8_t { Low = 0, Medium = 1, High = 2 };

// --- User queues (props.has_user_queues; a model extension) --------------
// The ring, read/write pointers and seqno are GPU VAs in the group's Vm
// (u64 byte counters; ring index = ptr & (size - 1)); commands never
// straddle the ring's end (pad with a NOP).
struct UserQueueCreateInfo {
  uint32_t group = 0;        // a group_create handle; the queue runs on its Vm
  uint64_t ring_va = 0;      // 64-byte aligned
  uint32_t ring_size_bytes = 0;  // power of two, 4 KiB .. 1 MiB
  uint64_t rptr_va = 0, wptr_va = 0, seqno_va = 0;  // u64 each, 8-byte aligned
};
struct UserQueueHandle {
  uint32_t handle = 0;
  uint64_t doorbell_offset = 0;  // mmap offset of its doorbell page (map_doorbell)
};
struct UserQueueState {
  bool suspended = false;  // preempted for reclaim
  bool evicting = false;   // new submission fences refused (-EAGAIN)
  bool timed_out = false;  // killed by the timeout
  bool faulted = false;    // killed by a fault
  uint64_t completed_seqno = 0;
  uint64_t rptr = 0;
  uint64_t suspensions = 0;
};
// Host memory import (props.has_host_import, a model extension).
enum class HostImportMode : uint32_t {
  StealLose = 1,  // pages move into the BO; the range reads zero after
  StealKeep = 2,  // as StealLose, the range keeps a copy of the old contents
  Backed = 3,     // a shared mapping's pages are aliased for the BO's life
};
struct HostBoState {
  uint32_t mode = 0;         // HostImportMode, 0 for any other BO
  bool invalidated = false;  // the backed range was unmapped or remapped
  uint64_t pinned_bytes = 0;  // the process's RLIMIT_MEMLOCK charge
};

inline constexpr uint32_t kUserQueueDoorbellBytes = 4096;
inline constexpr uint32_t kUserQueueCommandAlign = 8;

class Device {
 public:
  // Picks the backend by the file's driver name (the backend table in
  // common.cpp); -ENODEV for another driver, -EINVAL for a null file.
  static Result<std::unique_ptr<Device>> create(std::unique_ptr<drm::DrmFile> file);
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;
  virtual ~Device();

  const DeviceProps& props() const { return props_; }
  drm::DrmFile& file();

  // --- BOs ---
  // exclusive_vm: the BO can only be bound there and cannot be exported
  // (panthor: the kernel's exclusive VM; panfrost: one address space per
  // file anyway, kmod refuses the export). Null for a shareable BO.
  virtual Result<BoPtr> bo_create(uint64_t size_bytes, uint32_t flags,
                                  Vm* exclusive_vm = nullptr) = 0;
  // Imports a dma-buf; importing the same buffer again (or a buffer this
  // file exported) returns the same Bo object.
  Result<BoPtr> bo_import(int dmabuf_fd);
  Result<int> bo_export(Bo& bo);  // O_CLOEXEC | O_RDWR fd; the kernel's errno
  // Maps the whole BO (MAP_SHARED, `prot`); undo with bo_munmap.
  virtual Result<void*> bo_mmap(Bo& bo, int prot) = 0;
  Result<void> bo_munmap(Bo& bo, void* cpu);
  // -EOPNOTSUPP before driver 1.4 (both drivers).
  virtual Result<void> bo_set_label(Bo& bo, const std::string& label) = 0;
  // madvise: make evictable (DONTNEED) / unevictable (WILLNEED). Returns
  // whether the pages were retained (false: purged, contents lost).
  // -EOPNOTSUPP on panthor (no madvise uAPI).
  virtual Result<bool> bo_make_evictable(Bo& bo) = 0;
  virtual Result<bool> bo_make_unevictable(Bo& bo) = 0;

  // Bytes that can still be allocated before the kernel has to reclaim
  // memory: what the device reports (the kernel model: its budget's
  // headroom, a model extension), else the system's MemAvailable (Mali
  // shares the system's memory; the kernel's shrinkers run when it runs
  // low). UINT64_MAX when neither is known.
  uint64_t memory_available();
  // Waits until the GPU is done with the BO (panfrost WAIT_BO; absolute
  // CLOCK_MONOTONIC deadline, 0 polls). -EOPNOTSUPP on panthor.
  virtual Result<void> bo_wait(Bo& bo, int64_t abs_deadline_ns) = 0;
  // CPU cache maintenance of ranges of this device's BOs, in order
  // (-EOPNOTSUPP without props.has_cache_maintenance).
  virtual Result<void> bo_sync(std::span<const BoSyncRange> ranges);
  // -EOPNOTSUPP without props.has_bo_query_info.
  virtual Result<BoInfo> bo_query_info(Bo& bo);
  // Bo objects of this file alive right now (stats and tests).
  size_t live_bo_count() const;

  // --- VMs ---
  // user_va_range 0: the kernel's default. panthor: the Vm's range is what
  // VM_CREATE returned, which can be larger than asked for. panfrost: one VM per file at a
  // time (-EBUSY for a second one), its range fixed at [32 MiB, 4 GiB)
  // (a user_va_range other than 0 or 4 GiB is -EOPNOTSUPP).
  virtual Result<VmPtr> vm_create(uint64_t user_va_range = 0) = 0;

  // --- syncobjs (DRM core) ---
  // Virtual only so that tests of the layers above can fake the kernel;
  // both backends use the DRM-core implementation.
  virtual Result<uint32_t> syncobj_create(bool signalled);
  virtual Result<void> syncobj_destroy(uint32_t handle);
  // Waits for all (or any) points; absolute CLOCK_MONOTONIC deadline.
  virtual Result<void> syncobj_wait(std::span<const uint32_t> handles,
                                    std::span<const uint64_t> points, int64_t abs_deadline_ns,
                                    bool wait_all = true, bool wait_for_submit = false);
  virtual Result<void> syncobj_signal(uint32_t handle, uint64_t point = 0);
  virtual Result<uint64_t> syncobj_query(uint32_t handle);
  // The binary syncobj's current fence as a new sync_file fd (O_CLOEXEC;
  // HANDLE_TO_FD with EXPORT_SYNC_FILE; -EINVAL while it has no fence).
  virtual Result<int> syncobj_export_sync_file(uint32_t handle);

  // --- queries ---
  // The GPU's timestamp counter now (panthor TIMESTAMP_INFO 1.1, panfrost
  // SYSTEM_TIMESTAMP 1.3; -EOPNOTSUPP before).
  virtual Result<uint64_t> gpu_timestamp() = 0;

  // --- submission passthrough (-EOPNOTSUPP on the other driver) ---
  virtual Result<uint32_t> group_create(const GroupCreateInfo& info);
  virtual Result<void> group_destroy(uint32_t group);
  virtual Result<void> group_submit(uint32_t group, std::span<const QueueSubmit> submits);
  virtual Result<GroupState> group_get_state(uint32_t group);
  virtual Result<TilerHeap> tiler_heap_create(Vm& vm, const TilerHeapCreateInfo& info);
  virtual Result<void> tiler_heap_destroy(uint32_t handle);
  virtual Result<void> submit_job_chain(const JobChainSubmit& submit);
  // JM contexts (panfrost 1.5, props.has_jm_contexts; else -EOPNOTSUPP).
  virtual Result<uint32_t> jm_ctx_create(JmCtxPriority priority);
  virtual Result<void> jm_ctx_destroy(uint32_t ctx);

  // --- host memory (host_import.cpp) ---
  // A BO made of [ptr, ptr + size) (page-aligned): -EOPNOTSUPP without
  // props.has_host_import, else the model's errno (wsys_sim_ext.h).
  Result<BoPtr> bo_import_host(void* ptr, uint64_t size, HostImportMode mode);
  Result<HostBoState> host_bo_state(Bo& bo);
  // udmabuf: [offset, offset + size) of a sealed memfd (F_SEAL_SHRINK) as
  // a dma-buf, imported (PRIME). -EOPNOTSUPP without props.has_udmabuf.
  Result<BoPtr> bo_import_memfd(int memfd, uint64_t offset, uint64_t size);

  // --- user queues (props.has_user_queues; -EOPNOTSUPP elsewhere) ---
  virtual Result<UserQueueHandle> user_queue_create(const UserQueueCreateInfo& info);
  virtual Result<void> user_queue_destroy(uint32_t queue);
  // Puts a fence for "the queue's work up to seqno" in `syncobj` (point 0:
  // binary). -EINVAL for work not pushed yet (never a future fence),
  // -EAGAIN while the queue is being evicted.
  virtual Result<void> user_queue_signal(uint32_t queue, uint64_t seqno, uint32_t syncobj,
                                         uint64_t point);
  virtual Result<void> user_queue_resume(uint32_t queue);
  virtual Result<UserQueueState> user_queue_state(uint32_t queue);
  // Maps / unmaps a doorbell page (kUserQueueDoorbellBytes, read/write).
  Result<void*> user_queue_map_doorbell(uint64_t doorbell_offset);
  Result<void> user_queue_unmap_doorbell(void* cpu);
  // Encodes the command that ends a submission (the seqno the queue writes
  // when it gets there) into out[0, 16); returns its size.
  virtual Result<uint32_t> user_queue_seqno_command(uint64_t seqno, uint8_t* out);
  // Encodes a NOP of `bytes` (a multiple of 8, >= 8) at out.
  virtual Result<void> user_queue_nop_command(uint32_t bytes, uint8_t* out);

 protected:
  explicit Device(std::unique_ptr<drm::DrmFile> f);
  // The GPU VA of a BO just imported (panfrost GET_BO_OFFSET; 0 elsewhere).
  virtual Result<uint64_t> imported_bo_kernel_va(uint32_t handle) = 0;
  // True if `bo` belongs to this Device's file.
  bool owns(const Bo& bo) const;
  // Sets has_host_import / has_udmabuf (after the backend's own probes).
  void probe_host_memory();
  // DRM_IOCTL_GET_CAP; the kernel's errno for a capability it does not know.
  Result<uint64_t> get_cap(uint64_t cap);

  std::shared_ptr<detail::DeviceCore> core_;
  DeviceProps props_;
};

}  // namespace wsys::kmod
