// wsys::Bo: reference counting, CPU mapping, labels, export, busy tracking.
#include <sys/mman.h>

#include <algorithm>
#include <iterator>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <span>
#include <type_traits>

#include "winsys/core/debug_log.h"
#include "winsys/core/device_impl.h"
#include "winsys/core/sync_wait.h"

namespace wsys {

namespace core {
Bo* bo_from_hook(BoCacheHook* h) {
  // hook_ is the first member of a standard-layout Bo, so the two are
  // pointer-interconvertible.
  static_assert(std::is_standard_layout_v<Bo>, "Bo must stay standard-layout (bo_from_hook)");
  return reinterpret_cast<Bo*>(h);
}
}  // namespace core

Bo::Bo(Device* device, std::shared_ptr<kmod::Bo> kbo, uint64_t requested, uint32_t flags)
    : device_(device), kbo_(std::move(kbo)), requested_(requested), flags_(flags) {
  hook_.flags = flags & kAllocBufferFlags;
  hook_.size = kbo_->size();
}

Bo::~Bo() = default;

uint32_t Bo::handle() const { return kbo_->handle(); }

void Bo::unref() {
  if (refs_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  // The last reference: the Device decides (cache or destroy). Our hold on
  // the Device goes after that, so a Device whose last user this was is
  // destroyed only once the buffer is in its cache (which it then drains).
  std::shared_ptr<Device> keep = std::move(device_ref_);
  keep->release(this);
}

Result<void*> Bo::map() {
  if (void* p = cpu()) return p;
  if (flags_ & kAllocNoMmap) return Error(-EINVAL);
  Result<void*> m = device_->kmod().bo_mmap(*kbo_, PROT_READ | PROT_WRITE);
  if (!m.ok()) return Error(m.error());
  void* expected = nullptr;
  if (!cpu_.compare_exchange_strong(expected, *m, std::memory_order_acq_rel)) {
    // Another thread mapped it first: keep theirs.
    (void)device_->kmod().bo_munmap(*kbo_, *m);
    return expected;
  }
  WSYS_LOG(Bo, "map handle=%u size=%llu cpu=%p", handle(),
           static_cast<unsigned long long>(size()), *m);
  return *m;
}

namespace {
Result<void> sync_range(Device& dev, kmod::Device& k, kmod::Bo& kbo, uint32_t flags,
                        uint64_t size_bytes, uint64_t offset, uint64_t size, bool invalidate) {
  if (size == 0 || offset > size_bytes || size > size_bytes - offset) return Error(-EINVAL);
  // Only a write-back CPU mapping on a GPU that does not snoop needs it.
  if (!(flags & kAllocCpuCached) || dev.info().coherent) return {};
  kmod::BoSyncRange r;
  r.bo = &kbo;
  r.offset = offset;
  r.size = size;
  r.invalidate = invalidate;
  return k.bo_sync(std::span<const kmod::BoSyncRange>(&r, 1));
}
}  // namespace

Result<void> Bo::flush(uint64_t offset, uint64_t size) {
  return count_sync(
      sync_range(*device_, device_->kmod(), *kbo_, flags_, this->size(), offset, size, false));
}

Result<void> Bo::invalidate(uint64_t offset, uint64_t size) {
  return count_sync(
      sync_range(*device_, device_->kmod(), *kbo_, flags_, this->size(), offset, size, true));
}

Result<void> Bo::count_sync(Result<void> r) {
  // One range reached the kernel (a coherent device or an uncached buffer
  // returns before the ioctl and is not counted).
  if (r.ok() && (flags_ & kAllocCpuCached) && !device_->info().coherent)
    device_->impl_->cache_sync_ops.fetch_add(1, std::memory_order_relaxed);
  return r;
}

std::string Bo::label() const {
  std::lock_guard<std::mutex> g(lock_);
  return label_;
}

Result<void> Bo::set_label(std::string_view label) {
  std::string l(label);
  Result<void> r = device_->kmod().bo_set_label(*kbo_, l);
  // Kept in core even where the kernel has no labels (-EOPNOTSUPP): the
  // label still names the buffer's use in wsys's own reports.
  if (!r.ok() && r.error() != -EOPNOTSUPP) return r;
  std::lock_guard<std::mutex> g(lock_);
  label_ = std::move(l);
  label_slot_ = -1;
  return r;
}

Result<int> Bo::export_fd() {
  if (!(flags_ & kAllocShareable) && !imported_) return Error(-EINVAL);
  {
    // Entered in the share table first, so an import racing with the
    // export finds this Bo rather than making a second one.
    std::lock_guard<std::mutex> g(device_->impl_->share_lock);
    hook_.shared = true;
    device_->impl_->shared[handle()] = this;
  }
  Result<int> fd = device_->kmod().bo_export(*kbo_);
  if (fd.ok()) {
    device_->impl_->exports.fetch_add(1, std::memory_order_relaxed);
    WSYS_LOG(Bo, "export handle=%u fd=%d", handle(), *fd);
  }
  return fd;
}

void Bo::mark_used(uint32_t syncobj, uint64_t point) {
  std::lock_guard<std::mutex> g(lock_);
  uses_.add(SyncPoint{syncobj, point});
  has_uses_.store(!uses_.empty(), std::memory_order_release);
}

std::vector<SyncPoint> Bo::pending_points() const {
  std::lock_guard<std::mutex> g(lock_);
  std::vector<SyncPoint> out;
  out.reserve(uses_.size());
  for (const PendingUses::Use& u : uses_.entries()) out.push_back(SyncPoint{u.syncobj, u.point});
  return out;
}

Result<void> Bo::wait_uses(int64_t abs_deadline_ns) {
  // The common case, one use, without copying the list.
  // A use recorded by another thread races with this call either way;
  // one recorded before it (by this thread, or published by the reference
  // count or a lock) is seen through the acquire.
  if (!has_uses_.load(std::memory_order_acquire)) return {};
  PendingUses::Use one;
  std::vector<PendingUses::Use> many;
  {
    std::lock_guard<std::mutex> g(lock_);
    if (uses_.empty()) return {};
    if (uses_.size() == 1)
      one = uses_.entries()[0];
    else
      many = uses_.entries();
  }
  std::span<const PendingUses::Use> uses =
      many.empty() ? std::span<const PendingUses::Use>(&one, 1) : std::span(many);
  size_t signalled = 0;
  PendingUses::Use done[8];  // the first signalled ones, to forget (more are found next time)
  const kmod::PointWait w = core::wait_uses(
      device_->kmod(), uses, abs_deadline_ns,
      [&](const PendingUses::Use& u, const kmod::PointWait& uw) {
        if (uw.state == kmod::PointState::Unknown)  // a syncobj the frontend destroyed
          WSYS_LOG(Bo, "handle %u: use of syncobj %u unknown (%s), taken as done", handle(),
                   u.syncobj, strerror(-uw.error));
        if (signalled < std::size(done)) done[signalled++] = u;
      });
  if (signalled) {
    std::lock_guard<std::mutex> g(lock_);
    uses_.forget(std::span<const PendingUses::Use>(done, signalled));
    has_uses_.store(!uses_.empty(), std::memory_order_release);
  }
  if (w.state == kmod::PointState::Pending) return Error(kmod::kPendingErrno);
  return {};
}

bool Bo::busy() {
  // Only pending uses fail the poll (unknown syncobjs count as done).
  if (!wait_uses(core::kPollDeadline).ok()) return true;
  // Where the kernel tracks implicit fences (panfrost's job BO lists).
  if (!device_->kmod().props().has_bo_wait) return false;
  Result<void> k = device_->kmod().bo_wait(*kbo_, core::kPollDeadline);
  return !k.ok() && (k.error() == -EBUSY || k.error() == -ETIMEDOUT || k.error() == -ETIME);
}

Result<void> Bo::wait(int64_t abs_deadline_ns) {
  if (Result<void> w = wait_uses(abs_deadline_ns); !w.ok()) return w;
  if (!device_->kmod().props().has_bo_wait) return {};
  Result<void> k = device_->kmod().bo_wait(*kbo_, abs_deadline_ns);
  if (!k.ok() && k.error() != -EOPNOTSUPP)
    return k.error() == -EBUSY ? Error(kmod::kPendingErrno) : k;
  return {};
}

}  // namespace wsys
