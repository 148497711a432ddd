// wsys::Vm: address allocation, bind batches, parked ranges, mapping
// tracking and recreation (see include/wsys/vm.hpp).
#include "wsys/vm.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>

#include "winsys/core/debug_log.h"
#include "winsys/core/device_impl.h"
#include "winsys/core/stuck_points.h"
#include "winsys/core/sync_wait.h"
#include "winsys/core/trace.h"
#include "winsys/kmod/kmod.h"
#include "wsys/device.hpp"

namespace wsys {

namespace {

// Nothing is placed below this (as panfrost's kernel does).
constexpr uint64_t kNullGuardBytes = 32ull << 20;

// True unless `p` is still pending by `deadline`: a point the kernel does
// not know can no longer be using the range either.
bool point_done(kmod::Device& k, SyncPoint p, int64_t deadline) {
  return kmod::wait_point(k, p.syncobj, p.point, deadline).state != kmod::PointState::Pending;
}

// Whether the kernel has a fence for `p` (a job was submitted for it): a
// wait without WAIT_FOR_SUBMIT is -EINVAL for a point with none.
bool submitted(kmod::Device& k, SyncPoint p) {
  Result<void> w =
      k.syncobj_wait(std::span<const uint32_t>(&p.syncobj, 1),
                     p.point ? std::span<const uint64_t>(&p.point, 1) : std::span<const uint64_t>(),
                     core::kPollDeadline, /*wait_all=*/true, /*wait_for_submit=*/false);
  return w.ok() || w.error() != -EINVAL;
}

// A bounded wait wsys makes for itself (sync_wait.h); a timeout is logged,
// and the caller goes on as the comment at its call says. A point that
// already timed out once is polled (stuck_points.h).
void wait_bounded(kmod::Device& k, core::StuckPoints& stuck, SyncPoint p, const char* why) {
  if (stuck.covers(p)) {
    if (!point_done(k, p, core::kPollDeadline))
      WSYS_LOG(Vm, "%s: syncobj %u point %llu timed out before; polled, still pending; going on",
               why, p.syncobj, static_cast<unsigned long long>(p.point));
    return;
  }
  // First until a fence exists for the point: a frontend marks a use just
  // before it submits the work, so a point with no fence a second later
  // will not get one (the capi fuzzer marks uses on points nobody submits).
  const int64_t end = kmod::deadline_after_ns(core::kGpuTeardownWaitNs);
  if (!point_done(k, p, kmod::deadline_after_ns(core::kSubmitWaitNs)) && !submitted(k, p)) {
    stuck.note(p);
    WSYS_LOG(Vm, "%s: syncobj %u point %llu not submitted after %lld ms; going on", why, p.syncobj,
             static_cast<unsigned long long>(p.point),
             static_cast<long long>(core::kSubmitWaitNs / 1'000'000));
    return;
  }
  if (!point_done(k, p, end)) {
    stuck.note(p);
    WSYS_LOG(Vm, "%s: syncobj %u point %llu still pending after %lld ms; going on", why, p.syncobj,
             static_cast<unsigned long long>(p.point),
             static_cast<long long>(core::kGpuTeardownWaitNs / 1'000'000));
  }
}

}  // namespace

// --- BindBatch ----------------------------------------------------------------

void BindBatch::map(Bo& bo, uint64_t bo_offset, uint64_t va, uint64_t size, uint32_t map_flags) {
  ++requested_;
  if (!ops_.empty()) {
    Op& last = ops_.back();
    // A neighbour of the previous map in both VA and buffer: one op.
    if (last.map && last.bo == bo.kbo_ && last.flags == map_flags && last.va + last.size == va &&
        last.bo_offset + last.size == bo_offset) {
      last.size += size;
      return;
    }
  }
  Op op;
  op.map = true;
  op.bo = bo.kbo_;
  op.bo_offset = bo_offset;
  op.va = va;
  op.size = size;
  op.flags = map_flags;
  ops_.push_back(std::move(op));
}

void BindBatch::map_sparse(uint64_t va, uint64_t size) {
  ++requested_;
  if (!ops_.empty()) {
    Op& last = ops_.back();
    if (last.map && last.sparse && last.va + last.size == va) {
      last.size += size;
      return;
    }
  }
  Op op;
  op.map = true;
  op.sparse = true;
  op.va = va;
  op.size = size;
  op.flags = kMapNoExec;
  ops_.push_back(std::move(op));
}

void BindBatch::unmap(uint64_t va, uint64_t size) {
  ++requested_;
  if (!ops_.empty()) {
    Op& last = ops_.back();
    if (!last.map && last.va + last.size == va) {
      last.size += size;
      return;
    }
  }
  Op op;
  op.va = va;
  op.size = size;
  ops_.push_back(std::move(op));
}

void BindBatch::clear() {
  ops_.clear();
  waits_.clear();
  signals_.clear();
  requested_ = 0;
}

// --- Vm ---------------------------------------------------------------------------

struct Vm::Impl {
  kmod::Device* k = nullptr;
  uint64_t va_range = 0;
  bool managed = false;

