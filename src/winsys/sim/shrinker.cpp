#include "winsys/sim/shrinker.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <vector>

#include "winsys/sim/panthor_reclaim.h"
#include "winsys/sim/signalling.h"
#include "winsys/sim/sim_device.h"
#include "winsys/sim/vm.h"

namespace wsys::sim {

bool parse_byte_size(const std::string& text, uint64_t* out) {
  if (text.empty() || text[0] < '0' || text[0] > '9') return false;
  uint64_t v = 0;
  size_t i = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; i++) {
    uint64_t d = static_cast<uint64_t>(text[i] - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  unsigned shift = 0;
  if (i < text.size()) {
    switch (text[i]) {
      case 'k': case 'K': shift = 10; break;
      case 'm': case 'M': shift = 20; break;
      case 'g': case 'G': shift = 30; break;
      case 't': case 'T': shift = 40; break;
      default: return false;
    }
    if (++i != text.size()) return false;
  }
  if (v == 0 || (shift && v > (UINT64_MAX >> shift))) return false;
  *out = v << shift;
  return true;
}

bool memory_budget_from_env(uint64_t* out, std::string* why) {
  const char* v = std::getenv("WSYS_SIM_MEMORY_BUDGET");
  if (v && *v) {
    if (!parse_byte_size(v, out)) {
      if (why)
        *why = std::string("bad WSYS_SIM_MEMORY_BUDGET '") + v +
               "' (a positive byte count, optionally with K, M, G or T)";
      return false;
    }
    return true;
  }
  uint64_t deflt = 16ull << 30;
  long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
  if (pages > 0 && psize > 0) {
    uint64_t half = static_cast<uint64_t>(pages) * static_cast<uint64_t>(psize) / 2;
    if (half > deflt) deflt = half;
  }
  *out = deflt;
  return true;
}

// --- SimDevice's side ---

bool SimDevice::charge(uint64_t bytes) { return shrinker_->charge(bytes, true); }
bool SimDevice::try_charge(uint64_t bytes) { return shrinker_->charge(bytes, false); }
void SimDevice::uncharge(uint64_t bytes) { shrinker_->uncharge(bytes); }

Shrinker::Shrinker(uint64_t budget) : budget_(budget) {}

bool Shrinker::try_add(uint64_t bytes) {
  uint64_t cur = charged_.load(std::memory_order_relaxed);
  for (;;) {
    uint64_t b = budget_.load(std::memory_order_relaxed);
    if (bytes > b || cur > b - bytes) return false;
    if (charged_.compare_exchange_weak(cur, cur + bytes, std::memory_order_relaxed)) return true;
  }
}

bool Shrinker::charge(uint64_t bytes, bool may_shrink) {
  if (bytes == 0) return true;
  if (try_add(bytes)) return true;
  // Reclaim allocates and takes locks: never from a signalling section.
  if (!may_shrink || in_signalling_section()) return false;
  if (bytes > budget()) return false;  // nothing can make it fit
  std::lock_guard<std::mutex> g(shrink_lock_);
  for (;;) {
    if (try_add(bytes)) return true;
    uint64_t cur = charged_.load(std::memory_order_relaxed), b = budget();
    uint64_t want = cur + bytes > b ? cur + bytes - b : 1;
    if (shrink(want) == 0 && (!reclaim_ || reclaim_->reclaim(want) == 0)) return try_add(bytes);
  }
}

uint64_t Shrinker::charge_force(uint64_t bytes) {
  uint64_t now = charged_.fetch_add(bytes, std::memory_order_relaxed) + bytes;
  uint64_t b = budget();
  if (now <= b) return 0;
  return now - b < bytes ? now - b : bytes;
}

void Shrinker::enable_panthor_reclaim(SimDevice* dev) {
  if (!reclaim_) reclaim_ = new PanthorReclaim(dev, this);
}

void Shrinker::uncharge(uint64_t bytes) {
  if (bytes) charged_.fetch_sub(bytes, std::memory_order_relaxed);
}

void Shrinker::madvise(const SimBoPtr& bo, int madv, const std::shared_ptr<SimVm>& vm,
                       uint64_t gpu_va, bool* retained) {
  std::lock_guard<std::mutex> g(lock_);
  if (bo->purged()) {  // final: stays purged whatever is asked
    *retained = false;
    return;
  }
  *retained = true;
  bo->madv.store(madv, std::memory_order_release);
  auto it = index_.find(bo.get());
  if (it != index_.end()) {  // off the list (DONTNEED re-adds at the end)
    dontneed_bytes_ -= lru_[it->second].size;
    lru_.erase(it->second);
    index_.erase(it);
  }
  if (madv == SimBo::kMadvDontNeed) {
    uint64_t s = ++seq_;
    lru_[s] = Entry{bo, vm, gpu_va, bo->size()};
    index_[bo.get()] = s;
    dontneed_bytes_ += bo->size();
  }
}

void Shrinker::forget(const SimBo* bo) {
  std::lock_guard<std::mutex> g(lock_);
  auto it = index_.find(bo);
  if (it == index_.end()) return;
  dontneed_bytes_ -= lru_[it->second].size;
  lru_.erase(it->second);
  index_.erase(it);
}

bool Shrinker::purge_locked_bo(SimBo& bo, const Entry& e) {
  // GPU mapping first, as the kernel tears the MMU mappings down before
  // freeing the pages. -ENOENT: not mapped there (any more).
  if (SimVmPtr vm = e.vm.lock()) {
    int r = e.gpu_va ? vm->unmap_bo_at(bo, e.gpu_va, bo.size()) : -ENOENT;
    if (r != 0 && r != -ENOENT) return false;  // still mapped: keep the pages
  }
  // The pages: punched out (memory really drops), then the file truncated
  // so CPU mappings fault with SIGBUS like a purged shmem object.
  (void)fallocate(bo.memfd(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
                  static_cast<off_t>(bo.size()));
  (void)ftruncate(bo.memfd(), 0);
  bo.madv.store(SimBo::kMadvPurged, std::memory_order_release);
  if (bo.charged_) uncharge(bo.size());
  purges_.fetch_add(1, std::memory_order_relaxed);
  purged_bytes_.fetch_add(bo.size(), std::memory_order_relaxed);
  return true;
}

uint64_t Shrinker::shrink(uint64_t want) {
  scans_.fetch_add(1, std::memory_order_relaxed);
  uint64_t freed = 0;
  std::vector<SimBoPtr> skipped;  // references dropped outside lock_
  while (freed < want) {
    SimBoPtr victim;
    Entry entry;
    {
      std::lock_guard<std::mutex> g(lock_);
      for (auto it = lru_.begin(); it != lru_.end(); ++it) {
        SimBoPtr bo = it->second.bo.lock();
        if (!bo) continue;  // dying: forget() removes it
        bool ok = bo->madv.load(std::memory_order_acquire) == SimBo::kMadvDontNeed &&
                  !bo->exported.load() && !bo->imported() && !bo->lazy() &&
                  bo->gpu_busy.load() == 0 && bo->pinned.load() == 0 && bo->resv.try_lock();
        if (!ok) {
          skipped.push_back(std::move(bo));
          continue;
        }
        entry = it->second;
        dontneed_bytes_ -= entry.size;
        index_.erase(bo.get());
        lru_.erase(it);
        victim = std::move(bo);
        break;
      }
    }
    skipped.clear();
    if (!victim) break;
    // Re-check busy under the reservation lock (a submit may have raced).
    if (victim->gpu_busy.load() == 0 && purge_locked_bo(*victim, entry)) {
      freed += victim->size();
      victim->resv.unlock();
    } else {
      victim->resv.unlock();
      std::lock_guard<std::mutex> g(lock_);  // back on the list
      uint64_t s = ++seq_;
      lru_[s] = entry;
      index_[victim.get()] = s;
      dontneed_bytes_ += entry.size;
      skipped.push_back(std::move(victim));
      break;
    }
  }
  skipped.clear();
  return freed;
}

ShrinkerStats Shrinker::stats() const {
  ShrinkerStats s;
  s.budget = budget();
  s.charged = charged_.load(std::memory_order_relaxed);
  s.purges = purges_.load(std::memory_order_relaxed);
  s.purged_bytes = purged_bytes_.load(std::memory_order_relaxed);
  s.scans = scans_.load(std::memory_order_relaxed);
  std::lock_guard<std::mutex> g(lock_);
  s.dontneed_objects = lru_.size();
  s.dontneed_bytes = dontneed_bytes_;
  return s;
}

}  // namespace wsys::sim
