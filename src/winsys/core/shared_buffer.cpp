// wsys::SharedBuffer over kmod's wrappers of the central allocator and its
// display/camera devices (kmod/shared_alloc.h; on the kernel model, an
// extension). One allocator file and one file per peripheral serve every
// SharedBuffer of the process, as one open of /dev/dma_heap would.
#include "wsys/shared_buffer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>

#include "winsys/kmod/shared_alloc.h"
#include "wsys/device.hpp"

namespace wsys {

struct SharedBuffer::Impl {
  std::mutex lock;  // the files below are opened once, lazily
  std::unique_ptr<kmod::SharedAllocator> alloc;
  std::unique_ptr<kmod::Peripheral> display, camera;

  Result<kmod::Peripheral*> peripheral(SharedDevice d) {
    std::lock_guard<std::mutex> g(lock);
    auto& slot = d == SharedDevice::Display ? display : camera;
    if (!slot) {
      auto p = kmod::Peripheral::open(d == SharedDevice::Display ? kmod::Peripheral::Kind::Display
                                                                 : kmod::Peripheral::Kind::Camera);
      if (!p) return Error(p.error());
      slot = std::move(*p);
    }
    return slot.get();
  }
};

namespace {

// The process's allocator files (never closed: buffers may outlive statics).
Result<std::shared_ptr<SharedBuffer::Impl>> process_impl() {
  static std::mutex lock;
  static std::shared_ptr<SharedBuffer::Impl>* impl = nullptr;
  std::lock_guard<std::mutex> g(lock);
  if (!impl) {
    auto a = kmod::SharedAllocator::open();
    if (!a) return Error(a.error());
    auto i = std::make_shared<SharedBuffer::Impl>();
    i->alloc = std::move(*a);
    impl = new std::shared_ptr<SharedBuffer::Impl>(std::move(i));
  }
  return *impl;
}

Result<void> from_rc(int rc) { return rc ? Result<void>(Error(rc)) : Result<void>(); }

}  // namespace

const char* shared_refusal_name(SharedRefusal r) {
  return kmod::shared_unmet_name(static_cast<kmod::SharedUnmet>(r));
}

SharedBuffer::SharedBuffer(std::shared_ptr<Impl> impl, int fd, uint32_t handle, uint64_t size)
    : impl_(std::move(impl)), fd_(fd), handle_(handle), size_(size) {}

SharedBuffer::~SharedBuffer() {
  if (handle_) impl_->alloc->release(handle_);
  ::close(fd_);
}

Result<std::shared_ptr<SharedBuffer>> SharedBuffer::create(uint64_t size, uint32_t uses) {
  if (size == 0 || uses == 0 || (uses & ~0xfu)) return Error(-EINVAL);
  auto impl = process_impl();
  if (!impl) return Error(impl.error());
  auto made = (*impl)->alloc->create(size, uses);
  if (!made) return Error(made.error());
  auto info = (*impl)->alloc->query(made->fd);
  const uint64_t real = info ? info->size : size;
  return std::shared_ptr<SharedBuffer>(new SharedBuffer(*impl, made->fd, made->handle, real));
}

Result<std::shared_ptr<SharedBuffer>> SharedBuffer::from_fd(int fd) {
  if (fd < 0 || fcntl(fd, F_GETFD) < 0) return Error(-EBADF);
  auto impl = process_impl();
  if (!impl) return Error(impl.error());
  // QUERY answers only for the allocator's own dma-bufs (-EINVAL for any
  // other fd), so it is the check as well as the size.
  auto info = (*impl)->alloc->query(fd);
  if (!info) return Error(info.error() == -EBADF ? -EBADF : -EINVAL);
  int mine = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (mine < 0) return Error(-errno);
  return std::shared_ptr<SharedBuffer>(new SharedBuffer(*impl, mine, 0, info->size));
}

Result<int> SharedBuffer::export_fd() const {
  int fd = fcntl(fd_, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return Error(-errno);
  return fd;
}

Result<BoRef> SharedBuffer::import_into(Device& dev) { return dev.bo_import(fd_); }

Result<uint32_t> SharedBuffer::attach(SharedDevice d, uint32_t pitch, uint32_t height) {
  auto p = impl_->peripheral(d);
  if (!p) return Error(p.error());
  kmod::SharedUnmet why = kmod::SharedUnmet::None;
  auto id = (*p)->attach(fd_, pitch, height, &why);
  if (!id) refusal_.store(static_cast<uint32_t>(why), std::memory_order_relaxed);
  return id;
}

Result<void> SharedBuffer::map(SharedDevice d, uint32_t attachment) {
  auto p = impl_->peripheral(d);
  if (!p) return Error(p.error());
  return from_rc((*p)->map(attachment));
}

Result<void> SharedBuffer::unmap(SharedDevice d, uint32_t attachment) {
  auto p = impl_->peripheral(d);
  if (!p) return Error(p.error());
  return from_rc((*p)->unmap(attachment));
}

Result<void> SharedBuffer::detach(SharedDevice d, uint32_t attachment) {
  auto p = impl_->peripheral(d);
  if (!p) return Error(p.error());
  return from_rc((*p)->detach(attachment));
}

Result<uint64_t> SharedBuffer::use(SharedDevice d, uint32_t attachment, uint8_t fill) {
  auto p = impl_->peripheral(d);
  if (!p) return Error(p.error());
  return (*p)->use(attachment, fill);
}

Result<void> SharedBuffer::begin_cpu_access(bool read, bool write) {
  return from_rc(impl_->alloc->begin_access(fd_, kmod::SharedDomain::Cpu, read, write));
}

Result<void> SharedBuffer::begin_gpu_access(bool read, bool write) {
  return from_rc(impl_->alloc->begin_access(fd_, kmod::SharedDomain::Gpu, read, write));
}

Result<SharedAllocatorStats> SharedBuffer::allocator_stats() {
  auto impl = process_impl();
  if (!impl) return Error(impl.error());
  auto s = (*impl)->alloc->stats();
  if (!s) return Error(s.error());
  SharedAllocatorStats o;
  o.contiguous_pool_bytes = s->cma_size;
  o.contiguous_used = s->cma_used;
  o.contiguous_peak = s->cma_peak;
  o.cache_flushes = s->cache_flushes;
  o.cache_invalidates = s->cache_invalidates;
  o.cache_ops_avoided = s->cache_ops_avoided;
  o.migrations = s->migrations;
  o.placement_failures = s->finalize_failures;
  o.refused_attaches = s->refused_attaches;
  return o;
}

SharedRefusal SharedBuffer::refusal() const {
  if (uint32_t mine = refusal_.load(std::memory_order_relaxed)) return static_cast<SharedRefusal>(mine);
  auto info = impl_->alloc->query(fd_);
  return info ? static_cast<SharedRefusal>(info->last_unmet) : SharedRefusal::None;
}

Result<SharedPlacement> SharedBuffer::placement() const {
  auto info = impl_->alloc->query(fd_);
  if (!info) return Error(info.error());
  SharedPlacement p;
  p.placed = info->finalized;
  p.in_use = info->mapped;
  p.cpu_used = info->cpu_used;
  p.contiguous_pool = info->zone == 3;
  p.extents = info->extent_count;
  p.highest_address = info->highest_addr;
  p.attachments = info->attachments;
  p.migrations = info->migrations;
  return p;
}

}  // namespace wsys
