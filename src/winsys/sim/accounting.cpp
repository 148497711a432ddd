#include "winsys/sim/accounting.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <mutex>
#include <unordered_set>

#include "winsys/sim/gem.h"
#include "winsys/sim/panthor_reclaim.h"
#include "winsys/sim/shrinker.h"
#include "winsys/sim/sim_device.h"
#include "winsys/sim/sim_file.h"
#include "winsys/sim/vm.h"

namespace wsys::sim {

// --- snapshots of the containers (members defined here) ---

std::vector<SimBoPtr> SimFile::bo_snapshot() {
  std::vector<SimBoPtr> out;
  std::lock_guard<ReclaimMutex> g(lock_);
  out.reserve(bos_.size());
  bos_.for_each([&](uint32_t, const SimBoPtr& bo) { out.push_back(bo); });
  return out;
}

std::vector<SimBoPtr> SimDevice::bo_snapshot() const {
  std::vector<SimBoPtr> out;
  std::lock_guard<std::mutex> g(lock_);
  out.reserve(by_offset_.size());
  for (const auto& [off, w] : by_offset_)
    if (SimBoPtr bo = w.lock()) out.push_back(std::move(bo));
  return out;
}

std::vector<SimBoPtr> SimVm::mapped_bos() const {
  // op_lock_ is taken in signalling sections: never allocate under it.
  // Size the vector first, then copy at most that many.
  std::vector<SimBoPtr> out;
  for (;;) {
    size_t n;
    {
      std::lock_guard<std::mutex> g(op_lock_);
      n = mappings_.size() + heaps_.size();
    }
    out.clear();
    out.reserve(n);
    bool fits = true;
    {
      std::lock_guard<std::mutex> g(op_lock_);
      if (mappings_.size() + heaps_.size() > n) {
        fits = false;
      } else {
        for (const auto& [va, m] : mappings_)
          if (m.bo) out.push_back(m.bo);
        for (const auto& [va, h] : heaps_)
          if (h.bo) out.push_back(h.bo);
      }
    }
    if (fits) break;
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// --- usage ---

namespace {
void add(SimUsage& u, const SimUsage& b) {
  u.objects += b.objects;
  u.total += b.total;
  u.shared += b.shared;
  u.resident += b.resident;
  u.purgeable += b.purgeable;
  u.purged += b.purged;
  u.heap_committed += b.heap_committed;
  u.swapped += b.swapped;
  u.reclaimable += b.reclaimable;
}

SimUsage sum(const std::vector<SimBoPtr>& bos) {
  SimUsage u;
  for (const SimBoPtr& bo : bos) add(u, sim_bo_usage(*bo));
  return u;
}
}  // namespace

SimUsage sim_bo_usage(const SimBo& bo) {
  SimUsage u;
  u.objects = 1;
  u.total = bo.size();
  if (bo.exported.load() || bo.imported()) u.shared = bo.size();
  u.resident = bo.resident_bytes();
  if (bo.madv.load() == SimBo::kMadvDontNeed) u.purgeable = u.resident;
  if (bo.purged()) u.purged = bo.size();
  if (bo.lazy()) u.heap_committed = bo.heap_committed.load();
  if (bo.swapped()) u.swapped = bo.size();
  if (u.resident && bo.device()->shrinker().reclaimer() && !bo.lazy() && !bo.heap_internal &&
      !u.shared && bo.pinned.load() == 0)
    u.reclaimable = u.resident;
  return u;
}

SimUsage sim_vm_usage(const SimVm& vm) { return sum(vm.mapped_bos()); }

SimUsage sim_file_usage(SimFile& file) { return sum(file.bo_snapshot()); }

SimDeviceUsage sim_device_usage(SimDevice& dev) {
  SimDeviceUsage d;
  static_cast<SimUsage&>(d) = sum(dev.bo_snapshot());
  ShrinkerStats s = dev.shrinker().stats();
  d.budget = s.budget;
  d.charged = s.charged;
  d.purges = s.purges;
  d.purged_total = s.purged_bytes;
  if (PanthorReclaim* rc = dev.shrinker().reclaimer()) {
    ReclaimStats r = rc->stats();
    d.reclaims = r.reclaims;
    d.restores = r.restores;
    d.cpu_fault_restores = r.cpu_fault_restores;
    d.swapped_out_bytes = r.swapped_out_bytes;
    d.swapped_in_bytes = r.swapped_in_bytes;
    d.restore_failures = r.restore_failures;
    d.overcommit_bytes = r.overcommit_bytes;
  }
  return d;
}

std::string sim_file_fdinfo(SimFile& file) {
  SimUsage u = sim_file_usage(file);
  std::string out = "drm-driver:\t" + file.device()->driver() + "\n" +
                    "drm-client-id:\t" + std::to_string(file.client_id()) + "\n";
  auto line = [&](const char* key, uint64_t bytes) {
    char buf[96];
    if (bytes % 1024 == 0)
      std::snprintf(buf, sizeof buf, "%s:\t%" PRIu64 " KiB\n", key, bytes / 1024);
    else
      std::snprintf(buf, sizeof buf, "%s:\t%" PRIu64 "\n", key, bytes);
    out += buf;
  };
  line("drm-total-memory", u.total);
  line("drm-shared-memory", u.shared);
  line("drm-resident-memory", u.resident);
  line("drm-purgeable-memory", u.purgeable);
  line("drm-purged-memory", u.purged);               // model only
  line("drm-heap-committed-memory", u.heap_committed);  // model only
  line("drm-swapped-memory", u.swapped);                // model only
  line("drm-reclaimable-memory", u.reclaimable);        // model only
  return out;
}

}  // namespace wsys::sim