  mutable std::mutex lock;  // everything below
  std::shared_ptr<kmod::Vm> kvm;
  VaAllocator va;
  VaAllocator::HeapId heap = 0;

  // Own unmap timeline: parked ranges in point order.
  std::mutex unmap_lock;  // point assignment + the ioctl, so points reach the kernel in order
  uint32_t unmap_syncobj = 0;
  uint64_t unmap_point = 0;
  struct Parked {
    VaAllocation va;
    SyncPoint done;
  };
  std::deque<Parked> own_parked;    // on unmap_syncobj, increasing points
  std::deque<Parked> other_parked;  // on caller-given points (checked one by one)

  // Live mappings by start address (for recreate()).
  struct Mapping {
    uint64_t size = 0;
    std::shared_ptr<kmod::Bo> bo;
    uint64_t bo_offset = 0;
    uint32_t flags = 0;
  };
  std::map<uint64_t, Mapping> maps;

  VmStats st;

  // Points a bounded wait timed out on (its own lock: some waits run
  // without `lock`).
  core::StuckPoints stuck;

  // Removes [va, va + size) from the tracked mappings, splitting any that
  // straddle its ends. Requires lock.
  void untrack(uint64_t start, uint64_t size) {
    const uint64_t end = start + size;
    auto it = maps.upper_bound(start);
    if (it != maps.begin()) --it;
    while (it != maps.end() && it->first < end) {
      const uint64_t m_start = it->first;
      const uint64_t m_end = m_start + it->second.size;
      if (m_end <= start) {
        ++it;
        continue;
      }
      Mapping m = it->second;
      it = maps.erase(it);
      if (m_start < start) {
        Mapping head = m;
        head.size = start - m_start;
        maps.emplace(m_start, head);
      }
      if (m_end > end) {
        Mapping tail = m;
        tail.bo_offset += end - m_start;
        tail.size = m_end - end;
        it = maps.emplace(end, tail).first;
        ++it;
      }
    }
  }
  void track(uint64_t start, const Mapping& m) {
    untrack(start, m.size);
    maps.emplace(start, m);
  }

