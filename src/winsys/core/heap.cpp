// wsys::Heap (see include/wsys/heap.hpp and docs/scratch-and-heaps.md,
// "Heaps"): one kernel heap at a time, the HeapSizingPolicy deciding how
// much it commits when created and when it is worth recreating smaller.
//
// Locking: one mutex per Heap guards everything, including the kernel calls
// that create and destroy the kernel heap (rare: creation, shrinks,
// rebuilds); the calls a submission makes take it for a few loads. The idle
// check polls the pending uses without blocking. Only the destructor and
// recreate() wait for the GPU, bounded (core::kHeapIdleWaitNs).
//
// What the kernel object is (a tiler heap or a growable heap BO) is the
// backend's business (heap_backend.h); nothing here depends on it.
#include "wsys/heap.hpp"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <span>
#include <utility>

#include "winsys/core/debug_log.h"
#include "winsys/core/device_impl.h"
#include "winsys/core/heap_backend.h"
#include "winsys/core/heap_policy.h"
#include "winsys/core/sync_wait.h"
#include "winsys/core/trace.h"
#include "winsys/kmod/kmod.h"
#include "winsys/kmod/wait.h"
#include "wsys/device.hpp"

namespace wsys {

namespace {

constexpr uint32_t kChunkMinBytes = 128u << 10,
                   kChunkMaxBytes = 8u << 20;  // TILER_HEAP_CREATE's range

// The documented defaults are the device defaults: keep them equal.
static_assert(kHeapDefaultChunkBytes == kmod::TilerHeapCreateInfo{}.chunk_size_bytes);
static_assert(kHeapDefaultMaxChunks == kmod::TilerHeapCreateInfo{}.max_chunks);
static_assert(kHeapDefaultTargetInFlight == kmod::TilerHeapCreateInfo{}.target_in_flight);

}  // namespace

struct Heap::Impl {
  Impl(Device* d, kmod::Device& kd, const HeapConfig& c, std::unique_ptr<core::HeapBackend> b,
       core::HeapSizingPolicy pol)
      : dev(d), k(kd), cfg(c), backend(std::move(b)), policy(std::move(pol)) {
    dev->impl_->seg.heaps.fetch_add(1, std::memory_order_relaxed);
  }
  ~Impl() { dev->impl_->seg.heaps.fetch_sub(1, std::memory_order_relaxed); }

  Device* dev;
  kmod::Device& k;
  const HeapConfig& cfg;  // the owning Heap's config_
  std::unique_ptr<core::HeapBackend> backend;
  core::HeapSizingPolicy policy;

  mutable std::mutex lock;  // guards everything below
  std::unique_ptr<core::KernelHeap> kh;  // null: no kernel heap now
  uint64_t generation = 0;
  uint64_t max_used = 0;  // largest recorded usage since the current heap was created
  uint64_t peak_committed = 0;
  uint64_t last_frame = 0;
  uint64_t frames = 0, recreations = 0, shrink_failures = 0, rebuilds = 0;
  PendingUses uses;          // submissions not yet seen done
  uint64_t last_use_ns = 0;  // clock time of the last mark_used (or of the creation)
  uint32_t open_uses = 0;

