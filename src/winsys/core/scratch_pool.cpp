// wsys::ScratchPool (see include/wsys/scratch.hpp): one TLS and one WLS
// buffer per device, grown monotonically, retired buffers parked until
// every use recorded for them has signalled.
//
// Locking: lock_ guards the buffers, the parked list and the statistics and
// is held only for bookkeeping (never across a kernel call or an
// allocation of a buffer), so the fast path is lock_ + a compare + a
// reference count increment. grow_lock_ serialises growth (the buffer is
// allocated with only grow_lock_ held: readers keep using the old buffer
// meanwhile); poll_lock_ lets one thread at a time poll syncobjs, others
// skip rather than queue behind it.
#include "wsys/scratch.hpp"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <span>

#include "winsys/core/debug_log.h"
#include "winsys/core/scratch_sizing.h"
#include "winsys/core/sync_wait.h"
#include "winsys/kmod/kmod.h"
#include "wsys/device.hpp"

namespace wsys {

namespace {

// The WLS descriptor's size scale: log2 of the per-instance slice, plus 1
// (0 means no WLS).
uint32_t wls_size_field(uint32_t per_wg_bytes) {
  if (per_wg_bytes == 0) return 0;
  const uint64_t slice = core::next_pow2(std::max(per_wg_bytes, core::kWlsMinBytes));
  return static_cast<uint32_t>(std::bit_width(slice));  // log2(slice) + 1
}

uint32_t wls_instance_count(uint32_t x, uint32_t y, uint32_t z, bool indirect) {
  if (indirect) return core::kWlsIndirectInstances;
  // Callers only get here after wls_bytes accepted the counts, so the
  // product fits in 64 bits; an instance count beyond 32 bits cannot be
  // allocated anyway, so saturate rather than wrap.
  const uint64_t n = core::next_pow2(x) * core::next_pow2(y) * core::next_pow2(z);
  return n > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(n);
}

}  // namespace

Result<std::shared_ptr<ScratchPool>> ScratchPool::create(std::shared_ptr<Device> device) {
  if (!device) return Error(-EINVAL);
  const kmod::DeviceProps& p = device->kmod().props();
  Result<core::ScratchGeometry> g =
      core::scratch_geometry(p.thread_tls_alloc, p.max_threads, p.shader_present);
  if (!g.ok()) return Error(g.error());
  return std::shared_ptr<ScratchPool>(
      new ScratchPool(std::move(device), g->threads_per_core, g->core_id_range));
}

ScratchPool::ScratchPool(std::shared_ptr<Device> device, uint32_t threads_per_core,
                         uint32_t core_id_range)
    : device_(std::move(device)),
      threads_per_core_(threads_per_core),
      core_id_range_(core_id_range) {
  parked_.reserve(4);
}

ScratchPool::~ScratchPool() {
  // Nobody else can call in now: no locks needed. Every buffer goes back to
  // the device with the uses still pending recorded on the Bo (it tracks
  // each queue's), so the cache keeps it until all are done: no waiting.
  std::vector<Held> all = std::move(parked_);
  for (Held& h : current_)
    if (h.bo) all.push_back(std::move(h));
  for (Held& h : all) {
    for (const PendingUses::Use& u : h.uses.entries())
      if (kmod::wait_point(device_->kmod(), u.syncobj, u.point, core::kPollDeadline).state ==
          kmod::PointState::Pending)
        h.bo->mark_used(u.syncobj, u.point);
    h.bo.reset();
  }
}

// --- sizes ------------------------------------------------------------------

Result<uint64_t> ScratchPool::tls_bytes_for(uint32_t per_thread_bytes) const {
  return core::tls_bytes(per_thread_bytes, {threads_per_core_, core_id_range_});
}

Result<uint64_t> ScratchPool::wls_bytes_for(uint32_t per_wg_bytes, uint32_t x, uint32_t y,
                                            uint32_t z, bool indirect) const {
  return core::wls_bytes(per_wg_bytes, x, y, z, indirect, {threads_per_core_, core_id_range_});
}

// --- bindings ---------------------------------------------------------------

ScratchBinding ScratchPool::bind_locked(Kind kind, uint64_t bytes, uint32_t size_field,
                                        uint32_t wls_instances) const {
  ScratchBinding b;
  b.bo = current_[kind].bo;  // a reference count increment, no allocation
  b.gpu_va = b.bo->gpu_va();
  b.size = bytes;
  b.size_field = size_field;
  b.wls_instances = wls_instances;
  return b;
}

Result<ScratchBinding> ScratchPool::tls(uint32_t per_thread_bytes) {
  Result<uint64_t> bytes = tls_bytes_for(per_thread_bytes);
  if (!bytes.ok()) return Error(bytes.error());
  if (*bytes == 0) return ScratchBinding{};
  const uint32_t field = core::tls_size_field(per_thread_bytes);
  {
    std::lock_guard<std::mutex> g(lock_);
    ++stats_.requests;
    stats_.largest_tls_request = std::max(stats_.largest_tls_request, *bytes);
    if (current_[kTls].bo && current_[kTls].bo->size() >= *bytes) {
      ++stats_.hits;
      return bind_locked(kTls, *bytes, field, 0);
    }
  }
  return grow(kTls, *bytes, field, 0);
}

Result<ScratchBinding> ScratchPool::wls(uint32_t per_wg_bytes, uint32_t x, uint32_t y, uint32_t z,
                                        bool indirect) {
  Result<uint64_t> bytes = wls_bytes_for(per_wg_bytes, x, y, z, indirect);
  if (!bytes.ok()) return Error(bytes.error());
  if (*bytes == 0) return ScratchBinding{};
  const uint32_t field = wls_size_field(per_wg_bytes);
  const uint32_t instances = wls_instance_count(x, y, z, indirect);
  {
    std::lock_guard<std::mutex> g(lock_);
    ++stats_.requests;
    stats_.largest_wls_request = std::max(stats_.largest_wls_request, *bytes);
    if (current_[kWls].bo && current_[kWls].bo->size() >= *bytes) {
      ++stats_.hits;
      return bind_locked(kWls, *bytes, field, instances);
    }
  }
  return grow(kWls, *bytes, field, instances);
}

Result<ScratchBinding> ScratchPool::grow(Kind kind, uint64_t bytes, uint32_t size_field,
                                         uint32_t wls_instances) {
  ScratchBinding out;
  {
    std::lock_guard<std::mutex> gg(grow_lock_);
    {
      // Another thread may have grown it while we waited for grow_lock_.
      std::lock_guard<std::mutex> g(lock_);
      if (current_[kind].bo && current_[kind].bo->size() >= bytes) {
        ++stats_.hits;
        return bind_locked(kind, bytes, size_field, wls_instances);
      }
    }
    // Scratch is never read by the CPU in normal use, but stays mappable
    // (a mapping is only made on request) so tools and tests can look.
    Result<BoRef> bo =
        device_->bo_alloc(bytes, 0, kind == kTls ? "scratch:tls" : "scratch:wls");
    if (!bo.ok()) {
      WSYS_LOG(Scratch, "%s buffer of %llu bytes: %s", kind == kTls ? "TLS" : "WLS",
               static_cast<unsigned long long>(bytes), Error(bo.error()).message().c_str());
      return Error(bo.error());
    }
    std::lock_guard<std::mutex> g(lock_);
    Held old = std::move(current_[kind]);
    current_[kind] = Held{std::move(*bo), {}};
    if (old.bo) parked_.push_back(std::move(old));
    ++(kind == kTls ? stats_.tls_grows : stats_.wls_grows);
    ++stats_.grows;
    stats_.peak_bytes_held = std::max(stats_.peak_bytes_held, held_bytes_locked());
    WSYS_LOG(Scratch, "%s grows to %llu bytes (handle %u, va 0x%llx), %zu parked",
             kind == kTls ? "TLS" : "WLS",
             static_cast<unsigned long long>(current_[kind].bo->size()),
             current_[kind].bo->handle(),
             static_cast<unsigned long long>(current_[kind].bo->gpu_va()), parked_.size());
    out = bind_locked(kind, bytes, size_field, wls_instances);
  }
  // The buffer just retired may have no pending use at all: let it go now.
  (void)poll_uses(false);
  return out;
}

// --- uses -------------------------------------------------------------------

Result<void> ScratchPool::mark_used(const ScratchBinding& binding, SyncPoint done) {
  if (!binding.bo) return {};
  if (done.syncobj == 0) return Error(-EINVAL);
  if (&binding.bo->device() != device_.get()) return Error(-EINVAL);
  binding.bo->mark_used(done.syncobj, done.point);

  Bo* bo = binding.bo.get();
  bool poll = false, prune = false;
  {
    std::lock_guard<std::mutex> g(lock_);
    Held* held = nullptr;
    for (Held& h : current_)
      if (h.bo.get() == bo) held = &h;
    for (Held& h : parked_)
      if (h.bo.get() == bo) held = &h;
    if (!held) {
      // A binding taken before the pool let this buffer go (all its earlier
      // uses had signalled), used only now: track it again.
      parked_.push_back(Held{binding.bo, {}});
      held = &parked_.back();
      ++stats_.late_uses;
      stats_.peak_bytes_held = std::max(stats_.peak_bytes_held, held_bytes_locked());
    }
    held->uses.add(done);
    poll = !parked_.empty();
    prune = held->uses.size() >= prune_at_;
  }
  // While buffers are parked, each submission is a natural moment to check
  // them; a current buffer's list only grows with new syncobjs (binary
  // ones created per submission), so it is pruned when it gets long.
  if (poll || prune) (void)poll_uses(prune);
  return {};
}

size_t ScratchPool::poll_uses(bool prune_current) {
  std::unique_lock<std::mutex> pl(poll_lock_, std::try_to_lock);
  if (!pl.owns_lock()) return 0;  // someone else is polling right now

  // Snapshot what to ask, then ask the kernel without lock_ held. Parked
  // entries leave parked_ only here (under poll_lock_), so the Bo pointers
  // stay valid until we are done. A buffer is in one Held at a time, so
  // its Bo names the list a use came from.
  struct Asked {
    Bo* bo;
    PendingUses::Use use;
  };
  std::vector<Asked> snapshot;
  std::vector<Bo*> parked;
  {
    std::lock_guard<std::mutex> g(lock_);
    auto take = [&](const Held& h) {
      for (const PendingUses::Use& u : h.uses.entries()) snapshot.push_back({h.bo.get(), u});
    };
    for (const Held& h : parked_) {
      take(h);
      parked.push_back(h.bo.get());
    }
    if (prune_current)
      for (const Held& h : current_)
        if (h.bo) take(h);
  }
  std::vector<Asked> signalled;  // seen done (or gone)
  for (const Asked& a : snapshot)
    if (kmod::wait_point(device_->kmod(), a.use.syncobj, a.use.point, core::kPollDeadline).state !=
        kmod::PointState::Pending)
      signalled.push_back(a);
  // The Bo's own view too (its recorded uses, and where the kernel tracks
  // them its implicit fences from the jobs' BO lists): a use recorded only
  // with bo->mark_used() keeps the buffer parked as well, so the pool never
  // hands a busy buffer back to the device.
  std::vector<Bo*> busy;
  for (Bo* b : parked)
    if (b->busy()) busy.push_back(b);

  std::vector<BoRef> release;
  {
    std::lock_guard<std::mutex> g(lock_);
    // A use re-recorded since the snapshot (a newer seq) stays.
    std::vector<PendingUses::Use> done;
    auto drop_signalled = [&](Held& h) {
      done.clear();
      for (const Asked& a : signalled)
        if (a.bo == h.bo.get()) done.push_back(a.use);
      if (!done.empty()) h.uses.forget(done);
    };
    for (Held& h : parked_) drop_signalled(h);
    if (prune_current) {
      size_t longest = 0;
      for (Held& h : current_) {
        if (!h.bo) continue;
        drop_signalled(h);
        longest = std::max(longest, h.uses.size());
      }
      // Prune again only once the list has doubled: amortised O(1).
      prune_at_ = std::max<size_t>(16, 2 * longest);
    }
    for (auto it = parked_.begin(); it != parked_.end();) {
      // Only entries that were in the snapshot: one parked since then has
      // not been asked about yet.
      const bool asked = std::find(parked.begin(), parked.end(), it->bo.get()) != parked.end();
      const bool idle = std::find(busy.begin(), busy.end(), it->bo.get()) == busy.end();
      if (asked && idle && it->uses.empty()) {
        release.push_back(std::move(it->bo));
        it = parked_.erase(it);
      } else {
        ++it;
      }
    }
    stats_.released += release.size();
  }
  // Dropping the references returns the buffers to the device (its cache
  // or destruction, both of which may call the kernel): outside lock_.
  const size_t n = release.size();
  release.clear();
  return n;
}

size_t ScratchPool::reclaim() { return poll_uses(false); }

// --- statistics ---------------------------------------------------------------

uint64_t ScratchPool::held_bytes_locked() const {
  uint64_t n = 0;
  for (const Held& h : current_)
    if (h.bo) n += h.bo->size();
  for (const Held& h : parked_) n += h.bo->size();
  return n;
}

ScratchPoolStats ScratchPool::stats() const {
  std::lock_guard<std::mutex> g(lock_);
  ScratchPoolStats s = stats_;
  s.tls_bytes = current_[kTls].bo ? current_[kTls].bo->size() : 0;
  s.wls_bytes = current_[kWls].bo ? current_[kWls].bo->size() : 0;
  s.parked_buffers = parked_.size();
  s.parked_bytes = 0;
  for (const Held& h : parked_) s.parked_bytes += h.bo->size();
  s.bytes_held = held_bytes_locked();
  return s;
}

}  // namespace wsys
