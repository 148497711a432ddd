// SimDevice: one model GPU (per driver flavour, per process), shared by all
// open files of that flavour, as one kernel device is shared by all opens
// of its render node.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "winsys/sim/driver_version.h"
#include "winsys/sim/gem.h"
#include "winsys/sim/gpu_identity.h"

namespace wsys::sim {

struct SimDriverVersion {
  std::string name;
  int major, minor, patchlevel;
  std::string date, desc;
};

class SimDevice {
 public:
  // The process-wide device for "panthor" or "panfrost" (created on first
  // use with WSYS_SIM_GPU and WSYS_SIM_DRIVER_VERSION applied). Null with
  // *why set if it cannot be.
  static SimDevice* get(const std::string& driver, std::string* why);
  // The devices get() has created so far (never destroyed), for what every
  // model GPU shares: the central allocator charges its placements to each
  // one's budget (shared_alloc.h).
  static std::vector<SimDevice*> opened();

  const std::string& driver() const { return version_.name; }
  bool is_panthor() const { return panthor_; }
  const SimDriverVersion& version() const { return version_; }
  // The driver version gates (driver_version.h): true if the modelled
  // kernel is at least `v`.
  bool at_least(DriverVersion v) const {
    return version_at_least(DriverVersion{version_.major, version_.minor}, v);
  }
  bool at_least(int major, int minor) const { return at_least(DriverVersion{major, minor}); }

  // The model's coherency (gpu_info.selected_coherency, panfrost
  // PARAM_SELECTED_COHERENCY): ACE-Lite, the CPU's caches are coherent
  // with the "GPU" (they are the same memory system). BO_SYNC / SYNC_BO
  // are therefore validated no-ops, counted here for tests.
  // What the kernel selects from the GPU's COHERENCY_FEATURES (WSYS_SIM_GPU
  // coherency_features): ACE-Lite (0) where offered, else ACE (1), else none
  // (31, a non-coherent device: the winsys must flush and invalidate CPU
  // caches; the model's CPU stays coherent, so it counts those operations
  // for tests to check instead).
  uint32_t selected_coherency() const {
    return (gpu_.coherency_features & 1u) ? 0u : (gpu_.coherency_features & 2u) ? 1u : 31u;
  }
  void count_cache_sync_op() { cache_sync_ops_.fetch_add(1, std::memory_order_relaxed); }
  uint64_t cache_sync_ops() const { return cache_sync_ops_.load(std::memory_order_relaxed); }
  const GpuIdentity& gpu() const { return gpu_; }

  // GEM object registry: fake mmap offsets and dma-buf inodes.
  void register_bo(const SimBoPtr& bo);  // assigns the mmap offset
  void unregister_bo(SimBo* bo);  // from ~SimBo
  // The live object whose mmap offset is exactly `offset`, if any.
  SimBoPtr bo_by_mmap_offset(uint64_t offset);
  // The live object of this device backed by the memfd with `ino`, if any.
  SimBoPtr bo_by_inode(ino_t ino);

  // BO labels (BO_SET_LABEL / SET_LABEL_BO), under the device lock.
  void set_bo_label(SimBo& bo, std::string label) {
    std::lock_guard<std::mutex> g(lock_);
    bo.label.swap(label);
  }
  std::string bo_label(const SimBo& bo) const {
    std::lock_guard<std::mutex> g(lock_);
    return bo.label;
  }

  // Counters for tests and wsys-info.
  uint64_t live_bos() const;
  uint64_t live_bo_bytes() const;

  // --- Memory budget and shrinker (shrinker.cpp) ---
  // Charges `bytes` of new resident memory to the budget
  // (WSYS_SIM_MEMORY_BUDGET). Over budget, runs the shrinker (purges
  // DONTNEED objects) and fails only when nothing purgeable is left. Outside
  // a signalling section only (inside one it behaves as try_charge).
  bool charge(uint64_t bytes);
  // Charges only if it fits now: never shrinks, never blocks, never
  // allocates (for pre-allocated pages, e.g. inside a signalling section).
  bool try_charge(uint64_t bytes);
  void uncharge(uint64_t bytes);
  class Shrinker& shrinker() { return *shrinker_; }
  // The device's live objects (accounting.cpp).
  std::vector<SimBoPtr> bo_snapshot() const;

 private:
  SimDevice(std::string driver, GpuIdentity gpu, DriverVersion dv);
  SimDriverVersion version_;
  GpuIdentity gpu_;
  bool panthor_;

  mutable std::mutex lock_;
  uint64_t next_offset_pages_;
  std::map<uint64_t, std::weak_ptr<SimBo>> by_offset_;
  std::map<ino_t, std::weak_ptr<SimBo>> by_inode_;
  uint64_t live_bos_ = 0, live_bytes_ = 0;
  std::atomic<uint64_t> cache_sync_ops_{0};
  class Shrinker* shrinker_ = nullptr;  // never destroyed, like the device
  friend class SimBo;
};

inline constexpr uint64_t kPageSize = 4096;
inline uint64_t page_align(uint64_t v) { return (v + kPageSize - 1) & ~(kPageSize - 1); }

}  // namespace wsys::sim