  // All called with `lock` held.
  uint64_t commit_for_create() const { return backend->commit_for_create(policy.initial_commit()); }
  Result<std::unique_ptr<core::KernelHeap>> make_kernel() const;
  Result<void> create_kernel();
  void install(std::unique_ptr<core::KernelHeap> fresh, uint64_t now_ns);
  void destroy_kernel() {
    kh.reset();
    publish("heap_destroy");
  }
  // The committed bytes into the device's statistics; a trace event named
  // `what` when tracing and the figure changed (or the heap was replaced).
  void publish(const char* what, bool always = false);
  uint64_t published = 0;
  bool uses_pending();
  void wait_idle(int64_t abs_deadline_ns);
  HeapTarget target() const;
  uint64_t committed() const { return kh ? kh->committed_bytes(max_used) : 0; }
  void mark_used(SyncPoint done);
};

// ------------------------------------------------------------------ HeapUse

HeapUse::HeapUse(HeapUse&& o) noexcept
    : heap_(std::exchange(o.heap_, nullptr)),
      target_(o.target_),
      kernel_bo_(std::move(o.kernel_bo_)) {}

HeapUse& HeapUse::operator=(HeapUse&& o) noexcept {
  if (this != &o) {
    abandon();
    heap_ = std::exchange(o.heap_, nullptr);
    target_ = o.target_;
    kernel_bo_ = std::move(o.kernel_bo_);
  }
  return *this;
}

HeapUse::~HeapUse() { abandon(); }

void HeapUse::commit(SyncPoint done) {
  if (Heap* h = std::exchange(heap_, nullptr)) h->end_use(&done);
}

void HeapUse::abandon() {
  if (Heap* h = std::exchange(heap_, nullptr)) h->end_use(nullptr);
}

// --------------------------------------------------------------------- Heap

Result<std::unique_ptr<Heap>> Heap::create(std::shared_ptr<Device> device,
                                           const HeapConfig& config) {
  if (!device) return Error(-EINVAL);
  const uint32_t cs = config.chunk_size_bytes;
  if (cs < kChunkMinBytes || cs > kChunkMaxBytes || !std::has_single_bit(cs)) return Error(-EINVAL);
  if (config.max_chunks == 0 || config.fixed_initial_chunks > config.max_chunks)
    return Error(-EINVAL);
  kmod::Device& k = device->kmod();
  if (k.props().growable_heap == kmod::GrowableHeap::None) return Error(-EOPNOTSUPP);

  const uint64_t span = uint64_t{cs} * config.max_chunks;
  if (span > core::HeapSizingPolicy::kMaxHeapCommit) return Error(-EINVAL);

  // The backend reads the Heap's own copy of the config (it lives as long).
  std::unique_ptr<Heap> h(new Heap(std::move(device), config, HeapKind::TilerHeap));
  if (!h->config_.clock)
    h->config_.clock = [] { return static_cast<uint64_t>(kmod::monotonic_ns()); };
  // Every buffer wsys creates names its use (the kernel's BO label).
  if (h->config_.label.empty()) h->config_.label = "heap:tiler";
  std::unique_ptr<core::HeapBackend> backend = core::make_heap_backend(k, h->config_);
  h->kind_ = backend->kind();

  core::HeapPolicyConfig pc;
  pc.granule = backend->granule_bytes();
  pc.min_commit = pc.granule;
  pc.max_commit = backend->reserved_bytes();
  pc.history_frames = config.history_frames;
  pc.headroom = config.headroom;
  pc.idle_shrink_ns = config.idle_shrink_ns;
  pc.shrink_factor = config.shrink_factor;
  pc.cold_start_granules = config.cold_start_granules;
  Result<core::HeapSizingPolicy> policy = core::HeapSizingPolicy::create(pc);
  if (!policy.ok()) return Error(policy.error());

  h->impl_ = std::make_unique<Impl>(h->device_.get(), k, h->config_, std::move(backend),
                                    std::move(*policy));
  Impl& im = *h->impl_;
  std::lock_guard<std::mutex> g(im.lock);
  if (Result<void> r = im.create_kernel(); !r.ok()) return Error(r.error());
  return h;
}

Heap::Heap(std::shared_ptr<Device> device, const HeapConfig& config, HeapKind kind)
    : device_(std::move(device)), config_(config), kind_(kind) {}

Heap::~Heap() {
  if (!impl_) return;
  std::lock_guard<std::mutex> g(impl_->lock);
  assert(impl_->open_uses == 0 && "a HeapUse outlived its Heap");
  impl_->wait_idle(kmod::deadline_after_ns(core::kHeapIdleWaitNs));
  impl_->destroy_kernel();
}

// ----------------------------------------------------- Impl (lock held)

// A new kernel heap committing commit_for_create(); not yet current.
Result<std::unique_ptr<core::KernelHeap>> Heap::Impl::make_kernel() const {
  // The device VM's current kernel VM (Vm::recreate may have replaced it).
  std::shared_ptr<kmod::Vm> kvm = dev->vm().kernel_vm();
  return backend->create(*kvm, commit_for_create());
}

// Makes `fresh` the current heap (the old one must be gone).
void Heap::Impl::install(std::unique_ptr<core::KernelHeap> fresh, uint64_t now_ns) {
  kh = std::move(fresh);
  generation++;
  max_used = 0;
  last_use_ns = std::max(last_use_ns, now_ns);  // a new heap is not idle yet
  peak_committed = std::max(peak_committed, committed());
  publish("heap_create", true);
}

void Heap::Impl::publish(const char* what, bool always) {
  const uint64_t now = committed();
  const uint64_t before = published;
  if (now == before && !always) return;
  stats::Segment& seg = dev->impl_->seg;
  if (now > before) seg.heap_committed.fetch_add(now - before, std::memory_order_relaxed);
  else seg.heap_committed.fetch_sub(before - now, std::memory_order_relaxed);
  published = now;
  if (always) seg.heap_recreations.fetch_add(1, std::memory_order_relaxed);
  if (core::trace_on()) {
    core::trace_instant(what, {{"label", cfg.label}, {"committed_bytes", now},
                               {"before_bytes", before}, {"generation", generation}});
    dev->impl_->note_memory();
  }
}

Result<void> Heap::Impl::create_kernel() {
  Result<std::unique_ptr<core::KernelHeap>> fresh = make_kernel();
  if (!fresh.ok()) return Error(fresh.error());
  install(std::move(*fresh), cfg.clock());
  return {};
}

// True while a recorded use has not signalled (polls; forgets the done ones).
bool Heap::Impl::uses_pending() {
  if (uses.empty()) return false;
  std::vector<PendingUses::Use> done;
  const kmod::PointWait w = core::wait_uses(
      k, uses.entries(), core::kPollDeadline,
      [&](const PendingUses::Use& u, const kmod::PointWait& uw) {
        if (uw.state == kmod::PointState::Unknown)  // a syncobj the frontend destroyed
          WSYS_LOG(Heap, "%s: use of syncobj %u unknown (%s), taken as idle", cfg.label.c_str(),
                   u.syncobj, strerror(-uw.error));
        done.push_back(u);
      });
  uses.forget(done);
  return w.state == kmod::PointState::Pending;
}

void Heap::Impl::wait_idle(int64_t abs_deadline_ns) {
  if (uses.empty()) return;
  const kmod::PointWait w = core::wait_uses(k, uses.entries(), abs_deadline_ns,
                                            [](const PendingUses::Use&, const kmod::PointWait&) {});
  if (w.state == kmod::PointState::Pending)
    WSYS_LOG(Heap, "%s: waiting for the last use: %s; going on", cfg.label.c_str(),
             strerror(-w.error));
  uses.clear();
}

HeapTarget Heap::Impl::target() const {
  HeapTarget t;
  if (!kh) return t;
  t.generation = generation;
  kh->fill_target(t);
  return t;
}

void Heap::Impl::mark_used(SyncPoint done) {
  uses.add(done);
  last_use_ns = std::max(last_use_ns, cfg.clock());
}

// ------------------------------------------------------- public calls

Result<HeapUse> Heap::begin_use() {
  Impl& im = *impl_;
  std::lock_guard<std::mutex> g(im.lock);
  if (!im.kh) {
    if (Result<void> r = im.create_kernel(); !r.ok()) return Error(r.error());
    im.rebuilds++;
  }
  im.open_uses++;
  return HeapUse(this, im.target(), im.kh->bo());
}
void Heap::end_use(const SyncPoint* done) {
  Impl& im = *impl_;
  std::lock_guard<std::mutex> g(im.lock);
  im.open_uses--;
  if (done) im.mark_used(*done);
}

HeapTarget Heap::target() const {
  std::lock_guard<std::mutex> g(impl_->lock);
  return impl_->target();
}

void Heap::mark_used(SyncPoint done) {
  std::lock_guard<std::mutex> g(impl_->lock);
  impl_->mark_used(done);
}

void Heap::record_frame(uint64_t used_bytes, uint64_t generation) {
  Impl& im = *impl_;
  std::lock_guard<std::mutex> g(im.lock);
  im.policy.record_frame(used_bytes, config_.clock());
  im.frames++;
  im.last_frame = used_bytes;
  // A frame that ran on an earlier heap teaches the policy, not the current
  // heap's estimate.
  if (im.kh && (generation == 0 || generation == im.generation)) {
    im.max_used = std::max(im.max_used, used_bytes);
    im.peak_committed = std::max(im.peak_committed, im.committed());
    im.publish("heap_grow");
  }
}

Result<bool> Heap::maybe_shrink() { return maybe_shrink(config_.clock()); }

Result<bool> Heap::maybe_shrink(uint64_t now_ns) {
  Impl& im = *impl_;
  std::lock_guard<std::mutex> g(im.lock);
  if (!config_.idle_shrink || !im.kh || im.open_uses) return false;
  const uint64_t before = im.committed();
  // A heap that commits on demand is released whole once idle (see
  // HeapBackend::commits_on_demand); one that commits up front only when
  // clearly oversized.
  const bool shrink =
      im.backend->commits_on_demand()
          ? im.policy.should_release_idle(before, im.commit_for_create(), im.last_use_ns, now_ns)
          : im.policy.should_shrink(before, im.last_use_ns, now_ns);
  if (!shrink) return false;
  // A fixed initial count can sit above the recommendation: recreating at
  // the same size would free nothing.
  if (im.commit_for_create() >= before) return false;
  if (im.uses_pending()) return false;
  // The new heap first: if the kernel refuses it, the old one keeps working.
  Result<std::unique_ptr<core::KernelHeap>> fresh = im.make_kernel();
  if (!fresh.ok()) {
    im.shrink_failures++;
    return Error(fresh.error());
  }
  im.destroy_kernel();
  im.install(std::move(*fresh), now_ns);
  im.recreations++;
  WSYS_LOG(Heap, "%s: idle and oversized: %llu KiB -> %llu KiB committed (generation %llu)",
           config_.label.c_str(), static_cast<unsigned long long>(before >> 10),
           static_cast<unsigned long long>(im.committed() >> 10),
           static_cast<unsigned long long>(im.generation));
  return true;
}

Result<void> Heap::recreate() {
  Impl& im = *impl_;
  std::lock_guard<std::mutex> g(im.lock);
  if (im.open_uses) return Error(-EBUSY);
  im.wait_idle(kmod::deadline_after_ns(core::kHeapIdleWaitNs));
  im.destroy_kernel();
  im.rebuilds++;
  return im.create_kernel();
}

HeapStats Heap::stats() const {
  const Impl& im = *impl_;
  std::lock_guard<std::mutex> g(im.lock);
  HeapStats s;
  s.reserved_bytes = im.backend->reserved_bytes();
  s.committed_bytes = im.committed();
  s.peak_committed_bytes = im.peak_committed;
  s.initial_commit_bytes = im.kh ? im.kh->initial_commit_bytes() : 0;
  core::HeapPolicyStats ps = im.policy.stats();
  s.recommended_commit_bytes = ps.recommended_commit_bytes;
  s.window_peak_bytes = ps.window_peak_bytes;
  s.last_frame_bytes = im.last_frame;
  s.frames = im.frames;
  s.recreations = im.recreations;
  s.shrink_failures = im.shrink_failures;
  s.rebuilds = im.rebuilds;
  s.generation = im.generation;
  s.live = im.kh != nullptr;
  return s;
}

}  // namespace wsys
