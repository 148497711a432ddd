// wsys::Heap (see include/wsys/heap.hpp and docs/scratch-and-heaps.md,
// "Heaps"): one kernel heap at a time, the HeapSizingPolicy deciding how
// much it commits when created and when it is worth recreating smaller.
//
// Locking: one mutex per Heap guards everything, including the kernel calls
// that create and destroy the kernel heap (rare: creation, shrinks,
// rebuilds); the calls a submission makes take it for a few loads. The idle
// check polls a syncobj without blocking. Only the destructor and
// recreate() wait for the GPU, bounded.
#include "wsys/heap.hpp"

#include <time.h>

#include <algorithm>
#include <bit>
#include <cassert>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <span>
#include <utility>

#include "winsys/core/debug_log.h"
#include "winsys/core/heap_policy.h"
#include "winsys/kmod/kmod.h"
#include "wsys/device.hpp"

namespace wsys {

namespace {

constexpr uint64_t kFaultStep = uint64_t{2} << 20;  // panfrost commits heap pages per 2 MiB
constexpr uint32_t kChunkHeader = 64;               // panthor chunk header {u64 next; u32[14]}
constexpr uint32_t kChunkMin = 128u << 10, kChunkMax = 8u << 20;  // TILER_HEAP_CREATE's range
constexpr int64_t kIdleWaitNs = 5'000'000'000;      // destructor / recreate: bounded wait

// The documented defaults are the device defaults: keep them equal.
static_assert(kHeapDefaultChunkBytes == kmod::TilerHeapCreateInfo{}.chunk_size_bytes);
static_assert(kHeapDefaultMaxChunks == kmod::TilerHeapCreateInfo{}.max_chunks);
static_assert(kHeapDefaultTargetInFlight == kmod::TilerHeapCreateInfo{}.target_in_flight);

uint64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

uint64_t round_up(uint64_t v, uint64_t unit) { return (v + unit - 1) / unit * unit; }

bool is_pending(int err) { return err == -ETIME || err == -ETIMEDOUT || err == -EBUSY; }

// One kernel heap: a panthor tiler heap or a panfrost HEAP BO.
struct KernelHeap {
  kmod::TilerHeap tiler{};
  kmod::BoPtr bo;
  uint32_t initial_chunks = 0;
  uint64_t initial_commit = 0;  // bytes committed at creation
};

}  // namespace

struct Heap::Impl {
  Impl(Device* d, const HeapConfig& c, bool p, core::HeapSizingPolicy pol)
      : dev(d), cfg(c), panthor(p), policy(std::move(pol)) {}

  Device* dev;
  const HeapConfig& cfg;  // the owning Heap's config_
  const bool panthor;
  core::HeapSizingPolicy policy;
  uint64_t reserved = 0;  // chunk x max_chunks (panthor) / the HEAP BO size (panfrost)

  mutable std::mutex lock;  // guards everything below
  bool live = false;
  KernelHeap kh;
  uint64_t generation = 0;
  uint64_t max_used = 0;  // largest recorded usage since the current heap was created
  uint64_t peak_committed = 0;
  uint64_t last_frame = 0;
  uint64_t frames = 0, recreations = 0, shrink_failures = 0, rebuilds = 0;
  SyncPoint last_use{};
  bool use_pending = false;
  uint64_t last_use_ns = 0;  // clock time of the last mark_used (or of the creation)
  uint32_t open_uses = 0;

