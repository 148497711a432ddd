// wsys::UserQueue: see include/wsys/user_queue.hpp and docs/user-queues.md.
#include "wsys/user_queue.hpp"

#include <sched.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstring>

#include "winsys/core/kernel_access.h"
#include "winsys/core/sync_wait.h"
#include "winsys/kmod/kmod.h"
#include "winsys/kmod/wait.h"
#include "wsys/device.hpp"
#include "wsys/vm.hpp"

namespace wsys {

namespace {
constexpr uint32_t kCtrlBytes = 4096;   // rptr, wptr, seqno (+ room)
constexpr int64_t kRoomWaitNs = 10'000'000'000LL;
}  // namespace

struct UserQueue::Impl {
  kmod::Device* kdev = nullptr;
  std::shared_ptr<kmod::Vm> kvm;
  uint32_t group = 0;
  uint32_t handle = 0;
  Vm* vm = nullptr;
  bool own_va = false;  // mapped into a Vm other than the device's
  bool counted = false;  // Device::user_queue_added was called
  VaAllocation va;
};

Result<std::unique_ptr<UserQueue>> UserQueue::create(Vm& vm, const UserQueueOptions& o) {
  Device& dev = vm.device();
  kmod::Device& kdev = KernelAccess::device(dev);
  const kmod::DeviceProps& p = kdev.props();
  if (!p.has_user_queues) return Error(-EOPNOTSUPP);
  if (o.ring_bytes < 4096 || o.ring_bytes > (1u << 20) || (o.ring_bytes & (o.ring_bytes - 1)))
    return Error(-EINVAL);
  std::unique_ptr<UserQueue> q(new UserQueue());
  q->device_ = dev.shared_from_this();
  q->impl_ = std::make_unique<Impl>();
  Impl& im = *q->impl_;
  im.kdev = &kdev;
  im.vm = &vm;
  im.kvm = KernelAccess::vm(vm);
  q->ring_size_ = o.ring_bytes;
  q->poll_ns_ = o.poll_ns;

  // Ring + control page: one buffer, CPU-mapped, at a GPU address of `vm`.
  const uint64_t size = uint64_t{o.ring_bytes} + kCtrlBytes;
  auto bo = dev.bo_alloc(size, kAllocNoCache, "user queue ring");
  if (!bo) return Error(bo.error());
  q->bo_ = std::move(*bo);
  auto cpu = q->bo_->map();
  if (!cpu) return Error(cpu.error());
  std::memset(*cpu, 0, size);
  uint64_t base = q->bo_->gpu_va();
  if (&vm != &dev.vm()) {
    auto va = vm.alloc_va(size, 64 * 1024);
    if (!va) return Error(va.error());
    im.va = *va;
    BindBatch b;
    b.map(*q->bo_, 0, va->addr, size);
    if (auto r = vm.bind(b, BindMode::Immediate); !r) {
      (void)vm.free_va(*va);
      return Error(r.error());
    }
    im.own_va = true;
    base = va->addr;
  }
  q->ring_ = static_cast<uint8_t*>(*cpu);
  q->ctrl_ = reinterpret_cast<volatile uint64_t*>(q->ring_ + o.ring_bytes);
  q->ring_va_ = base;

  // A group of its own on the Vm (the kernel's unit of fault isolation).
  kmod::QueueCreateInfo kq;
  kmod::GroupCreateInfo g;
  g.queues = {&kq, 1};
  g.vm = im.kvm.get();
  g.max_compute_cores = g.max_fragment_cores = g.max_tiler_cores = 1;
  g.compute_core_mask = g.fragment_core_mask = p.shader_present;
  g.tiler_core_mask = p.tiler_present;
  auto group = kdev.group_create(g);
  if (!group) return Error(group.error());
  im.group = *group;

  kmod::UserQueueCreateInfo ci;
  ci.group = im.group;
  ci.ring_va = base;
  ci.ring_size_bytes = o.ring_bytes;
  ci.rptr_va = base + o.ring_bytes;
  ci.wptr_va = ci.rptr_va + 8;
  ci.seqno_va = ci.rptr_va + 16;
  auto h = kdev.user_queue_create(ci);
  if (!h) return Error(h.error());
  im.handle = h->handle;
  auto db = kdev.user_queue_map_doorbell(h->doorbell_offset);
  if (!db) return Error(db.error());
  q->doorbell_ = static_cast<volatile uint32_t*>(*db);
  dev.user_queue_added(vm);  // the pinning policy: the cache's cap
  im.counted = true;
  return q;
}

UserQueue::~UserQueue() {
  if (!impl_) return;
  Impl& im = *impl_;
  if (doorbell_) (void)im.kdev->user_queue_unmap_doorbell(const_cast<uint32_t*>(doorbell_));
  if (im.handle) (void)im.kdev->user_queue_destroy(im.handle);
  if (im.group) (void)im.kdev->group_destroy(im.group);
  if (im.own_va) (void)im.vm->unmap_and_free(im.va, std::nullopt);
  if (im.counted) device_->user_queue_removed(*im.vm);
}

Result<void> UserQueue::room(uint32_t n) {
  if (w_ + n - ctrl_[0] <= ring_size_) return {};
  s_full_.fetch_add(1, std::memory_order_relaxed);
  const int64_t end = kmod::monotonic_ns() + kRoomWaitNs;
  int64_t next_check = 0;
  // The GPU is behind: make sure it knows about what is there.
  __atomic_store_n(&ctrl_[1], w_, __ATOMIC_RELEASE);
  *doorbell_ = 1;
  while (w_ + n - __atomic_load_n(&ctrl_[0], __ATOMIC_ACQUIRE) > ring_size_) {
    int64_t now = kmod::monotonic_ns();
    if (now > end) return Error(-ETIME);
    if (now > next_check) {
      if (state().dead) return Error(-ECANCELED);
      next_check = now + 1'000'000;
    }
    sched_yield();
  }
  return {};
}

Result<void> UserQueue::append(const uint8_t* p, uint32_t n) {
  const uint32_t mask = ring_size_ - 1;
  uint32_t off = static_cast<uint32_t>(w_ & mask);
  if (off + n > ring_size_) {  // never straddle the end: pad with a NOP
    const uint32_t pad = ring_size_ - off;
    if (auto r = room(pad); !r) return r;
    uint8_t nop[8];
    if (auto r = impl_->kdev->user_queue_nop_command(pad, nop); !r) return r;
    std::memcpy(ring_ + off, nop, 8);
    w_ += pad;
    off = 0;
  }
  if (auto r = room(n); !r) return r;
  std::memcpy(ring_ + off, p, n);
  w_ += n;
  return {};
}

Result<void> UserQueue::push(std::span<const uint8_t> commands) {
  if (commands.size() % 8 || commands.size() > ring_size_) return Error(-EINVAL);
  std::lock_guard<std::mutex> g(lock_);
  return append(commands.data(), static_cast<uint32_t>(commands.size()));
}

Result<uint64_t> UserQueue::end_submission() {
  std::lock_guard<std::mutex> g(lock_);
  uint8_t cmd[16];
  const uint64_t s = next_seqno_ + 1;
  auto n = impl_->kdev->user_queue_seqno_command(s, cmd);
  if (!n) return Error(n.error());
  if (auto r = append(cmd, *n); !r) return Error(r.error());
  next_seqno_ = s;
  pushed_seqno_ = s;
  s_subs_.fetch_add(1, std::memory_order_relaxed);
  return s;
}

void UserQueue::ring() {
  std::lock_guard<std::mutex> g(lock_);
  __atomic_store_n(&ctrl_[1], w_, __ATOMIC_RELEASE);
  rung_.store(pushed_seqno_, std::memory_order_release);
  *doorbell_ = 1;
  s_rings_.fetch_add(1, std::memory_order_relaxed);
}

uint64_t UserQueue::completed() const { return __atomic_load_n(&ctrl_[2], __ATOMIC_ACQUIRE); }

Result<void> UserQueue::wait(uint64_t seqno, int64_t abs_deadline_ns) {
  if (completed() >= seqno) return {};
  if (seqno > submitted()) return Error(-EINVAL);
  // 1. Poll: short work finishes faster than a system call round trip.
  const int64_t poll_end = kmod::monotonic_ns() + poll_ns_;
  while (kmod::monotonic_ns() < poll_end) {
    if (completed() >= seqno) {
      s_polled_.fetch_add(1, std::memory_order_relaxed);
      return {};
    }
    sched_yield();
  }
  // 2. Sleep on a submission fence (a syncobj of its own: concurrent
  //    waiters do not share one). Refused while the kernel evicts the
  //    queue: then sleep briefly and look again.
  auto so = device_->syncobj_create(false);
  if (!so) return Error(so.error());
  Result<void> out = Error(-ETIME);
  for (;;) {
    if (completed() >= seqno) {
      out = {};
      break;
    }
    auto r = impl_->kdev->user_queue_signal(impl_->handle, seqno, *so, 0);
    if (r) {
      s_fenced_.fetch_add(1, std::memory_order_relaxed);
      out = device_->syncobj_wait(SyncPoint{*so, 0}, abs_deadline_ns);
      if (out && completed() < seqno) out = Error(-ECANCELED);  // signalled with an error
      break;
    }
    if (r.error() != -EAGAIN) {
      out = Error(r.error());
      break;
    }
    if (kmod::monotonic_ns() >= abs_deadline_ns) break;  // -ETIME
    struct timespec ts{0, 200'000};
    nanosleep(&ts, nullptr);
  }
  (void)device_->syncobj_destroy(*so);
  return out;
}

Result<void> UserQueue::export_point(uint64_t seqno, SyncPoint at) {
  if (seqno > submitted()) return Error(-EINVAL);
  return impl_->kdev->user_queue_signal(impl_->handle, seqno, at.syncobj, at.point);
}

Result<int> UserQueue::export_sync_file(uint64_t seqno) {
  if (seqno > submitted()) return Error(-EINVAL);
  auto so = device_->syncobj_create(false);
  if (!so) return Error(so.error());
  Result<int> out = Error(-EINVAL);
  if (auto r = impl_->kdev->user_queue_signal(impl_->handle, seqno, *so, 0); !r)
    out = Error(r.error());
  else
    out = impl_->kdev->syncobj_export_sync_file(*so);
  (void)device_->syncobj_destroy(*so);  // the fd holds the fence
  return out;
}

Result<void> UserQueue::resume() { return impl_->kdev->user_queue_resume(impl_->handle); }

UserQueueState UserQueue::state() const {
  UserQueueState s;
  auto k = impl_->kdev->user_queue_state(impl_->handle);
  if (k) {
    s.suspended = k->suspended;
    s.dead = k->timed_out || k->faulted;
    s.completed_seqno = k->completed_seqno;
    s.suspensions = k->suspensions;
  } else {
    s.dead = true;
  }
  return s;
}

UserQueueStats UserQueue::stats() const {
  UserQueueStats s;
  s.submissions = s_subs_.load();
  s.rings = s_rings_.load();
  s.waits_polled = s_polled_.load();
  s.waits_fenced = s_fenced_.load();
  s.ring_full_waits = s_full_.load();
  return s;
}

}  // namespace wsys
