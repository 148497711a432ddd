// core::Device internals shared by device.cpp (lifetime, allocation, the
// cache backend, the maintenance thread), device_va.cpp (the device VM's
// addresses and deferred reclaim) and bo.cpp.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>
#include <unordered_map>

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
  explicit Impl(Device& d) : backend(d) {}

  DeviceOptions options;
  DeviceCacheBackend backend;

  // Buffers that are (or may become) shared, by GEM handle: exported and
  // imported ones. import() of one of them returns the same Bo.
  std::mutex share_lock;
  std::unordered_map<uint32_t, Bo*> shared;

  // The shared scratch pool (Device::scratch_pool), held weakly.
  std::mutex scratch_lock;
  std::weak_ptr<ScratchPool> scratch;

  // Statistics.
  std::atomic<uint64_t> bos_live{0}, bytes_live{0}, bytes_requested{0}, peak_bytes_live{0};
  std::atomic<uint64_t> bo_creates{0}, bo_destroys{0}, imports{0}, exports{0};
  std::atomic<uint64_t> alloc_retries{0}, zero_fills{0};
  std::atomic<uint64_t> pressure_trims{0}, pressure_trimmed_bytes{0};
  bool trim_under_pressure = false;  // set once at init
  std::atomic<uint64_t> va_maps{0}, va_unmaps{0}, va_async_unmaps{0};

  // Maintenance thread.
  std::thread maint;
  std::mutex maint_lock;
  std::condition_variable maint_cv;
  bool maint_stop = false;
  std::atomic<bool> maint_idle{true};  // sleeping without a timeout
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
