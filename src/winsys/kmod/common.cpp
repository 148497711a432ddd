// Backend-independent parts of kmod: backend selection, property helpers,
// the handle table behind import deduplication, PRIME export, the Vm
// activity timeline bookkeeping and the DRM-core syncobj helpers both
// backends share.
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <bit>
#include <cerrno>
#include <cstdio>

#include "drm-uapi/drm_core.h"
#include "drm-uapi/wsys_sim_ext.h"
#include "winsys/kmod/backends.h"
#include "winsys/kmod/kmod.h"
#include "winsys/kmod/wait.h"

namespace wsys::kmod {

// --- DeviceProps ----------------------------------------------------------

uint32_t DeviceProps::core_id_range() const {
  return shader_present ? 64u - static_cast<uint32_t>(std::countl_zero(shader_present)) : 0u;
}

uint32_t DeviceProps::core_count() const {
  return static_cast<uint32_t>(std::popcount(shader_present));
}

uint64_t DeviceProps::gpu_page_bytes() const {
  return page_size_bitmap ? page_size_bitmap & (~page_size_bitmap + 1) : uint64_t{4096};
}

uint64_t DeviceProps::va_alignment_bytes(uint64_t size_bytes) const {
  // The largest page or block size that fits in the mapping.
  const uint64_t fits = page_size_bitmap & (std::bit_floor(size_bytes | 1) * 2 - 1);
  return fits ? std::bit_floor(fits) : gpu_page_bytes();
}

// --- DeviceCore: the handle table -----------------------------------------

namespace detail {

namespace {
// The one concrete Bo: backends differ in how they create and use BOs, not
// in what a Bo is.
class TableBo final : public Bo {
 public:
  TableBo(std::shared_ptr<DeviceCore> core, uint32_t handle, uint64_t size, uint32_t flags,
          bool imported, uint64_t kernel_va, bool exclusive, uint32_t exclusive_vm_id)
      : Bo(std::move(core), handle, size, flags, imported, kernel_va, exclusive,
           exclusive_vm_id) {}
};
}  // namespace

uint64_t cpu_page_size() {
  static const uint64_t page = [] {
    long p = sysconf(_SC_PAGESIZE);
    return p > 0 ? static_cast<uint64_t>(p) : uint64_t{4096};
  }();
  return page;
}

int DeviceCore::gem_close(uint32_t handle) {
  drm_gem_close c{};
  c.handle = handle;
  return file->ioctl(DRM_IOCTL_GEM_CLOSE, &c);
}

BoPtr DeviceCore::adopt_locked(uint32_t handle, uint64_t size, uint32_t flags, bool imported,
                               uint64_t kernel_va, bool exclusive, uint32_t exclusive_vm_id) {
  auto bo = std::make_shared<TableBo>(shared_from_this(), handle, size, flags, imported, kernel_va,
                                      exclusive, exclusive_vm_id);
  Entry& e = bos[handle];
  e.raw = bo.get();
  e.weak = bo;
  return bo;
}

void DeviceCore::release(Bo* bo) {
  std::lock_guard<std::mutex> g(bo_lock);
  auto it = bos.find(bo->handle());
  // Not ours any more: an import handed the handle to a newer Bo while this
  // one was dying, and that Bo closes it.
  if (it == bos.end() || it->second.raw != bo) return;
  bos.erase(it);
  // Nothing useful to do with a failure here: the handle is gone either way
  // once the file closes.
  (void)gem_close(bo->handle());
}

}  // namespace detail

// --- Bo -------------------------------------------------------------------

Bo::Bo(std::shared_ptr<detail::DeviceCore> core, uint32_t handle, uint64_t size, uint32_t flags,
       bool imported, uint64_t kernel_va, bool exclusive, uint32_t exclusive_vm_id)
    : core_(std::move(core)),
      handle_(handle),
      size_(size),
      flags_(flags),
      imported_(imported),
      kernel_va_(kernel_va),
      exclusive_(exclusive),
      exclusive_vm_id_(exclusive_vm_id) {}

Bo::~Bo() {
  if (core_) core_->release(this);
}

// --- Vm activity timeline -------------------------------------------------

uint64_t Vm::activity_point() {
  std::lock_guard<std::mutex> g(activity_lock_);
  return activity_point_;
}

Result<ActivityPoint> Vm::next_activity_point() {
  if (!activity_syncobj_) return Error(-EOPNOTSUPP);
  std::unique_lock<std::mutex> lock(activity_lock_);
  uint64_t next = activity_point_ + 1;
  return ActivityPoint(std::move(lock), this, activity_syncobj_, next);
}

void ActivityPoint::commit() {
  // Only meaningful while the lock is held (a moved-from or already
  // committed object does nothing).
  if (!lock_.owns_lock() || !vm_) return;
  if (point_ > vm_->activity_point_) vm_->activity_point_ = point_;
  vm_ = nullptr;
  lock_.unlock();
}

// --- Device ---------------------------------------------------------------

Device::Device(std::unique_ptr<drm::DrmFile> f)
    : core_(std::make_shared<detail::DeviceCore>(std::move(f))) {}

Device::~Device() = default;

drm::DrmFile& Device::file() { return *core_->file; }

uint64_t Device::memory_available() {
  const uint64_t reported = file().memory_available();
  if (reported != UINT64_MAX) return reported;
  // The system's figure, read at most every 20 ms (callers ask on every
  // buffer creation; the file costs a few microseconds to read).
  static std::atomic<int64_t> read_at{-1};
  static std::atomic<uint64_t> last{UINT64_MAX};
  const int64_t now = monotonic_coarse_ns();
  const int64_t at = read_at.load(std::memory_order_relaxed);
  if (at >= 0 && now - at < 20'000'000) return last.load(std::memory_order_relaxed);
  FILE* f = std::fopen("/proc/meminfo", "re");
  if (!f) return UINT64_MAX;
  char line[128];
  uint64_t kib = UINT64_MAX;
  while (std::fgets(line, sizeof line, f)) {
    unsigned long long v = 0;
    if (std::sscanf(line, "MemAvailable: %llu kB", &v) == 1) {
      kib = v;
      break;
    }
  }
  std::fclose(f);
  const uint64_t bytes = kib == UINT64_MAX ? UINT64_MAX : kib * 1024;
  last.store(bytes, std::memory_order_relaxed);
  read_at.store(now, std::memory_order_relaxed);
  return bytes;
}

bool Device::owns(const Bo& bo) const { return detail::DeviceCore::core_of(bo) == core_; }

Result<uint64_t> Device::get_cap(uint64_t cap) {
  drm_get_cap c{};
  c.capability = cap;
  if (int r = file().ioctl(DRM_IOCTL_GET_CAP, &c)) return Error(r);
  return static_cast<uint64_t>(c.value);
}

namespace {
// The backends, by DRM driver name. A new backend is one row here (and its
// directory); nothing above kmod changes.
struct Backend {
  const char* name;
  Result<std::unique_ptr<Device>> (*create)(std::unique_ptr<drm::DrmFile>);
};
constexpr Backend kBackends[] = {
    {"panthor", create_panthor_device},
    {"panfrost", create_panfrost_device},
};
}  // namespace

Result<std::unique_ptr<Device>> Device::create(std::unique_ptr<drm::DrmFile> file) {
  if (!file) return Error(-EINVAL);
  const std::string& name = file->version().name;
  for (const Backend& b : kBackends) {
    if (name != b.name) continue;
    auto dev = b.create(std::move(file));
    if (dev) (*dev)->probe_host_memory();  // the same on every driver
    return dev;
  }
  return Error(-ENODEV);
}

size_t Device::live_bo_count() const {
  std::lock_guard<std::mutex> g(core_->bo_lock);
  size_t n = 0;
  for (const auto& [handle, e] : core_->bos)
    if (!e.weak.expired()) n++;
  return n;
}

Result<BoPtr> Device::bo_import(int dmabuf_fd) {
  // A dma-buf's size is its file size (what Mesa asks too).
  auto dmabuf_size = [](int fd) -> Result<uint64_t> {
    off_t end = lseek(fd, 0, SEEK_END);
    if (end < 0) return Error(-errno);
    (void)lseek(fd, 0, SEEK_SET);
    return static_cast<uint64_t>(end);
  };

  detail::DeviceCore& c = *core_;
  std::lock_guard<std::mutex> g(c.bo_lock);
  auto handle = c.file->prime_fd_to_handle(dmabuf_fd);
  if (!handle) return Error(handle.error());

  bool dying_owner = false;
  if (auto it = c.bos.find(*handle); it != c.bos.end()) {
    if (BoPtr existing = it->second.weak.lock()) return existing;
    dying_owner = true;  // its Bo is being destroyed and will close it unless we take it
  }
  // On failure, close the handle only if nobody else owns it.
  auto fail = [&](int err) -> Result<BoPtr> {
    if (!dying_owner) (void)c.gem_close(*handle);
    return Error(err);
  };
  auto size = dmabuf_size(dmabuf_fd);
  if (!size) return fail(size.error());
  auto kva = imported_bo_kernel_va(*handle);
  if (!kva) return fail(kva.error());
  return c.adopt_locked(*handle, *size, 0, true, *kva, false, 0);
}

Result<int> Device::bo_export(Bo& bo) {
  if (!owns(bo)) return Error(-EINVAL);
  // panfrost has no exclusive BOs in the kernel; kmod keeps the promise
  // with the errno panthor's kernel gives.
  if (bo.exclusive() && !props_.has_vm_per_context) return Error(-EINVAL);
  return file().prime_handle_to_fd(bo.handle(), DRM_CLOEXEC | DRM_RDWR);
}

Result<void> Device::bo_munmap(Bo& bo, void* cpu) {
  if (!cpu) return Error(-EINVAL);
  return result_from_errno(file().munmap(cpu, bo.size()));
}

// --- submission passthrough: not this driver ------------------------------

Result<uint32_t> Device::group_create(const GroupCreateInfo&) { return Error(-EOPNOTSUPP); }
Result<void> Device::group_destroy(uint32_t) { return Error(-EOPNOTSUPP); }
Result<void> Device::group_submit(uint32_t, std::span<const QueueSubmit>) {
  return Error(-EOPNOTSUPP);
}
Result<GroupState> Device::group_get_state(uint32_t) { return Error(-EOPNOTSUPP); }
Result<TilerHeap> Device::tiler_heap_create(Vm&, const TilerHeapCreateInfo&) {
  return Error(-EOPNOTSUPP);
}
Result<void> Device::tiler_heap_destroy(uint32_t) { return Error(-EOPNOTSUPP); }
Result<void> Device::submit_job_chain(const JobChainSubmit&) { return Error(-EOPNOTSUPP); }
Result<uint32_t> Device::jm_ctx_create(JmCtxPriority) { return Error(-EOPNOTSUPP); }
Result<void> Device::jm_ctx_destroy(uint32_t) { return Error(-EOPNOTSUPP); }
Result<void> Device::bo_sync(std::span<const BoSyncRange>) { return Error(-EOPNOTSUPP); }
Result<BoInfo> Device::bo_query_info(Bo&) { return Error(-EOPNOTSUPP); }
Result<UserQueueHandle> Device::user_queue_create(const UserQueueCreateInfo&) {
  return Error(-EOPNOTSUPP);
}
Result<void> Device::user_queue_destroy(uint32_t) { return Error(-EOPNOTSUPP); }
Result<void> Device::user_queue_signal(uint32_t, uint64_t, uint32_t, uint64_t) {
  return Error(-EOPNOTSUPP);
}
Result<void> Device::user_queue_resume(uint32_t) { return Error(-EOPNOTSUPP); }
Result<UserQueueState> Device::user_queue_state(uint32_t) { return Error(-EOPNOTSUPP); }
Result<uint32_t> Device::user_queue_seqno_command(uint64_t, uint8_t*) {
  return Error(-EOPNOTSUPP);
}
Result<void> Device::user_queue_nop_command(uint32_t, uint8_t*) { return Error(-EOPNOTSUPP); }

Result<void*> Device::user_queue_map_doorbell(uint64_t offset) {
  if (!props_.has_user_queues) return Error(-EOPNOTSUPP);
  return file().mmap(nullptr, kUserQueueDoorbellBytes, PROT_READ | PROT_WRITE, MAP_SHARED,
                     offset);
}

Result<void> Device::user_queue_unmap_doorbell(void* cpu) {
  if (!cpu) return Error(-EINVAL);
  return result_from_errno(file().munmap(cpu, kUserQueueDoorbellBytes));
}

// --- syncobjs -------------------------------------------------------------

Result<uint32_t> Device::syncobj_create(bool signalled) {
  drm_syncobj_create c{};
  c.flags = signalled ? DRM_SYNCOBJ_CREATE_SIGNALED : 0;
  if (int r = file().ioctl(DRM_IOCTL_SYNCOBJ_CREATE, &c)) return Error(r);
  return c.handle;
}

Result<void> Device::syncobj_destroy(uint32_t handle) {
  drm_syncobj_destroy d{};
  d.handle = handle;
  return result_from_errno(file().ioctl(DRM_IOCTL_SYNCOBJ_DESTROY, &d));
}

Result<void> Device::syncobj_wait(std::span<const uint32_t> handles,
                                  std::span<const uint64_t> points, int64_t abs_deadline_ns,
                                  bool wait_all, bool wait_for_submit) {
  // Handles without points are binary waits; the kernel's own count == 0
  // check stays the kernel's (we pass it through).
  if (!points.empty() && points.size() != handles.size()) return Error(-EINVAL);
  uint32_t flags = (wait_all ? DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL : 0) |
                   (wait_for_submit ? DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT : 0);
  if (points.empty()) {
    drm_syncobj_wait w{};
    w.handles = reinterpret_cast<uintptr_t>(handles.data());
    w.count_handles = static_cast<uint32_t>(handles.size());
    w.timeout_nsec = abs_deadline_ns;
    w.flags = flags;
    return result_from_errno(file().ioctl(DRM_IOCTL_SYNCOBJ_WAIT, &w));
  }
  drm_syncobj_timeline_wait w{};
  w.handles = reinterpret_cast<uintptr_t>(handles.data());
  w.points = reinterpret_cast<uintptr_t>(points.data());
  w.count_handles = static_cast<uint32_t>(handles.size());
  w.timeout_nsec = abs_deadline_ns;
  w.flags = flags;
  return result_from_errno(file().ioctl(DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT, &w));
}

Result<void> Device::syncobj_signal(uint32_t handle, uint64_t point) {
  if (point == 0) {
    drm_syncobj_array a{};
    a.handles = reinterpret_cast<uintptr_t>(&handle);
    a.count_handles = 1;
    return result_from_errno(file().ioctl(DRM_IOCTL_SYNCOBJ_SIGNAL, &a));
  }
  drm_syncobj_timeline_array a{};
  a.handles = reinterpret_cast<uintptr_t>(&handle);
  a.points = reinterpret_cast<uintptr_t>(&point);
  a.count_handles = 1;
  return result_from_errno(file().ioctl(DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL, &a));
}

Result<uint64_t> Device::syncobj_query(uint32_t handle) {
  uint64_t point = 0;
  drm_syncobj_timeline_array a{};
  a.handles = reinterpret_cast<uintptr_t>(&handle);
  a.points = reinterpret_cast<uintptr_t>(&point);
  a.count_handles = 1;
  if (int r = file().ioctl(DRM_IOCTL_SYNCOBJ_QUERY, &a)) return Error(r);
  return point;
}

Result<int> Device::syncobj_export_sync_file(uint32_t handle) {
  drm_syncobj_handle a{};
  a.handle = handle;
  a.flags = DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE;
  a.fd = -1;
  if (int r = file().ioctl(DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD, &a)) return Error(r);
  return a.fd;
}

bool probe_ext_feature(drm::DrmFile& file, uint32_t feature) {
  drm_wsys_sim_ext_query q{};
  if (file.ioctl(DRM_IOCTL_WSYS_SIM_EXT_QUERY, &q) != 0) return false;
  return q.version >= 1 && (q.features & feature) == feature;
}

}  // namespace wsys::kmod
