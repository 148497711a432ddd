// The fake kmod device (see fake_kmod.h).
#include "fake_kmod.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>

#include "winsys/kmod/backends.h"

namespace wsys::test {

namespace {

// The transport under the fake: only what kmod's shared code issues itself
// (GEM_CLOSE when a Bo dies, munmap of CPU mappings).
class FakeDrmFile final : public drm::DrmFile {
 public:
  FakeDrmFile() {
    v_.name = "fake";
    v_.major = 1;
    v_.minor = 5;
  }
  int ioctl(unsigned long, void*) override { return 0; }  // GEM_CLOSE
  Result<void*> mmap(void*, size_t, int, int, uint64_t) override { return Error(-ENODEV); }
  int munmap(void* addr, size_t length) override { return ::munmap(addr, length) ? -errno : 0; }
  Result<int> prime_handle_to_fd(uint32_t, uint32_t) override { return Error(-EOPNOTSUPP); }
  Result<uint32_t> prime_fd_to_handle(int) override { return Error(-EOPNOTSUPP); }
  const drm::DriverVersion& version() const override { return v_; }
  const std::string& node_name() const override { return node_; }
  int fd() const override { return -1; }
  bool is_model() const override { return false; }

 private:
  drm::DriverVersion v_;
  std::string node_ = "fake";
};

}  // namespace

FakeKmodDevice::FakeKmodDevice(FakeKmodConfig c)
    : kmod::Device(std::make_unique<FakeDrmFile>()), cfg_(c) {
  props_.driver = c.panfrost ? kmod::Driver::Panfrost : kmod::Driver::Panthor;
  props_.version.name = c.panfrost ? "panfrost" : "panthor";
  props_.version.major = 1;
  props_.version.minor = 5;
  props_.gpu_id = 0xa8670000;
  props_.shader_present = 0x5;
  props_.max_threads = 1024;
  props_.va_bits = 48;
  props_.kernel_managed_va = c.panfrost;
  props_.user_va_start = c.panfrost ? (32ull << 20) : c.va_start;
  props_.user_va_end = c.panfrost ? (4ull << 30) : c.va_end;
  props_.supported_bo_flags = kmod::kBoAllFlags;
  props_.page_size_bitmap = (1ull << 12) | (1ull << 21);
  // The capabilities of the driver it stands for.
  props_.has_timeline_syncobj = !c.panfrost;
  props_.has_madvise = c.panfrost;
  props_.has_bo_wait = c.panfrost;
  props_.has_vm_per_context = !c.panfrost;
  props_.has_async_bind = !c.panfrost;
  props_.has_deferred_bind = !c.panfrost;
  props_.growable_heap =
      c.panfrost ? kmod::GrowableHeap::GrowOnFaultBo : kmod::GrowableHeap::TilerHeap;
  props_.has_bo_labels = true;
  props_.has_gpu_timestamp = true;
}

FakeKmodDevice::~FakeKmodDevice() {
  for (auto& [h, fd] : memfds_) ::close(fd);
}

Result<kmod::BoPtr> FakeKmodDevice::bo_create(uint64_t size, uint32_t flags, kmod::Vm*) {
  std::lock_guard<std::mutex> g(lock_);
  if (size == 0 || (flags & ~kmod::kBoAllFlags)) return Error(-EINVAL);
  if (fail_creates_ > 0) {
    --fail_creates_;
    return Error(fail_errno_);
  }
  int fd = memfd_create("fake-bo", MFD_CLOEXEC);
  if (fd < 0) return Error(-errno);
  uint64_t sz = (size + 4095) & ~uint64_t{4095};
  if (ftruncate(fd, static_cast<off_t>(sz))) {
    int e = errno;
    ::close(fd);
    return Error(-e);
  }
  uint32_t h = next_handle_++;
  memfds_[h] = fd;
  ++creates;
  uint64_t kva = 0;
  if (cfg_.panfrost) {
    kva = next_kernel_va_;
    next_kernel_va_ += sz;
  }
  return core_->adopt(h, sz, flags, kva, false, 0);
}

Result<void*> FakeKmodDevice::bo_mmap(kmod::Bo& bo, int prot) {
  std::lock_guard<std::mutex> g(lock_);
  if (bo.flags() & kmod::kBoNoMmap) return Error(-EINVAL);
  auto it = memfds_.find(bo.handle());
  if (it == memfds_.end()) return Error(-ENOENT);
  void* p = ::mmap(nullptr, bo.size(), prot, MAP_SHARED, it->second, 0);
  if (p == MAP_FAILED) return Error(-errno);
  ++mmaps;
  return p;
}

Result<void> FakeKmodDevice::bo_set_label(kmod::Bo&, const std::string&) {
  std::lock_guard<std::mutex> g(lock_);
  ++labels;
  return {};
}

Result<bool> FakeKmodDevice::bo_make_evictable(kmod::Bo& bo) {
  std::lock_guard<std::mutex> g(lock_);
  if (!cfg_.panfrost) return Error(-EOPNOTSUPP);
  ++madvise_dontneed;
  evictable_.insert(bo.handle());
  if (purge_) purge_locked(bo.handle());
  return !purged_.count(bo.handle());
}

void FakeKmodDevice::purge_locked(uint32_t handle) {
  if (purged_.count(handle)) return;
  purged_.insert(handle);
  ++purges;
  // The pages go: contents read back as zero, like a punched shmem file.
  auto it = memfds_.find(handle);
  if (it != memfds_.end()) {
    off_t size = lseek(it->second, 0, SEEK_END);
    (void)ftruncate(it->second, 0);
    (void)ftruncate(it->second, size);
  }
}

size_t FakeKmodDevice::purge_evictable() {
  std::lock_guard<std::mutex> g(lock_);
  size_t n = 0;
  for (uint32_t h : evictable_) {
    if (!purged_.count(h)) {
      purge_locked(h);
      ++n;
    }
  }
  return n;
}

Result<bool> FakeKmodDevice::bo_make_unevictable(kmod::Bo& bo) {
  std::lock_guard<std::mutex> g(lock_);
  if (!cfg_.panfrost) return Error(-EOPNOTSUPP);
  ++madvise_willneed;
  evictable_.erase(bo.handle());
  return !purged_.count(bo.handle());
}

Result<void> FakeKmodDevice::bo_wait(kmod::Bo& bo, int64_t) {
  std::lock_guard<std::mutex> g(lock_);
  if (!cfg_.panfrost) return Error(-EOPNOTSUPP);
  return kernel_busy_.count(bo.handle()) ? Result<void>(Error(-EBUSY)) : Result<void>();
}

void FakeKmodDevice::set_kernel_busy(uint32_t handle, bool busy) {
  std::lock_guard<std::mutex> g(lock_);
  if (busy) kernel_busy_.insert(handle);
  else kernel_busy_.erase(handle);
}

uint64_t FakeKmodDevice::live_bos() const { return live_bo_count(); }

Result<kmod::VmPtr> FakeKmodDevice::vm_create(uint64_t) {
  std::lock_guard<std::mutex> g(lock_);
  auto vm = std::make_shared<FakeVm>(*this, props_.user_va_start, props_.user_va_end);
  vm_ = vm.get();
  return kmod::VmPtr(vm);
}

// --- syncobjs: value = last signalled point (binary: 1 once signalled) ---

Result<uint32_t> FakeKmodDevice::syncobj_create(bool signalled) {
  std::lock_guard<std::mutex> g(lock_);
  uint32_t h = next_syncobj_++;
  syncobjs_[h] = signalled ? 1 : 0;
  return h;
}

Result<void> FakeKmodDevice::syncobj_destroy(uint32_t handle) {
  std::lock_guard<std::mutex> g(lock_);
  return syncobjs_.erase(handle) ? Result<void>() : Result<void>(Error(-EINVAL));
}

bool FakeKmodDevice::point_signalled_locked(uint32_t s, uint64_t p) const {
  auto it = syncobjs_.find(s);
  if (it == syncobjs_.end()) return true;
  return it->second >= (p ? p : 1);
}

Result<void> FakeKmodDevice::syncobj_wait(std::span<const uint32_t> handles,
                                          std::span<const uint64_t> points, int64_t, bool, bool) {
  std::lock_guard<std::mutex> g(lock_);
  for (size_t i = 0; i < handles.size(); ++i) {
    if (!syncobjs_.count(handles[i])) return Error(-ENOENT);
    if (!point_signalled_locked(handles[i], points.empty() ? 0 : points[i])) return Error(-ETIME);
  }
  return {};  // the fake never blocks: tests signal explicitly
}

Result<void> FakeKmodDevice::syncobj_signal(uint32_t handle, uint64_t point) {
  std::lock_guard<std::mutex> g(lock_);
  auto it = syncobjs_.find(handle);
  if (it == syncobjs_.end()) return Error(-ENOENT);
  uint64_t v = point ? point : 1;
  if (v > it->second) it->second = v;
  return {};
}

Result<uint64_t> FakeKmodDevice::syncobj_query(uint32_t handle) {
  std::lock_guard<std::mutex> g(lock_);
  auto it = syncobjs_.find(handle);
  if (it == syncobjs_.end()) return Error(-ENOENT);
  return it->second;
}

// --- the fake VM ---

Result<void> FakeVm::apply(const kmod::BindOp& op) {
  if (op.type == kmod::BindOp::Type::Map) {
    auto next = maps_.lower_bound(op.va);
    if (next != maps_.end() && next->first < op.va + op.size) {
      ++overlap_refusals;
      return Error(-EBUSY);
    }
    if (next != maps_.begin()) {
      auto prev = std::prev(next);
      if (prev->first + prev->second > op.va) {
        ++overlap_refusals;
        return Error(-EBUSY);
      }
    }
    maps_[op.va] = op.size;
  } else if (op.type == kmod::BindOp::Type::Unmap) {
    auto it = maps_.find(op.va);
    if (it == maps_.end() || it->second != op.size) return Error(-EINVAL);
    maps_.erase(it);
  }
  return {};
}

Result<void> FakeVm::bind(kmod::BindMode mode, std::span<const kmod::BindOp> ops,
                          size_t* failed_index) {
  std::lock_guard<std::mutex> g(lock_);
  if (dev_.cfg_.panfrost) {  // the kernel placed everything already
    if (failed_index) *failed_index = ops.size();
    return {};
  }
  for (size_t i = 0; i < ops.size(); ++i) {
    if (mode == kmod::BindMode::Immediate) {
      if (!ops[i].syncs.empty()) return Error(-EINVAL);
      if (Result<void> r = apply(ops[i]); !r.ok()) {
        if (failed_index) *failed_index = i;
        return r;
      }
      if (ops[i].type == kmod::BindOp::Type::Map) ++immediate_maps;
      if (ops[i].type == kmod::BindOp::Type::Unmap) ++immediate_unmaps;
    } else {
      pending_.push_back(Pending{ops[i], {ops[i].syncs.begin(), ops[i].syncs.end()}});
      pending_.back().op.syncs = {};
      ++async_ops;
    }
  }
  if (failed_index) *failed_index = ops.size();
  return {};
}

size_t FakeVm::run_async() {
  std::lock_guard<std::mutex> g(lock_);
  size_t ran = 0;
  while (!pending_.empty()) {
    Pending& p = pending_.front();
    {
      std::lock_guard<std::mutex> dg(dev_.lock_);
      for (const kmod::SyncOp& s : p.syncs)
        if (s.kind == kmod::SyncOp::Kind::Wait && !dev_.point_signalled_locked(s.syncobj, s.point))
          return ran;  // in order: a blocked op blocks the queue
    }
    (void)apply(p.op);
    {
      std::lock_guard<std::mutex> dg(dev_.lock_);
      for (const kmod::SyncOp& s : p.syncs) {
        if (s.kind != kmod::SyncOp::Kind::Signal) continue;
        auto it = dev_.syncobjs_.find(s.syncobj);
        if (it != dev_.syncobjs_.end()) it->second = std::max(it->second, s.point ? s.point : 1);
      }
    }
    pending_.erase(pending_.begin());
    ++ran;
  }
  return ran;
}

size_t FakeVm::queued() const {
  std::lock_guard<std::mutex> g(lock_);
  return pending_.size();
}

bool FakeVm::mapped(uint64_t va) const {
  std::lock_guard<std::mutex> g(lock_);
  auto it = maps_.upper_bound(va);
  if (it == maps_.begin()) return false;
  --it;
  return va < it->first + it->second;
}

size_t FakeVm::mapping_count() const {
  std::lock_guard<std::mutex> g(lock_);
  return maps_.size();
}

}  // namespace wsys::test
