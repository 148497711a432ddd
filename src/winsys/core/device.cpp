// wsys::Device: opening, buffer allocation through the cache, import,
// release, statistics and its maintenance pass (run by maintenance.cpp). The device VM's
// addresses are in device_va.cpp.
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "winsys/core/debug_log.h"
#include "winsys/core/device_impl.h"
#include "winsys/core/settings.h"
#include "winsys/core/trace.h"
#include "winsys/kmod/open.h"
#include "winsys/kmod/wait.h"
#include "wsys/scratch.hpp"

namespace wsys {

namespace {

// WSYS_BO_CACHE_MAX, WSYS_BO_CACHE_MAX_BO (sizes), WSYS_BO_CACHE_HALF_LIFE_MS
// (a count of milliseconds). A bad value is reported and ignored.
void apply_cache_env(BoCacheConfig& c) {
  constexpr const char* kSize = "a size (decimal bytes, optional K/M/G suffix, e.g. 64M)";
  constexpr const char* kMs = "a whole number of milliseconds";
  if (auto v = core::read_setting("WSYS_BO_CACHE_MAX", core::parse_size_setting, kSize))
    c.max_cached_bytes = *v;
  if (auto v = core::read_setting("WSYS_BO_CACHE_MAX_BO", core::parse_size_setting, kSize))
    c.max_bo_size = *v;
  if (auto v = core::read_setting("WSYS_BO_CACHE_HALF_LIFE_MS", core::parse_count_setting, kMs)) {
    if (*v > UINT64_MAX / 1000000ull)
      std::fprintf(stderr, "wsys: WSYS_BO_CACHE_HALF_LIFE_MS: %llu ms is too long; ignored\n",
                   static_cast<unsigned long long>(*v));
    else
      c.decay_half_life_ns = *v * 1000000ull;
  }
}

uint32_t kmod_flags(uint32_t alloc_flags) {
  uint32_t f = 0;
  if (alloc_flags & kAllocExecutable) f |= kmod::kBoExecutable;
  if (alloc_flags & kAllocNoMmap) f |= kmod::kBoNoMmap;
  if (alloc_flags & kAllocGpuUncached) f |= kmod::kBoGpuUncached;
  if (alloc_flags & kAllocCpuCached) f |= kmod::kBoCpuCached;
  return f;
}

}  // namespace

// --- the cache backend --------------------------------------------------

bool DeviceCacheBackend::busy(BoCacheHook& e) { return core::bo_from_hook(&e)->busy(); }

Result<bool> DeviceCacheBackend::make_evictable(BoCacheHook& e) {
  Bo* bo = core::bo_from_hook(&e);
  return dev_.kmod().bo_make_evictable(*bo->kbo_);
}

Result<bool> DeviceCacheBackend::make_unevictable(BoCacheHook& e) {
  Bo* bo = core::bo_from_hook(&e);
  return dev_.kmod().bo_make_unevictable(*bo->kbo_);
}

void DeviceCacheBackend::drop_cpu_mapping(BoCacheHook& e) {
  Bo* bo = core::bo_from_hook(&e);
  // Most cached buffers were never mapped: no read-modify-write for them.
  if (!bo->cpu_.load(std::memory_order_relaxed)) return;
  if (void* p = bo->cpu_.exchange(nullptr, std::memory_order_acq_rel))
    (void)dev_.kmod().bo_munmap(*bo->kbo_, p);
}

void DeviceCacheBackend::destroy(BoCacheHook& e) { dev_.destroy_bo(core::bo_from_hook(&e)); }

uint64_t DeviceCacheBackend::now_ns() {
  // Coarse: the cache reads the clock on every take and put, and its
  // decisions are on the scale of the decay half-life (default 1 s).
  return clock ? clock() : static_cast<uint64_t>(kmod::monotonic_coarse_ns());
}

// --- opening --------------------------------------------------------------

Device::Device(std::unique_ptr<kmod::Device> kdev)
    : kdev_(std::move(kdev)), impl_(std::make_unique<Impl>(*this)) {}

Result<std::shared_ptr<Device>> Device::create(std::unique_ptr<kmod::Device> kdev,
                                               const DeviceOptions& options) {
  if (!kdev) return Error(-EINVAL);
  std::shared_ptr<Device> d(new Device(std::move(kdev)));
  if (Result<void> r = d->init(options); !r.ok()) return Error(r.error());
  return d;
}

Result<std::shared_ptr<Device>> Device::open(const DeviceOptions& options, std::string* why) {
  Result<std::unique_ptr<kmod::Device>> k = kmod::open_default_device(why);
  if (!k.ok()) return Error(k.error());
  return create(std::move(*k), options);
}

Result<std::shared_ptr<Device>> Device::open(std::string_view spec, const DeviceOptions& options,
                                             std::string* why) {
  Result<std::unique_ptr<kmod::Device>> k = kmod::open_device(spec, why);
  if (!k.ok()) return Error(k.error());
  return create(std::move(*k), options);
}

Result<std::shared_ptr<Device>> Device::from_fd(int fd, const DeviceOptions& options) {
  Result<std::unique_ptr<kmod::Device>> k = kmod::open_device_fd(fd);
  if (!k.ok()) return Error(k.error());
  return create(std::move(*k), options);
}

Result<void> Device::init(const DeviceOptions& options) {
  impl_->options = options;
  impl_->backend.clock = options.clock;
  const kmod::DeviceProps& p = kdev_->props();

  if (Result<void> r = DeviceVa::init(*this); !r.ok()) return r;

  info_.node = kdev_->file().node_name();
  info_.driver = p.version.name;
  info_.driver_major = p.version.major;
  info_.driver_minor = p.version.minor;
  info_.model = kdev_->file().is_model();
  info_.memory_bytes = kdev_->file().memory_bytes();
  if (info_.memory_bytes == 0) {
    long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
    uint64_t ram = pages > 0 && psize > 0
                       ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(psize)
                       : uint64_t{4} << 30;
    info_.memory_bytes = ram / 4 * 3;
  }
  info_.gpu_id = p.gpu_id;
  info_.arch_major = p.arch_major();
  info_.core_count = p.core_count();
  info_.core_id_range = p.core_id_range();
  info_.va_bits = p.va_bits;
  info_.va_start = vm_->user_va_start();
  info_.va_end = vm_->user_va_end();
  info_.kernel_managed_va = p.kernel_managed_va;
  info_.madvise = p.has_madvise;
  info_.timeline_syncobj = p.has_timeline_syncobj;
  info_.sparse_map = p.has_sparse_map;
  info_.host_import = p.has_host_import;
  info_.udmabuf = p.has_udmabuf;
  info_.shared_buffers = p.has_deferred_alloc;
  info_.coherent = p.selected_coherency != kmod::DeviceProps::kCoherencyNone;
  info_.cpu_cached_mappings = p.has_wb_mmap && p.has_cache_maintenance;
  long page = sysconf(_SC_PAGESIZE);
  info_.page_size_bytes = page > 0 ? static_cast<uint64_t>(page) : 4096;
  info_.gpu_page_bytes = p.gpu_page_bytes();

  BoCacheConfig cc = options.cache;
  if (options.cache_from_env) apply_cache_env(cc);
  // Keep CPU mappings of cached buffers only where the kernel could not
  // purge them anyway (no madvise): unmapping costs a remap on reuse.
  if (options.keep_cpu_mapping.has_value()) cc.keep_cpu_mapping = *options.keep_cpu_mapping;
  else cc.keep_cpu_mapping = !info_.madvise;
  cc.lazy_madvise = options.lazy_madvise;
  cache_ = std::make_unique<BoCache>(impl_->backend, info_.page_size_bytes, cc);
  // Where the kernel purges cached buffers for free (madvise) there is no
  // cost to leave to it; elsewhere it would swap them out or fail.
  impl_->trim_under_pressure = options.trim_cache_under_pressure && !info_.madvise;
  cache_->mirror_totals(&impl_->seg.cache_entries, &impl_->seg.bytes_cached,
                        &impl_->seg.cache_puts);
  impl_->pub.publish(info_.node, info_.driver);
  impl_->counter_name = "memory (device " + std::to_string(impl_->seg.device_index) + ")";

  if (options.maintenance_thread) {
    // A pass: maintain(), then again after a quarter of a half-life (the
    // curve followed in small steps) while anything is cached or a VA is
    // parked; otherwise idle until a release caches something. `idle` is
    // stored before the last look, so a release that misses it left its
    // buffer where this look sees it.
    impl_->maint.run = [this]() -> std::chrono::nanoseconds {
      maintain();
      impl_->maint.idle.store(true, std::memory_order_seq_cst);
      if (cache_->bytes_cached() == 0 && !DeviceVa::pending(*this)) return {};
      impl_->maint.idle.store(false, std::memory_order_relaxed);
      const uint64_t hl = cache_->config().decay_half_life_ns;
      return std::chrono::nanoseconds(
          std::clamp<uint64_t>(hl / 4, 10'000'000ull, 1'000'000'000ull));
    };
    impl_->maint.idle.store(true, std::memory_order_relaxed);
    core::maintenance_add(&impl_->maint);
    impl_->maint_registered = true;
  }
  WSYS_LOG(Bo, "device %s: %s %d.%d va [0x%llx, 0x%llx) madvise=%d", info_.node.c_str(),
           info_.driver.c_str(), info_.driver_major, info_.driver_minor,
           static_cast<unsigned long long>(info_.va_start),
           static_cast<unsigned long long>(info_.va_end), info_.madvise);
  return {};
}

Device::~Device() {
  if (impl_->maint_registered) core::maintenance_remove(&impl_->maint);
  cache_.reset();  // destroys every cached buffer (their VAs unmapped)
  DeviceVa::fini(*this);
}

// --- allocation -------------------------------------------------------------

Result<BoRef> Device::bo_alloc(uint64_t size_bytes, uint32_t flags, std::string_view label) {
  // Every buffer carries a label naming its use (the kernel's BO label,
  // where it has them): callers that give none get this one.
  if (label.empty()) label = kUnnamedLabel;
  const uint64_t size = size_bytes;
  if (size == 0 || (flags & ~kAllocAllFlags)) return Error(-EINVAL);
  if (size > (1ull << 48)) return Error(-ENOMEM);  // no VA space is that large
  if ((flags & kAllocCpuCached) && (!info_.cpu_cached_mappings || (flags & kAllocNoMmap)))
    return Error((flags & kAllocNoMmap) ? -EINVAL : -EOPNOTSUPP);
  core::TraceSpan span("bo_alloc");
  const uint32_t buf_flags = flags & kAllocBufferFlags;
  const bool use_cache = !(flags & kAllocNoCache) && !((flags & kAllocZeroed) && (flags & kAllocNoMmap));
  const uint64_t rounded = use_cache
                               ? cache_->round_size(size)
                               : (size + info_.page_size_bytes - 1) & ~(info_.page_size_bytes - 1);

  Bo* bo = nullptr;
  bool hit = false;
  if (use_cache && cache_->cacheable(rounded, buf_flags)) {
    if (BoCacheHook* h = cache_->take(rounded, buf_flags)) {
      bo = core::bo_from_hook(h);
      hit = true;
      bo->refs_.store(1, std::memory_order_relaxed);
      bo->requested_ = size;
      bo->no_cache_ = false;
    }
  }
  if (!bo) {
    relieve_pressure(rounded);
    // Not created private to the VM (exclusive_vm), even when not
    // shareable: Vm::recreate() must be able to map it into a new VM.
    Result<std::shared_ptr<kmod::Bo>> kb = kdev_->bo_create(rounded, kmod_flags(flags), nullptr);
    // Cached memory may be what the kernel is short of: drop it, retry once.
    // Where the kernel maps every buffer into the file's VA at creation,
    // cached buffers also hold GPU VA, and a full VA is -ENOSPC.
    if (!kb.ok() && (kb.error() == -ENOMEM || (kb.error() == -ENOSPC && info_.kernel_managed_va))) {
      const int first_error = kb.error();
      uint64_t freed = cache_->trim(UINT64_MAX);
      impl_->alloc_retries.fetch_add(1, std::memory_order_relaxed);
      WSYS_LOG(Bo, "alloc size=%llu: %s, dropped %llu cached bytes, retrying",
               static_cast<unsigned long long>(rounded),
               first_error == -ENOMEM ? "-ENOMEM" : "-ENOSPC (VA full)",
               static_cast<unsigned long long>(freed));
      kb = kdev_->bo_create(rounded, kmod_flags(flags), nullptr);
    }
    if (!kb.ok()) return Error(kb.error());
    impl_->bo_creates.fetch_add(1, std::memory_order_relaxed);
    bo = new Bo(this, std::move(*kb), size, buf_flags);
    bo->no_cache_ = !use_cache;
    if (Result<void> r = DeviceVa::map(*this, *bo); !r.ok()) {
      delete bo;  // closes the GEM handle
      impl_->bo_destroys.fetch_add(1, std::memory_order_relaxed);
      return Error(r.error());
    }
  }
  bo->device_ref_ = shared_from_this();

  if (hit && (flags & kAllocZeroed)) {
    Result<void*> m = bo->map();
    if (m.ok()) {
      std::memset(*m, 0, bo->size());
      impl_->zero_fills.fetch_add(1, std::memory_order_relaxed);
    } else {
      BoRef(BoRef::adopt(bo)).reset();  // back to the cache (or destroyed)
      return Error(m.error());
    }
  }
  // Labels are debugging aids: a kernel without them is not an error here.
  // The Bo is ours alone until returned, so its label is read unlocked.
  if (bo->label_ != label) (void)bo->set_label(label);

  impl_->count_in(*bo, size, label,
                  !use_cache ? Impl::CacheUse::kNone
                  : hit      ? Impl::CacheUse::kHit
                             : Impl::CacheUse::kMiss,
                  true);
  if (span) {
    span.end({{"size", bo->size()}, {"asked", size}, {"hit", hit}, {"label", label},
              {"handle", bo->handle()}});
    impl_->note_memory();
  }
  WSYS_LOG(Bo, "alloc handle=%u size=%llu (asked %llu) flags=0x%x va=0x%llx %s label=%.*s",
           bo->handle(), static_cast<unsigned long long>(bo->size()),
           static_cast<unsigned long long>(size), flags,
           static_cast<unsigned long long>(bo->gpu_va()), hit ? "hit" : "new",
           static_cast<int>(label.size()), label.data());
  return BoRef::adopt(bo);
}

Result<BoRef> Device::bo_import(int fd) {
  if (fd < 0) return Error(-EBADF);
  std::lock_guard<std::mutex> g(impl_->share_lock);
  Result<std::shared_ptr<kmod::Bo>> kb = kdev_->bo_import(fd);
  if (!kb.ok()) return Error(kb.error());
  auto it = impl_->shared.find((*kb)->handle());
  if (it != impl_->shared.end()) {
    Bo* existing = it->second;
    // Revive only a Bo that still has users; one whose last reference is
    // going is left to die and replaced below (it shares the kmod Bo, so
    // the GEM handle stays open).
    uint32_t r = existing->refs_.load(std::memory_order_relaxed);
    while (r != 0 &&
           !existing->refs_.compare_exchange_weak(r, r + 1, std::memory_order_acq_rel)) {
    }
    if (r != 0) return BoRef::adopt(existing);
  }
  Bo* bo = new Bo(this, std::move(*kb), 0, kAllocShareable);
  bo->imported_ = true;
  bo->hook_.shared = true;
  bo->no_cache_ = true;
  bo->requested_ = bo->size();
  if (Result<void> r = DeviceVa::map(*this, *bo); !r.ok()) {
    delete bo;
    return Error(r.error());
  }
  impl_->shared[bo->handle()] = bo;
  bo->device_ref_ = shared_from_this();
  impl_->imports.fetch_add(1, std::memory_order_relaxed);
  // Imported buffers have no label slot (count_in skips them).
  impl_->count_in(*bo, bo->size(), {}, Impl::CacheUse::kNone, true);
  WSYS_LOG(Bo, "import fd=%d handle=%u size=%llu va=0x%llx", fd, bo->handle(),
           static_cast<unsigned long long>(bo->size()),
           static_cast<unsigned long long>(bo->gpu_va()));
  return BoRef::adopt(bo);
}

void Device::release(Bo* bo) {
  core::TraceSpan span("bo_free");
  impl_->count_out(*bo);
  if (bo->hook_.shared) {
    std::lock_guard<std::mutex> g(impl_->share_lock);
    auto it = impl_->shared.find(bo->handle());
    if (it != impl_->shared.end() && it->second == bo) impl_->shared.erase(it);
  }
  const uint64_t size = bo->size();
  const bool cacheable = !bo->hook_.shared && !bo->no_cache_;
  // A write-back CPU mapping on a GPU that does not snoop may still hold
  // dirty lines of this user's: cleaned and dropped before the buffer can
  // be reused, so none lands later on what the next user (or the GPU)
  // wrote. No ioctl on a coherent device or for an uncached buffer.
  if (cacheable && (bo->flags_ & kAllocCpuCached) && !info_.coherent)
    (void)bo->invalidate(0, size);
  if (!cacheable || !cache_->put(bo->hook_)) {
    destroy_bo(bo);
    if (span) {
      span.end({{"size", size}, {"cached", false}});
      impl_->note_memory();
    }
    return;
  }
  if (span) {
    span.end({{"size", size}, {"cached", true}});
    impl_->note_memory();
  }
  if (impl_->maint.idle.load(std::memory_order_relaxed) &&
      impl_->maint.idle.exchange(false, std::memory_order_relaxed))
    core::maintenance_wake(&impl_->maint);
}

void Device::destroy_bo(Bo* bo) {
  WSYS_LOG(Bo, "destroy handle=%u size=%llu va=0x%llx", bo->handle(),
           static_cast<unsigned long long>(bo->size()),
           static_cast<unsigned long long>(bo->gpu_va()));
  if (void* p = bo->cpu_.exchange(nullptr)) (void)kdev_->bo_munmap(*bo->kbo_, p);
  DeviceVa::unmap(*this, *bo);
  if (bo->host_addr_) {
    std::lock_guard<std::mutex> g(impl_->host_lock);
    auto [first, last] = impl_->host_live.equal_range(bo->host_addr_);
    for (auto it = first; it != last; ++it) {
      if (it->second == bo->host_addr_ + bo->size()) {
        impl_->host_live.erase(it);
        break;
      }
    }
  }
  delete bo;  // drops the kmod Bo: GEM_CLOSE once nothing else holds it
  impl_->bo_destroys.fetch_add(1, std::memory_order_relaxed);
}

uint64_t Device::trim(uint64_t bytes) {
  core::TraceSpan span("cache_trim");
  uint64_t freed = cache_->trim(bytes);
  DeviceVa::reclaim(*this, false);
  impl_->seg.cache_trims.fetch_add(1, std::memory_order_relaxed);
  impl_->note_cache();
  if (span) {
    span.end({{"asked", bytes}, {"freed", freed}});
    impl_->note_memory();
  }
  return freed;
}

void Device::relieve_pressure(uint64_t need) {
  if (!impl_->trim_under_pressure) return;
  const uint64_t cached = cache_->bytes_cached();
  if (cached == 0) return;
  const uint64_t avail = kdev_->memory_available();
  if (avail == UINT64_MAX) return;
  const uint64_t want = need + info_.memory_bytes / 32;
  if (avail >= want) return;
  core::TraceSpan span("cache_trim_pressure");
  const uint64_t freed = cache_->trim(want - avail);
  impl_->note_cache();
  if (span) {
    span.end({{"available", avail}, {"wanted", want}, {"freed", freed}});
    impl_->note_memory();
  }
  if (!freed) return;
  impl_->pressure_trims.fetch_add(1, std::memory_order_relaxed);
  impl_->pressure_trimmed_bytes.fetch_add(freed, std::memory_order_relaxed);
  WSYS_LOG(Cache, "pressure: %llu KiB available, %llu KiB wanted: trimmed %llu KiB of %llu KiB cached",
           static_cast<unsigned long long>(avail >> 10), static_cast<unsigned long long>(want >> 10),
           static_cast<unsigned long long>(freed >> 10), static_cast<unsigned long long>(cached >> 10));
}

void Device::user_queue_added(const Vm& vm) {
  if (&vm != vm_.get()) return;
  std::lock_guard<std::mutex> g(impl_->uq_lock);
  if (impl_->device_vm_queues++ != 0) return;
  BoCacheConfig c = cache_->config();
  impl_->cache_cap_before = c.max_cached_bytes;
  const uint64_t cap = impl_->options.user_queue_cache_bytes;
  if (c.max_cached_bytes <= cap) return;
  const uint64_t before = cache_->bytes_cached();
  c.max_cached_bytes = cap;
  cache_->set_config(c);  // evicts down to the cap
  DeviceVa::reclaim(*this, false);
  const uint64_t after = cache_->bytes_cached();
  impl_->uq_cache_trims.fetch_add(1, std::memory_order_relaxed);
  impl_->uq_cache_trimmed_bytes.fetch_add(before > after ? before - after : 0,
                                          std::memory_order_relaxed);
  impl_->note_cache();
  WSYS_LOG(Cache, "user queue on the device VM: cache capped at %llu KiB (was %llu KiB), %llu KiB freed",
           static_cast<unsigned long long>(cap >> 10),
           static_cast<unsigned long long>(impl_->cache_cap_before >> 10),
           static_cast<unsigned long long>((before > after ? before - after : 0) >> 10));
}

void Device::user_queue_removed(const Vm& vm) {
  if (&vm != vm_.get()) return;
  std::lock_guard<std::mutex> g(impl_->uq_lock);
  if (impl_->device_vm_queues == 0 || --impl_->device_vm_queues != 0) return;
  BoCacheConfig c = cache_->config();
  // Only undo our own cap (set_config may have changed it meanwhile).
  if (c.max_cached_bytes == impl_->options.user_queue_cache_bytes &&
      impl_->cache_cap_before > c.max_cached_bytes) {
    c.max_cached_bytes = impl_->cache_cap_before;
    cache_->set_config(c);
    WSYS_LOG(Cache, "last user queue on the device VM gone: cache cap back at %llu KiB",
             static_cast<unsigned long long>(c.max_cached_bytes >> 10));
  }
}

void Device::maintain() {
  relieve_pressure(0);
  core::TraceSpan span("cache_decay");
  const uint64_t before = impl_->seg.bytes_cached.load(std::memory_order_relaxed);
  cache_->decay();
  DeviceVa::reclaim(*this, false);
  impl_->note_cache();
  const uint64_t after = impl_->seg.bytes_cached.load(std::memory_order_relaxed);
  if (span && after != before) {  // only the passes that evicted something
    span.end({{"freed", before > after ? before - after : 0}});
    impl_->note_memory();
  }
}

// --- the live statistics and the trace's counters --------------------------

namespace {
// A word only ever written under count_lock: a relaxed load and store, no
// locked read-modify-write.
void bump(stats::Counter& c, uint64_t delta) {
  c.store(c.load(std::memory_order_relaxed) + delta, std::memory_order_relaxed);
}
void drop(stats::Counter& c, uint64_t delta) {
  c.store(c.load(std::memory_order_relaxed) - delta, std::memory_order_relaxed);
}
}  // namespace

void Device::Impl::count_in(Bo& bo, uint64_t requested, std::string_view label, CacheUse use,
                            bool peak) {
  // The Bo is the caller's alone here: its label fields are read unlocked.
  // The slot of its current label is remembered on the Bo, so a reused
  // buffer with the same label skips the slot table's name search.
  int slot = -1;
  if (!bo.imported_) {
    if (bo.label_slot_ >= 0 && bo.label_ == label) {
      slot = bo.label_slot_;
    } else {
      slot = pub.label_slot(label);
      if (bo.label_ == label) bo.label_slot_ = static_cast<int8_t>(slot);
    }
  }
  bo.stats_label_ = static_cast<int8_t>(slot);
  std::lock_guard<std::mutex> g(count_lock);
  bump(bos_live, 1);
  bump(bytes_requested, requested);
  bump(bytes_live, bo.size());
  if (peak) {
    const uint64_t live = bytes_live.load(std::memory_order_relaxed);
    if (live > peak_bytes_live.load(std::memory_order_relaxed))
      peak_bytes_live.store(live, std::memory_order_relaxed);
  }
  if (use == CacheUse::kHit) bump(seg.cache_hits, 1);
  if (use == CacheUse::kMiss) bump(seg.cache_misses, 1);
  if (slot >= 0) {
    stats::LabelSlot& s = seg.labels[slot];
    bump(s.bos_live, 1);
    bump(s.bytes_live, bo.size());
    bump(s.allocs, 1);
  }
}

void Device::Impl::count_out(Bo& bo) {
  const int slot = bo.stats_label_;
  bo.stats_label_ = -1;
  std::lock_guard<std::mutex> g(count_lock);
  drop(bos_live, 1);
  drop(bytes_live, bo.size());
  drop(bytes_requested, bo.requested_);
  if (slot >= 0) {
    stats::LabelSlot& s = seg.labels[slot];
    drop(s.bos_live, 1);
    drop(s.bytes_live, bo.size());
  }
}

void Device::Impl::note_cache() {
  // Eviction and purge counts live in the cache's own statistics (under its
  // lock): copied here by the maintenance passes, not on the hot path.
  BoCacheStats c = dev.cache_->stats();
  seg.cache_evicted.store(c.evicted, std::memory_order_relaxed);
  seg.cache_purged.store(c.purged_on_reuse + c.evicted_by_purge, std::memory_order_relaxed);
}

void Device::Impl::note_memory() {
  if (!core::trace_on()) return;
  core::trace_counter(counter_name.c_str(),
                      {{"live_bytes", bytes_live.load(std::memory_order_relaxed)},
                       {"cached_bytes", seg.bytes_cached.load(std::memory_order_relaxed)},
                       {"heap_committed_bytes", seg.heap_committed.load(std::memory_order_relaxed)}});
}


DeviceStats Device::stats() const {
  DeviceStats s;
  auto ld = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  s.bos_live = ld(impl_->bos_live);
  s.bytes_live = ld(impl_->bytes_live);
  s.bytes_requested = ld(impl_->bytes_requested);
  s.peak_bytes_live = ld(impl_->peak_bytes_live);
  s.bo_creates = ld(impl_->bo_creates);
  s.bo_destroys = ld(impl_->bo_destroys);
  s.imports = ld(impl_->imports);
  s.exports = ld(impl_->exports);
  s.host_steals = ld(impl_->host_paths[0]);
  s.host_steal_keeps = ld(impl_->host_paths[1]);
  s.host_backed = ld(impl_->host_paths[2]);
  s.host_udmabuf = ld(impl_->host_paths[3]);
  s.host_copies = ld(impl_->host_paths[4]);
  s.host_backed_remaps = ld(impl_->host_paths[5]);
  s.alloc_retries = ld(impl_->alloc_retries);
  s.pressure_trims = ld(impl_->pressure_trims);
  for (const stats::LabelSlot& l : impl_->seg.labels) {
    if (l.state.load(std::memory_order_acquire) != 2) continue;
    LabelUsage u;
    u.label.assign(l.name, strnlen(l.name, sizeof l.name));
    u.allocs = ld(l.allocs);
    u.bos_live = ld(l.bos_live);
    u.bytes_live = ld(l.bytes_live);
    s.labels.push_back(std::move(u));
  }
  s.pressure_trimmed_bytes = ld(impl_->pressure_trimmed_bytes);
  s.user_queue_cache_trims = ld(impl_->uq_cache_trims);
  s.user_queue_cache_trimmed_bytes = ld(impl_->uq_cache_trimmed_bytes);
  {
    std::lock_guard<std::mutex> g(impl_->uq_lock);
    s.device_vm_user_queues = impl_->device_vm_queues;
  }
  s.zero_fills = ld(impl_->zero_fills);
  s.cache_sync_ops = ld(impl_->cache_sync_ops);
  s.va_maps = ld(impl_->va_maps);
  s.va_unmaps = ld(impl_->va_unmaps);
  s.va_async_unmaps = ld(impl_->va_async_unmaps);
  s.cache = cache_->stats();
  DeviceVa::stats(*this, s);
  return s;
}

Result<std::shared_ptr<ScratchPool>> Device::scratch_pool() {
  std::lock_guard<std::mutex> g(impl_->scratch_lock);
  if (std::shared_ptr<ScratchPool> p = impl_->scratch.lock()) return p;
  Result<std::shared_ptr<ScratchPool>> p = ScratchPool::create(shared_from_this());
  if (p.ok()) impl_->scratch = *p;
  return p;
}

void* Device::gpu_view(uint64_t va) const {
  const drm::GpuView* view = kdev_->file().gpu_view();
  return view ? view->cpu_address(vm_->kernel_id(), va) : nullptr;
}

uint64_t Device::va_alignment_bytes(uint64_t size_bytes) const {
  return kdev_->props().va_alignment_bytes(size_bytes);
}

// --- syncobjs -----------------------------------------------------------------

Result<uint32_t> Device::syncobj_create(bool signalled) {
  return kdev_->syncobj_create(signalled);
}

Result<void> Device::syncobj_destroy(uint32_t syncobj) {
  return kdev_->syncobj_destroy(syncobj);
}

Result<void> Device::syncobj_signal(uint32_t syncobj, uint64_t point) {
  return kdev_->syncobj_signal(syncobj, point);
}

Result<void> Device::syncobj_wait(SyncPoint p, int64_t abs_deadline_ns) {
  const kmod::PointWait w = kmod::wait_point(*kdev_, p.syncobj, p.point, abs_deadline_ns);
  switch (w.state) {
    case kmod::PointState::Signalled:
      return {};
    case kmod::PointState::Pending:
      return Error(kmod::kPendingErrno);
    case kmod::PointState::Unknown:
      return Error(w.error);
  }
  return Error(-EINVAL);
}

Result<uint64_t> Device::syncobj_query(uint32_t syncobj) {
  return kdev_->syncobj_query(syncobj);
}

}  // namespace wsys
