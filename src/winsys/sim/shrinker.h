// The device's memory budget and the panfrost shrinker.
//
// Budget: every GEM object's memory is charged to its device when it is
// created (heap objects: per committed 2 MiB block) and uncharged when it is
// freed or purged. The budget is WSYS_SIM_MEMORY_BUDGET bytes (suffixes K,
// M, G, T: powers of 1024), by default the larger of 16 GiB and half the
// physical memory. An allocation that would exceed it runs the shrinker.
//
// Shrinker (panfrost MADVISE): DONTNEED objects sit on the device's list in
// the order they were marked (a later DONTNEED moves an object to the end,
// WILLNEED takes it off). The shrinker walks the list oldest first and
// purges an object only under the kernel's conditions: madv DONTNEED, not
// exported nor imported, no in-flight job (gpu_busy == 0), not pinned, not
// a heap object (their pages are not the object's backing store), and its
// reservation lock (SimBo::resv) try-lockable. Purging:
//   - tears down the object's GPU mapping in the VM of the file that marked
//     it (panfrost maps an object only in the VMs of the files holding it,
//     and the model's only way to hold a non-shared object is one file);
//     the file keeps the VA reserved, as the kernel keeps the mapping node;
//   - punches the memfd's pages out (fallocate PUNCH_HOLE) and truncates it
//     to 0, so the process's memory really drops and CPU mappings of the
//     object SIGBUS on access, exactly as a purged shmem object does;
//   - marks the object purged: it never gets content back, MADVISE reports
//     retained = 0 from then on.
// Allocation fails with -ENOMEM only when nothing purgeable is left.
//
// panthor: after the purge, if it freed too little, the panthor GEM
// shrinker (panthor_reclaim.h) swaps idle objects out; the allocation fails
// only when neither finds anything.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "winsys/sim/gem.h"

namespace wsys::sim {

class SimDevice;
class SimVm;
class PanthorReclaim;

// Reads WSYS_SIM_MEMORY_BUDGET (or the default). False with *why naming the
// variable on a bad value.
bool memory_budget_from_env(uint64_t* out, std::string* why);
// Parses "<digits>[K|M|G|T]" (powers of 1024); false on anything else, 0
// or overflow.
bool parse_byte_size(const std::string& text, uint64_t* out);

struct ShrinkerStats {
  uint64_t budget = 0;           // bytes
  uint64_t charged = 0;          // bytes currently charged
  uint64_t dontneed_objects = 0; // objects on the list
  uint64_t dontneed_bytes = 0;   // their sizes
  uint64_t purges = 0;           // objects purged so far
  uint64_t purged_bytes = 0;     // bytes purged so far
  uint64_t scans = 0;            // shrinker runs
};

class Shrinker {
 public:
  explicit Shrinker(uint64_t budget);
  Shrinker(const Shrinker&) = delete;
  Shrinker& operator=(const Shrinker&) = delete;

  // See SimDevice::charge / try_charge / uncharge.
  bool charge(uint64_t bytes, bool may_shrink);
  void uncharge(uint64_t bytes);
  // Charges even over the budget (a restore from the fault handler, which
  // cannot reclaim): async-signal-safe. Returns the bytes over the budget.
  uint64_t charge_force(uint64_t bytes);

  // panthor: the GEM shrinker that runs after the purge (null on panfrost).
  void enable_panthor_reclaim(SimDevice* dev);
  PanthorReclaim* reclaimer() const { return reclaim_; }

  // MADVISE, with bo->resv held by the caller. `vm`/`gpu_va`: where the
  // calling file maps the object. Sets *retained (false once purged).
  void madvise(const SimBoPtr& bo, int madv, const std::shared_ptr<SimVm>& vm,
               uint64_t gpu_va, bool* retained);
  // From ~SimBo: drops the object from the list.
  void forget(const SimBo* bo);

  // Purges DONTNEED objects (oldest first) until at least `want` bytes are
  // freed or nothing purgeable is left. Returns the bytes purged.
  uint64_t shrink(uint64_t want);

  ShrinkerStats stats() const;
  // Test API: changes the budget (the device is process-wide: restore it).
  void set_budget(uint64_t bytes) { budget_.store(bytes, std::memory_order_relaxed); }
  uint64_t budget() const { return budget_.load(std::memory_order_relaxed); }
  uint64_t charged() const { return charged_.load(std::memory_order_relaxed); }

 private:
  struct Entry {
    std::weak_ptr<SimBo> bo;
    std::weak_ptr<SimVm> vm;
    uint64_t gpu_va = 0;
    uint64_t size = 0;
  };
  bool try_add(uint64_t bytes);
  // False (nothing changed) if the GPU mapping could not be torn down.
  bool purge_locked_bo(SimBo& bo, const Entry& e);

  std::atomic<uint64_t> budget_;
  PanthorReclaim* reclaim_ = nullptr;  // never destroyed, like the device
  std::atomic<uint64_t> charged_{0};
  std::atomic<uint64_t> purges_{0}, purged_bytes_{0}, scans_{0};

  // The list (the kernel's shrinker_lock). Never held while an object can
  // die (~SimBo takes it through forget()).
  mutable std::mutex lock_;
  std::map<uint64_t, Entry> lru_;  // sequence -> entry, oldest first
  std::unordered_map<const SimBo*, uint64_t> index_;
  uint64_t seq_ = 0;
  uint64_t dontneed_bytes_ = 0;
  // One shrinker run at a time.
  std::mutex shrink_lock_;
};

}  // namespace wsys::sim