  size_t reclaim_locked() {
    size_t n = 0;
    if (!own_parked.empty()) {
      Result<uint64_t> q = k->syncobj_query(unmap_syncobj);
      if (q.ok()) {
        while (!own_parked.empty() && own_parked.front().done.point <= *q) {
          (void)va.free(own_parked.front().va);
          own_parked.pop_front();
          ++n;
        }
      }
    }
    for (auto it = other_parked.begin(); it != other_parked.end();) {
      if (point_done(*k, it->done, core::kPollDeadline)) {
        (void)va.free(it->va);
        it = other_parked.erase(it);
        ++n;
      } else {
        ++it;
      }
    }
    st.va_reclaimed += n;
    if (n) WSYS_LOG(Va, "reclaimed %zu parked ranges", n);
    return n;
  }
};

Vm::Vm(Device* device, std::shared_ptr<Device> owner)
    : device_(device), owner_(std::move(owner)), impl_(std::make_unique<Impl>()) {}

Vm::~Vm() {
  if (!impl_->kvm) return;
  std::lock_guard<std::mutex> g(impl_->lock);
  if (!impl_->own_parked.empty()) {
    // Let our own unmaps finish before the timeline goes.
    wait_bounded(*impl_->k, impl_->stuck, SyncPoint{impl_->unmap_syncobj, impl_->unmap_point},
                 "VM teardown");
  }
  if (impl_->unmap_syncobj) (void)impl_->k->syncobj_destroy(impl_->unmap_syncobj);
}

Result<std::shared_ptr<Vm>> Vm::create(std::shared_ptr<Device> device, uint64_t va_range) {
  if (!device) return Error(-EINVAL);
  Device* d = device.get();
  std::shared_ptr<Vm> vm(new Vm(d, std::move(device)));
  if (Result<void> r = vm->init(va_range); !r.ok()) return Error(r.error());
  return vm;
}

Result<void> Vm::init(uint64_t va_range) {
  Impl& im = *impl_;
  im.k = &device_->kmod();
  im.va_range = va_range;
  Result<kmod::VmPtr> kvm = im.k->vm_create(va_range);
  if (!kvm.ok()) return Error(kvm.error());
  im.kvm = std::move(*kvm);
  im.managed = !im.k->props().kernel_managed_va;
  im.st.va_start = im.kvm->user_va_start();
  im.st.va_end = im.kvm->user_va_end();
  if (!im.managed) return {};
  // Nothing is placed in the first 32 MiB (as panfrost's kernel does): a
  // null or small GPU pointer faults instead of hitting a buffer, and 0 is
  // "no stream" to GROUP_SUBMIT.
  const uint64_t start = std::max<uint64_t>(im.st.va_start, kNullGuardBytes);
  if (start >= im.st.va_end) return Error(-ENOSPC);
  Result<VaAllocator::HeapId> h = im.va.add_heap(start, im.st.va_end - start);
  if (!h.ok()) return Error(h.error());
  im.heap = *h;
  // The unmap timeline: a busy range is unmapped by an async bind that
  // signals it. Without async binds or timelines, unmaps wait instead.
  if (im.k->props().has_timeline_syncobj && im.k->props().has_async_bind) {
    Result<uint32_t> s = im.k->syncobj_create(false);
    if (!s.ok()) return Error(s.error());
    im.unmap_syncobj = *s;
  }
  return {};
}

std::shared_ptr<kmod::Vm> Vm::kernel_vm() const {
  std::lock_guard<std::mutex> g(impl_->lock);
  return impl_->kvm;
}

uint32_t Vm::kernel_id() const {
  return kernel_vm()->id();
}
uint64_t Vm::user_va_start() const { return impl_->st.va_start; }
uint64_t Vm::user_va_end() const { return impl_->st.va_end; }
bool Vm::kernel_managed_va() const { return !impl_->managed; }

Result<VaAllocation> Vm::alloc_va(uint64_t size_bytes, uint64_t align_bytes,
                                  uint32_t no_cross_log2) {
  const uint64_t size = size_bytes, align = align_bytes;
  Impl& im = *impl_;
  if (!im.managed) return Error(-EOPNOTSUPP);
  std::lock_guard<std::mutex> g(im.lock);
  im.reclaim_locked();
  Result<VaAllocation> a = im.va.alloc(im.heap, size, align, no_cross_log2);
  if (!a.ok() && a.error() == -ENOMEM && !(im.own_parked.empty() && im.other_parked.empty())) {
    // Full, but ranges are parked behind unmaps: wait for them (the only
    // blocking path, taken only when the address space is exhausted).
    if (!im.own_parked.empty())
      wait_bounded(*im.k, im.stuck, SyncPoint{im.unmap_syncobj, im.own_parked.back().done.point},
                   "VA space full");
    for (const Impl::Parked& p : im.other_parked)
      wait_bounded(*im.k, im.stuck, p.done, "VA space full");
    im.reclaim_locked();
    a = im.va.alloc(im.heap, size, align, no_cross_log2);
  }
  if (a.ok())
    WSYS_LOG(Va, "alloc va=0x%llx size=%llu", static_cast<unsigned long long>(a->addr),
             static_cast<unsigned long long>(a->size));
  return a;
}

Result<VaAllocation> Vm::alloc_va_fixed(uint64_t addr, uint64_t size_bytes) {
  Impl& im = *impl_;
  if (!im.managed) return Error(-EOPNOTSUPP);
  std::lock_guard<std::mutex> g(im.lock);
  im.reclaim_locked();
  return im.va.alloc_fixed(addr, size_bytes);
}

Result<void> Vm::free_va(const VaAllocation& va) {
  Impl& im = *impl_;
  if (!im.managed) return Error(-EOPNOTSUPP);
  std::lock_guard<std::mutex> g(im.lock);
  WSYS_LOG(Va, "free va=0x%llx size=%llu", static_cast<unsigned long long>(va.addr),
           static_cast<unsigned long long>(va.size));
  return im.va.free(va);
}

Result<void> Vm::free_va_after(const VaAllocation& va, SyncPoint done) {
  Impl& im = *impl_;
  if (!im.managed) return Error(-EOPNOTSUPP);
  if (done.syncobj == 0) return Error(-EINVAL);
  std::lock_guard<std::mutex> g(im.lock);
  im.other_parked.push_back(Impl::Parked{va, done});
  WSYS_LOG(Va, "park va=0x%llx size=%llu until syncobj %u point %llu",
           static_cast<unsigned long long>(va.addr), static_cast<unsigned long long>(va.size),
           done.syncobj, static_cast<unsigned long long>(done.point));
  return {};
}

size_t Vm::reclaim(bool block) {
  Impl& im = *impl_;
  if (!im.managed) return 0;
  std::lock_guard<std::mutex> g(im.lock);
  if (block) {
    if (!im.own_parked.empty())
      wait_bounded(*im.k, im.stuck, SyncPoint{im.unmap_syncobj, im.own_parked.back().done.point},
                   "blocking reclaim");
    for (const Impl::Parked& p : im.other_parked)
      wait_bounded(*im.k, im.stuck, p.done, "blocking reclaim");
  }
  return im.reclaim_locked();
}

Result<void> Vm::bind(BindBatch& batch, BindMode mode, size_t* failed_op) {
  Impl& im = *impl_;
  if (failed_op) *failed_op = 0;
  if (batch.empty()) return {};
  const bool has_syncs = !batch.waits_.empty() || !batch.signals_.empty();
  if (has_syncs && mode != BindMode::Async) return Error(-EINVAL);

  // Everything the kernel reads is built here, before the ioctl.
  std::vector<kmod::SyncOp> syncs;
  syncs.reserve(batch.waits_.size() + batch.signals_.size());
  for (SyncPoint p : batch.waits_) syncs.push_back(kmod::SyncOp::wait(p.syncobj, p.point));
  const size_t nwaits = syncs.size();
  for (SyncPoint p : batch.signals_) syncs.push_back(kmod::SyncOp::signal(p.syncobj, p.point));

  std::vector<kmod::BindOp> ops(batch.ops_.empty() ? 1 : batch.ops_.size());
  if (batch.ops_.empty()) {
    ops[0].type = kmod::BindOp::Type::SyncOnly;
    ops[0].syncs = syncs;
  } else {
    for (size_t i = 0; i < batch.ops_.size(); ++i) {
      const BindBatch::Op& o = batch.ops_[i];
      kmod::BindOp& k = ops[i];
      k.type = o.map ? kmod::BindOp::Type::Map : kmod::BindOp::Type::Unmap;
      k.sparse = o.sparse;
      k.bo = o.bo.get();
      k.bo_offset = o.bo_offset;
      k.va = o.va;
      k.size = o.size;
      k.read_only = (o.flags & kMapReadOnly) != 0;
      k.no_exec = (o.flags & kMapNoExec) != 0;
      k.gpu_uncached = (o.flags & kMapUncached) != 0;
    }
    // The queue runs a batch's ops in order: the first waits, the last signals.
    if (has_syncs) {
      if (ops.size() == 1) {
        ops[0].syncs = syncs;
      } else {
        ops.front().syncs = std::span<const kmod::SyncOp>(syncs.data(), nwaits);
        ops.back().syncs = std::span<const kmod::SyncOp>(syncs.data() + nwaits, syncs.size() - nwaits);
      }
    }
  }

  std::shared_ptr<kmod::Vm> kvm;
  {
    std::lock_guard<std::mutex> g(im.lock);
    kvm = im.kvm;
  }
  const kmod::BindMode km = mode == BindMode::Immediate ? kmod::BindMode::Immediate
                            : mode == BindMode::Async   ? kmod::BindMode::Async
                                                        : kmod::BindMode::DeferToNextIdle;
  size_t done = 0;
  core::TraceSpan span("vm_bind");
  Result<void> r = kvm->bind(km, ops, &done);
  if (failed_op) *failed_op = done;
  device_->impl_->seg.bind_calls.fetch_add(1, std::memory_order_relaxed);
  device_->impl_->seg.bind_ops.fetch_add(batch.ops_.size(), std::memory_order_relaxed);
  if (span)
    span.end({{"ops", static_cast<uint64_t>(batch.ops_.size())},
              {"asked", static_cast<uint64_t>(batch.requested_)},
              {"mode", mode == BindMode::Immediate ? "immediate"
                       : mode == BindMode::Async   ? "async"
                                                   : "deferred"},
              {"waits", static_cast<uint64_t>(batch.waits_.size())},
              {"signals", static_cast<uint64_t>(batch.signals_.size())},
              {"vm", kvm->id()},
              {"result", r.ok() ? 0 : r.error()}});

  std::lock_guard<std::mutex> g(im.lock);
  im.st.bind_calls++;
  im.st.ops_requested += batch.requested_;
  im.st.ops_submitted += batch.ops_.size();
  (mode == BindMode::Immediate ? im.st.immediate
   : mode == BindMode::Async   ? im.st.async
                               : im.st.deferred)++;
  // Track what the kernel accepted (all of it, or the ops before the failed one).
  const size_t tracked = r.ok() ? batch.ops_.size() : (mode == BindMode::Immediate ? done : 0);
  if (im.managed) {
    for (size_t i = 0; i < tracked && i < batch.ops_.size(); ++i) {
      const BindBatch::Op& o = batch.ops_[i];
      if (o.map) im.track(o.va, Impl::Mapping{o.size, o.bo, o.bo_offset, o.flags});
      else im.untrack(o.va, o.size);
    }
  }
  WSYS_LOG(Vm, "bind %s: %zu ops (%zu asked), %zu waits, %zu signals: %s",
           mode == BindMode::Immediate ? "immediate" : mode == BindMode::Async ? "async" : "deferred",
           batch.ops_.size(), batch.requested_, batch.waits_.size(), batch.signals_.size(),
           r.ok() ? "ok" : std::strerror(-r.error()));
  if (r.ok()) batch.clear();
  return r;
}

Result<void> Vm::unmap_and_free(const VaAllocation& va, std::optional<SyncPoint> after) {
  if (after && after->syncobj) return unmap_and_free(va, std::span<const SyncPoint>(&*after, 1));
  return unmap_and_free(va, std::span<const SyncPoint>());
}

Result<void> Vm::unmap_and_free(const VaAllocation& va, std::span<const SyncPoint> after_all) {
  Impl& im = *impl_;
  if (!im.managed) return Error(-EOPNOTSUPP);
  kmod::BindOp op;
  op.type = kmod::BindOp::Type::Unmap;
  op.va = va.addr;
  op.size = va.size;
  std::shared_ptr<kmod::Vm> kvm;
  {
    std::lock_guard<std::mutex> g(im.lock);
    kvm = im.kvm;
  }
  // The waits, then the signal of the Vm's unmap timeline (built before
  // the ioctl: nothing is allocated once the kernel has the bind).
  std::vector<kmod::SyncOp> syncs;
  for (const SyncPoint& p : after_all)
    if (p.syncobj) syncs.push_back(kmod::SyncOp::wait(p.syncobj, p.point));
  const size_t waits = syncs.size();
  bool wait_first = waits != 0;
  if (waits && im.unmap_syncobj) {
    std::lock_guard<std::mutex> ug(im.unmap_lock);
    const uint64_t point = im.unmap_point + 1;
    {
      // The record first (the only allocation), then the unmap that will
      // signal it: nothing is allocated once the kernel has the bind.
      std::lock_guard<std::mutex> g(im.lock);
      im.own_parked.push_back(Impl::Parked{va, SyncPoint{im.unmap_syncobj, point}});
    }
    syncs.push_back(kmod::SyncOp::signal(im.unmap_syncobj, point));
    op.syncs = syncs;
    core::TraceSpan span("vm_unmap");
    Result<void> r = kvm->bind(kmod::BindMode::Async, std::span<const kmod::BindOp>(&op, 1));
    device_->impl_->seg.bind_calls.fetch_add(1, std::memory_order_relaxed);
    device_->impl_->seg.bind_ops.fetch_add(1, std::memory_order_relaxed);
    if (span)
      span.end({{"size", va.size}, {"mode", "async"}, {"waits", static_cast<uint64_t>(waits)},
                {"result", r.ok() ? 0 : r.error()}});
    op.syncs = {};
    std::lock_guard<std::mutex> g(im.lock);
    if (r.ok()) {
      im.unmap_point = point;
      im.untrack(va.addr, va.size);
      im.st.bind_calls++;
      im.st.async++;
      im.st.ops_requested++;
      im.st.ops_submitted++;
      WSYS_LOG(Va, "unmap (parked) va=0x%llx size=%llu after %zu point(s) -> point %llu",
               static_cast<unsigned long long>(va.addr), static_cast<unsigned long long>(va.size),
               waits, static_cast<unsigned long long>(point));
      return {};
    }
    im.own_parked.pop_back();  // unmap_lock held: ours is the last record
    syncs.pop_back();          // the signal
    WSYS_LOG(Va, "async unmap va=0x%llx refused (%s): waiting, then unmapping now",
             static_cast<unsigned long long>(va.addr), std::strerror(-r.error()));
  }
  // No async unmap (no timelines, or the kernel refused it, e.g. a point it
  // does not know): wait for the last use, with no lock held, then unmap.
  if (wait_first) {
    for (const SyncPoint& p : after_all)
      if (p.syncobj) wait_bounded(*im.k, im.stuck, p, "synchronous unmap");
  }
  core::TraceSpan span("vm_unmap");
  Result<void> r = kvm->bind(kmod::BindMode::Immediate, std::span<const kmod::BindOp>(&op, 1));
  device_->impl_->seg.bind_calls.fetch_add(1, std::memory_order_relaxed);
  device_->impl_->seg.bind_ops.fetch_add(1, std::memory_order_relaxed);
  if (span)
    span.end({{"size", va.size}, {"mode", "immediate"}, {"result", r.ok() ? 0 : r.error()}});
  std::lock_guard<std::mutex> g(im.lock);
  im.st.bind_calls++;
  im.st.immediate++;
  im.st.ops_requested++;
  im.st.ops_submitted++;
  if (!r.ok()) {
    // Still mapped: the range must never be handed out again.
    WSYS_LOG(Va, "unmap va=0x%llx failed (%s): range leaked",
             static_cast<unsigned long long>(va.addr), std::strerror(-r.error()));
    return r;
  }
  im.untrack(va.addr, va.size);
  WSYS_LOG(Va, "unmap va=0x%llx size=%llu", static_cast<unsigned long long>(va.addr),
           static_cast<unsigned long long>(va.size));
  return im.va.free(va);
}

uint32_t Vm::activity_syncobj() const {
  return kernel_vm()->activity_syncobj();
}
uint64_t Vm::activity_point() const {
  return kernel_vm()->activity_point();
}

bool Vm::usable() {
  Result<bool> u = kernel_vm()->usable();
  return u.ok() && *u;
}

Result<void> Vm::recreate() {
  Impl& im = *impl_;
  Result<kmod::VmPtr> nv = im.k->vm_create(im.va_range);
  if (!nv.ok()) return Error(nv.error());
  std::lock_guard<std::mutex> ug(im.unmap_lock);
  std::lock_guard<std::mutex> g(im.lock);
  if ((*nv)->user_va_start() > im.st.va_start || (*nv)->user_va_end() < im.st.va_end)
    return Error(-ENOSPC);  // the new VM cannot hold the old addresses
  // Replay every live mapping, a batch at a time.
  std::vector<kmod::BindOp> ops;
  ops.reserve(64);
  auto flush = [&]() -> Result<void> {
    if (ops.empty()) return {};
    Result<void> r = (*nv)->bind(kmod::BindMode::Immediate, ops);
    ops.clear();
    return r;
  };
  for (const auto& [va, m] : im.maps) {
    kmod::BindOp op;
    op.type = kmod::BindOp::Type::Map;
    op.sparse = !m.bo;  // a MAP_SPARSE range has no buffer
    op.bo = m.bo.get();
    op.bo_offset = m.bo ? m.bo_offset : 0;  // a split sparse range keeps offset 0
    op.va = va;
    op.size = m.size;
    op.read_only = (m.flags & kMapReadOnly) != 0;
    op.no_exec = (m.flags & kMapNoExec) != 0;
    op.gpu_uncached = (m.flags & kMapUncached) != 0;
    ops.push_back(op);
    if (ops.size() == 64)
      if (Result<void> r = flush(); !r.ok()) return r;
  }
  if (Result<void> r = flush(); !r.ok()) return r;
  // The old VM took its pending unmaps with it: parked ranges are free.
  for (const Impl::Parked& p : im.own_parked) (void)im.va.free(p.va);
  im.own_parked.clear();
  im.kvm = std::move(*nv);
  im.st.recreations++;
  WSYS_LOG(Vm, "recreated VM %u with %zu mappings", im.kvm->id(), im.maps.size());
  return {};
}

VmStats Vm::stats() const {
  std::lock_guard<std::mutex> g(impl_->lock);
  VmStats s = impl_->st;
  s.mappings = impl_->maps.size();
  s.va_parked = impl_->own_parked.size() + impl_->other_parked.size();
  s.waits_timed_out = impl_->stuck.noted();
  if (impl_->managed) s.va = impl_->va.stats(impl_->heap);
  return s;
}

}  // namespace wsys