  // All called with `lock` held.
  uint64_t commit_for_create() const;
  Result<void> make_kernel(KernelHeap* out) const;
  Result<void> create_kernel();
  void install(KernelHeap fresh, uint64_t now_ns);
  void destroy_kernel();
  bool last_use_pending();
  void wait_idle(int64_t abs_deadline_ns);
  HeapTarget target() const;
  uint64_t committed() const;
  void mark_used(SyncPoint done);
};

// ------------------------------------------------------------------ HeapUse

HeapUse::HeapUse(HeapUse&& o) noexcept
    : heap_(std::exchange(o.heap_, nullptr)), target_(o.target_) {}

HeapUse& HeapUse::operator=(HeapUse&& o) noexcept {
  if (this != &o) {
    abandon();
    heap_ = std::exchange(o.heap_, nullptr);
    target_ = o.target_;
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

namespace {

// Waits for (syncobj, point) until the absolute deadline (0 polls).
// WAIT_FOR_SUBMIT: a point whose submission has not reached the kernel yet
// is pending, not an error. Returns 0 when signalled, the kernel's errno
// otherwise.
int wait_point(kmod::Device& k, SyncPoint p, int64_t deadline) {
  Result<void> w = k.syncobj_wait(
      std::span<const uint32_t>(&p.syncobj, 1),
      p.point ? std::span<const uint64_t>(&p.point, 1) : std::span<const uint64_t>(), deadline,
      true, true);
  return w.error();
}

// The committed estimate (heap.hpp): what the kernel keeps for a heap
// created with `kh` whose largest recorded usage is `max_used`.
uint64_t committed_for(bool panthor, const HeapConfig& c, uint64_t reserved, const KernelHeap& kh,
                       uint64_t max_used) {
  if (panthor) {
    const uint64_t payload = c.chunk_size_bytes - kChunkHeader;
    const uint64_t need = max_used / payload + (max_used % payload != 0);  // no overflow
    const uint64_t chunks = std::min<uint64_t>(std::max<uint64_t>(kh.initial_chunks, need),
                                               c.max_chunks);
    return chunks * c.chunk_size_bytes;
  }
  return round_up(std::min(max_used, reserved), kFaultStep);  // reserved: 2 MiB multiple
}

}  // namespace

Result<std::unique_ptr<Heap>> Heap::create(std::shared_ptr<Device> device,
                                           const HeapConfig& config) {
  if (!device) return Error(-EINVAL);
  const uint32_t cs = config.chunk_size_bytes;
  if (cs < kChunkMin || cs > kChunkMax || !std::has_single_bit(cs)) return Error(-EINVAL);
  if (config.max_chunks == 0 || config.fixed_initial_chunks > config.max_chunks)
    return Error(-EINVAL);
  const kmod::DeviceProps& props = device->kmod().props();
  const bool panthor = props.driver == kmod::Driver::Panthor;
  if (!panthor && !(props.supported_bo_flags & kmod::kBoAllocOnFault)) return Error(-EOPNOTSUPP);

  const uint64_t span = uint64_t{cs} * config.max_chunks;
  if (span > core::HeapSizingPolicy::kMaxHeapCommit) return Error(-EINVAL);
  core::HeapPolicyConfig pc;
  pc.granule = panthor ? cs : kFaultStep;
  pc.min_commit = pc.granule;
  pc.max_commit = panthor ? span : round_up(span, kFaultStep);
  pc.history_frames = config.history_frames;
  pc.headroom = config.headroom;
  pc.idle_shrink_ns = config.idle_shrink_ns;
  pc.shrink_factor = config.shrink_factor;
  pc.cold_start_granules = config.cold_start_granules;
  Result<core::HeapSizingPolicy> policy = core::HeapSizingPolicy::create(pc);
  if (!policy.ok()) return Error(policy.error());

  std::unique_ptr<Heap> h(new Heap(std::move(device), config, panthor));
  if (!h->config_.clock) h->config_.clock = monotonic_ns;
  h->impl_ = std::make_unique<Impl>(h->device_.get(), h->config_, panthor, std::move(*policy));
  Impl& im = *h->impl_;
  im.reserved = pc.max_commit;
  std::lock_guard<std::mutex> g(im.lock);
  if (Result<void> r = im.create_kernel(); !r.ok()) return Error(r.error());
  return h;
}

Heap::Heap(std::shared_ptr<Device> device, const HeapConfig& config, bool panthor)
    : device_(std::move(device)), config_(config), panthor_(panthor) {}

Heap::~Heap() {
  if (!impl_) return;
  std::lock_guard<std::mutex> g(impl_->lock);
  assert(impl_->open_uses == 0 && "a HeapUse outlived its Heap");
  impl_->wait_idle(static_cast<int64_t>(monotonic_ns()) + kIdleWaitNs);
  impl_->destroy_kernel();
}

// ----------------------------------------------------- Impl (lock held)

uint64_t Heap::Impl::commit_for_create() const {
  if (panthor && cfg.fixed_initial_chunks)
    return uint64_t{cfg.fixed_initial_chunks} * cfg.chunk_size_bytes;
  return panthor ? policy.initial_commit() : 0;  // a HEAP BO starts empty whatever we want
}

// A new kernel heap committing commit_for_create(); not yet current.
Result<void> Heap::Impl::make_kernel(KernelHeap* out) const {
  KernelHeap made;
  kmod::Device& k = dev->kmod();
  if (panthor) {
    const uint64_t cs = cfg.chunk_size_bytes;
    const uint64_t n = std::clamp<uint64_t>((commit_for_create() + cs - 1) / cs, 1, cfg.max_chunks);
    kmod::TilerHeapCreateInfo ci;
    ci.initial_chunk_count = static_cast<uint32_t>(n);
    ci.chunk_size_bytes = cfg.chunk_size_bytes;
    ci.max_chunks = cfg.max_chunks;
    ci.target_in_flight = cfg.target_in_flight;
    Result<kmod::TilerHeap> t = k.tiler_heap_create(dev->vm().kmod(), ci);
    if (!t.ok()) {
      WSYS_LOG(Heap, "%s: TILER_HEAP_CREATE (%u chunks) failed: %s", cfg.label.c_str(),
               ci.initial_chunk_count, strerror(-t.error()));
      return Error(t.error());
    }
    made.tiler = *t;
    made.initial_chunks = ci.initial_chunk_count;
    made.initial_commit = n * cs;
    WSYS_LOG(Heap, "%s: tiler heap %#x: %u x %u KiB chunks committed, max %u", cfg.label.c_str(),
             made.tiler.handle, ci.initial_chunk_count, cfg.chunk_size_bytes >> 10,
             cfg.max_chunks);
  } else {
    Result<kmod::BoPtr> b = k.bo_create(reserved, kmod::kBoAllocOnFault | kmod::kBoNoMmap);
    if (!b.ok()) {
      WSYS_LOG(Heap, "%s: HEAP BO of %llu MiB failed: %s", cfg.label.c_str(),
               static_cast<unsigned long long>(reserved >> 20), strerror(-b.error()));
      return Error(b.error());
    }
    made.bo = std::move(*b);
    if (!cfg.label.empty()) (void)k.bo_set_label(*made.bo, cfg.label);  // best effort
    WSYS_LOG(Heap, "%s: HEAP BO %u at %#llx, %llu MiB reserved", cfg.label.c_str(),
             made.bo->handle(), static_cast<unsigned long long>(made.bo->kernel_va()),
             static_cast<unsigned long long>(made.bo->size() >> 20));
  }
  *out = std::move(made);
  return {};
}

// Makes `fresh` the current heap (the old one must be gone).
void Heap::Impl::install(KernelHeap fresh, uint64_t now_ns) {
  kh = std::move(fresh);
  live = true;
  generation++;
  max_used = 0;
  last_use_ns = std::max(last_use_ns, now_ns);  // a new heap is not idle yet
  peak_committed = std::max(peak_committed, committed());
}

Result<void> Heap::Impl::create_kernel() {
  KernelHeap fresh;
  if (Result<void> r = make_kernel(&fresh); !r.ok()) return r;
  install(std::move(fresh), cfg.clock());
  return {};
}

void Heap::Impl::destroy_kernel() {
  if (!live) return;
  live = false;
  KernelHeap old = std::exchange(kh, KernelHeap{});
  if (panthor) {
    // -EINVAL when the VM went first (Vm::recreate): the heap went with it.
    Result<void> r = dev->kmod().tiler_heap_destroy(old.tiler.handle);
    if (!r.ok())
      WSYS_LOG(Heap, "%s: TILER_HEAP_DESTROY %#x: %s", cfg.label.c_str(), old.tiler.handle,
               strerror(-r.error()));
  }
  // panfrost: dropping the last reference closes the GEM handle; the kernel
  // keeps the object for jobs that still list it.
}

// True while the last recorded use has not signalled (polls).
bool Heap::Impl::last_use_pending() {
  if (!use_pending) return false;
  int e = wait_point(dev->kmod(), last_use, 0);
  if (is_pending(e)) return true;
  if (e)  // a syncobj the frontend destroyed: nothing can still be waiting on it
    WSYS_LOG(Heap, "%s: last use (syncobj %u) unknown (%s), taken as idle", cfg.label.c_str(),
             last_use.syncobj, strerror(-e));
  use_pending = false;
  return false;
}

void Heap::Impl::wait_idle(int64_t abs_deadline_ns) {
  if (!use_pending) return;
  int e = wait_point(dev->kmod(), last_use, abs_deadline_ns);
  if (e)
    WSYS_LOG(Heap, "%s: waiting for the last use: %s; going on", cfg.label.c_str(),
             strerror(-e));
  use_pending = false;
}

HeapTarget Heap::Impl::target() const {
  HeapTarget t;
  if (!live) return t;
  t.generation = generation;
  if (panthor) {
    t.handle = kh.tiler.handle;
    t.context_va = kh.tiler.context_va;
    t.first_chunk_va = kh.tiler.first_chunk_va;
  } else {
    t.handle = kh.bo->handle();
    t.heap_va = kh.bo->kernel_va();
    t.heap_size = kh.bo->size();
    t.bo = kh.bo.get();
  }
  return t;
}

uint64_t Heap::Impl::committed() const {
  if (!live) return 0;
  return committed_for(panthor, cfg, reserved, kh, max_used);
}

void Heap::Impl::mark_used(SyncPoint done) {
  last_use = done;
  use_pending = done.syncobj != 0;
  last_use_ns = std::max(last_use_ns, cfg.clock());
}

// ------------------------------------------------------- public calls

Result<HeapUse> Heap::begin_use() {
  Impl& im = *impl_;
  std::lock_guard<std::mutex> g(im.lock);
  if (!im.live) {
    if (Result<void> r = im.create_kernel(); !r.ok()) return Error(r.error());
    im.rebuilds++;
  }
  im.open_uses++;
  return HeapUse(this, im.target());
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
  if (im.live && (generation == 0 || generation == im.generation)) {
    im.max_used = std::max(im.max_used, used_bytes);
    im.peak_committed = std::max(im.peak_committed, im.committed());
  }
}

Result<bool> Heap::maybe_shrink() { return maybe_shrink(config_.clock()); }

Result<bool> Heap::maybe_shrink(uint64_t now_ns) {
  Impl& im = *impl_;
  std::lock_guard<std::mutex> g(im.lock);
  if (!config_.idle_shrink || !im.live || im.open_uses) return false;
  const uint64_t before = im.committed();
  if (!im.policy.should_shrink(before, im.last_use_ns, now_ns)) return false;
  // A fixed initial count can sit above the recommendation: recreating at
  // the same size would free nothing.
  if (im.commit_for_create() >= before) return false;
  if (im.last_use_pending()) return false;
  // The new heap first: if the kernel refuses it, the old one keeps working.
  KernelHeap fresh;
  if (Result<void> r = im.make_kernel(&fresh); !r.ok()) {
    im.shrink_failures++;
    return Error(r.error());
  }
  im.destroy_kernel();
  im.install(std::move(fresh), now_ns);
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
  im.wait_idle(static_cast<int64_t>(monotonic_ns()) + kIdleWaitNs);
  im.destroy_kernel();
  im.rebuilds++;
  return im.create_kernel();
}

HeapStats Heap::stats() const {
  const Impl& im = *impl_;
  std::lock_guard<std::mutex> g(im.lock);
  HeapStats s;
  s.reserved_bytes = im.reserved;
  s.committed_bytes = im.committed();
  s.peak_committed_bytes = im.peak_committed;
  s.initial_commit_bytes = im.live ? im.kh.initial_commit : 0;
  core::HeapPolicyStats ps = im.policy.stats();
  s.recommended_commit_bytes = ps.recommended_commit_bytes;
  s.window_peak_bytes = ps.window_peak_bytes;
  s.last_frame_bytes = im.last_frame;
  s.frames = im.frames;
  s.recreations = im.recreations;
  s.shrink_failures = im.shrink_failures;
  s.rebuilds = im.rebuilds;
  s.generation = im.generation;
  s.live = im.live;
  return s;
}

}  // namespace wsys
