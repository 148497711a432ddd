// wsys::Bo: reference counting, CPU mapping, labels, export, busy tracking.
#include <sys/mman.h>

#include <algorithm>
#include <iterator>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <type_traits>

#include "winsys/core/debug_log.h"
#include "winsys/core/device_impl.h"

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

std::string Bo::label() const {
  std::lock_guard<std::mutex> g(lock_);
  return label_;
}

Result<void> Bo::set_label(std::string_view label) {
  std::string l(label);
  Result<void> r = device_->kmod().bo_set_label(*kbo_, l);
  if (!r.ok()) return r;
  std::lock_guard<std::mutex> g(lock_);
  label_ = std::move(l);
  return {};
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
  if (syncobj == 0) return;
  std::lock_guard<std::mutex> g(lock_);
  for (Use& u : uses_) {
    if (u.syncobj != syncobj) continue;
    // A timeline's later point implies the earlier ones; a binary
    // syncobj's new submission replaced its fence.
    u.point = point == 0 ? 0 : std::max(u.point, point);
    return;
  }
  uses_.push_back(Use{syncobj, point});
}

std::vector<Bo::Use> Bo::pending_uses() const {
  std::lock_guard<std::mutex> g(lock_);
  return uses_;
}

Result<void> Bo::wait_last_use(int64_t abs_deadline_ns, bool forget_if_idle) {
  // The common case, one use, without copying the list.
  Use one;
  std::vector<Use> many;
  {
    std::lock_guard<std::mutex> g(lock_);
    if (uses_.empty()) return {};
    if (uses_.size() == 1)
      one = uses_[0];
    else
      many = uses_;
  }
  const Use* first = many.empty() ? &one : many.data();
  const size_t count = many.empty() ? 1 : many.size();
  Result<void> result;
  size_t signalled = 0;
  Use done[8];  // the first signalled ones, to forget (more are found next time)
  for (size_t i = 0; i < count; i++) {
    const Use& u = first[i];
    // WAIT_FOR_SUBMIT: a point whose submission has not reached the kernel
    // yet is pending, not an error. A deadline of 0 polls.
    Result<void> w = device_->kmod().syncobj_wait(
        std::span<const uint32_t>(&u.syncobj, 1),
        u.point ? std::span<const uint64_t>(&u.point, 1) : std::span<const uint64_t>(),
        abs_deadline_ns, true, true);
    const bool pending =
        !w.ok() && (w.error() == -ETIME || w.error() == -ETIMEDOUT || w.error() == -EBUSY);
    if (pending) {
      // Busy: when polling, the rest need not be looked at.
      if (result.ok()) result = w;
      if (abs_deadline_ns == 0) break;
      continue;
    }
    if (!w.ok())  // a syncobj the frontend destroyed: nothing can still wait on it
      WSYS_LOG(Bo, "handle %u: use of syncobj %u unknown (%s), taken as done", handle(),
               u.syncobj, strerror(-w.error()));
    if (signalled < std::size(done)) done[signalled++] = u;
  }
  if (forget_if_idle && signalled) {
    std::lock_guard<std::mutex> g(lock_);
    for (size_t i = 0; i < signalled; i++) {
      // Only if unchanged meanwhile: a newer point of the same syncobj
      // stays pending.
      auto it = std::find_if(uses_.begin(), uses_.end(), [&](const Use& u) {
        return u.syncobj == done[i].syncobj && u.point == done[i].point;
      });
      if (it != uses_.end()) uses_.erase(it);
    }
  }
  return result;
}

bool Bo::busy() {
  // Only pending uses fail the poll (unknown syncobjs count as done).
  if (!wait_last_use(0, true).ok()) return true;
  // panfrost also tracks the kernel's implicit fences (SUBMIT's BO list).
  Result<void> k = device_->kmod().bo_wait(*kbo_, 0);
  return !k.ok() && (k.error() == -EBUSY || k.error() == -ETIMEDOUT || k.error() == -ETIME);
}

Result<void> Bo::wait(int64_t abs_deadline_ns) {
  if (Result<void> w = wait_last_use(abs_deadline_ns, true); !w.ok()) return w;
  Result<void> k = device_->kmod().bo_wait(*kbo_, abs_deadline_ns);
  if (!k.ok() && k.error() != -EOPNOTSUPP) return k.error() == -EBUSY ? Error(-ETIME) : k;
  return {};
}

}  // namespace wsys
