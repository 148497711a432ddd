// core::Device internals shared by device.cpp (lifetime, allocation, the
// cache backend, the maintenance registration), device_va.cpp (the device VM's
// addresses and deferred reclaim) and bo.cpp.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "winsys/core/maintenance.h"
#include "winsys/core/stats_publish.h"
#include "winsys/kmod/kmod.h"
#include "wsys/device.hpp"

namespace wsys {

// The cache's view of the device: busy checks, madvise, CPU unmapping and
// destruction of cached buffers.
class DeviceCacheBackend final : public BoCache::Backend {
 public:
  explicit DeviceCacheBackend(Device& d) : dev_(d) {}
  bool busy(BoCacheHook& e) override;
  Result<bool> make_evictable(BoCacheHook& e) override;
  Result<bool> make_unevictable(BoCacheHook& e) override;
  void drop_cpu_mapping(BoCacheHook& e) override;
  void destroy(BoCacheHook& e) override;
  uint64_t now_ns() override;

  std::function<uint64_t()> clock;

 private:
  Device& dev_;
};

struct Device::Impl {
  explicit Impl(Device& d) : dev(d), backend(d) {}

  Device& dev;
  // The live statistics segment (wsys-top); the counters below are its words.
  core::StatsPublisher pub;
  stats::Segment& seg = pub.seg();

  DeviceOptions options;
  DeviceCacheBackend backend;

  // Buffers that are (or may become) shared, by GEM handle: exported and
  // imported ones. import() of one of them returns the same Bo.
  std::mutex share_lock;
  std::unordered_map<uint32_t, Bo*> shared;

  // Live backed host imports (start -> end of the application's range): a
  // new import spanning several mappings must not remap their pages.
  std::mutex host_lock;
  std::multimap<uintptr_t, uintptr_t> host_live;

  // The shared scratch pool (Device::scratch_pool), held weakly.
  std::mutex scratch_lock;
  std::weak_ptr<ScratchPool> scratch;

  // Statistics: words of the published segment.
  stats::Counter &bos_live = seg.bos_live, &bytes_live = seg.bytes_live,
                 &bytes_requested = seg.bytes_requested, &peak_bytes_live = seg.peak_bytes_live;
  stats::Counter &bo_creates = seg.bo_creates, &bo_destroys = seg.bo_destroys,
                 &imports = seg.imports, &exports = seg.exports;
  stats::Counter &alloc_retries = seg.alloc_retries, &zero_fills = seg.zero_fills;
  stats::Counter &va_maps = seg.va_maps, &va_unmaps = seg.va_unmaps,
                 &va_async_unmaps = seg.va_async_unmaps;

  // The trace's memory counters (WSYS_TRACE) and the cache's figures in the
  // segment, after a change.
  void note_memory();
  void note_cache();
  // The words every buffer handed out or released moves: bos_live,
  // bytes_live (and its peak), bytes_requested, the cache's hit, miss and
  // put counts and the label slot's three. Written only under count_lock,
  // with a relaxed load and store each: one lock per alloc or free instead
  // of a locked read-modify-write per word, which were the largest cost of
  // a cache hit (issue 21). Readers (stats(), wsys-top in another process)
  // load them relaxed without the lock, as before: each word stays one
  // atomic, the words are not a snapshot (they never were).
  std::mutex count_lock;
  enum class CacheUse { kNone, kHit, kMiss };
  // A handed-out buffer counted in: `requested` bytes asked for, `label`'s
  // slot, the cache outcome; `peak`: raises peak_bytes_live.
  void count_in(Bo& bo, uint64_t requested, std::string_view label, CacheUse use, bool peak);
  // A released buffer counted out (before the cache may hand it out again;
  // the cache counts its puts itself: BoCache::mirror_totals).
  void count_out(Bo& bo);
  std::string counter_name;  // the trace's counter track, "memory (device N)"
  std::atomic<uint64_t> pressure_trims{0}, pressure_trimmed_bytes{0};  // not in the segment
  // import_host by path (HostImportPath order; not in the segment).
  std::atomic<uint64_t> host_paths[6] = {};
  std::atomic<uint64_t> cache_sync_ops{0};  // BO_SYNC ranges; not in the segment
  bool trim_under_pressure = false;  // set once at init

  // The pinning policy (user_queue_added/removed): queues on the device VM
  // and the cache cap they displaced.
  std::mutex uq_lock;
  uint32_t device_vm_queues = 0;   // uq_lock
  uint64_t cache_cap_before = 0;   // uq_lock: restored with the last queue
  std::atomic<uint64_t> uq_cache_trims{0}, uq_cache_trimmed_bytes{0};

  // Registration with the process's maintenance thread (maintenance.h).
  // Its `idle` stays false without one: nobody is woken (no lock on every
  // release).
  core::MaintenanceClient maint;
  bool maint_registered = false;
};

// A buffer's address in the device VM (device_va.cpp), through the Device's
// wsys::Vm. panthor: Vm::alloc_va + an immediate bind; panfrost: the
// kernel's placement, nothing to do.
class DeviceVa {
 public:
  static Result<void> init(Device& d);  // creates the device's Vm
  static void fini(Device& d);          // after the cache is drained
  // Gives a new buffer its address in the device VM.
  static Result<void> map(Device& d, Bo& bo);
  // Takes a dying buffer's address away: an immediate unmap when idle,
  // else an asynchronous one behind its pending uses, the VA parked until the
  // unmap signals.
  static void unmap(Device& d, Bo& bo);
  // Returns parked VAs whose unmap has signalled. `block`: wait for them.
  static size_t reclaim(Device& d, bool block);
  static bool pending(Device& d);
  static void stats(const Device& d, DeviceStats& s);
};

namespace core {
// A Bo from its embedded cache hook.
Bo* bo_from_hook(BoCacheHook* h);
}  // namespace core

}  // namespace wsys
