// Helpers for the sim_mem tests: panfrost objects, MADVISE, checksums from
// CPU mappings, and a budget override restored at the end of a test (the
// model's devices are process-wide).
#pragma once

#include <sys/mman.h>

#include <cstdint>
#include <cstring>
#include <memory>

#include "drm-uapi/drm_core.h"
#include "drm-uapi/panfrost_drm.h"
#include "drm-uapi/panthor_drm.h"
#include "sim_test_util.h"
#include "winsys/sim/accounting.h"
#include "winsys/sim/fault_inject.h"
#include "winsys/sim/panthor_reclaim.h"
#include "winsys/sim/shrinker.h"
#include "winsys/sim/sim_device.h"
#include "winsys/sim/vm.h"

namespace wsys::sim::memtest {

using test::open_model_file;

inline constexpr uint64_t kKiB = 1024, kMiB = 1024 * 1024;

// CREATE_BO; returns 0 or a negative errno, *handle/*va set on success.
inline int pf_create(SimDrmFile& f, uint64_t size, uint32_t* handle, uint64_t* va = nullptr,
                     uint32_t flags = PANFROST_BO_NOEXEC) {
  drm_panfrost_create_bo c{};
  c.size = static_cast<uint32_t>(size);
  c.flags = flags;
  int r = f.ioctl(DRM_IOCTL_PANFROST_CREATE_BO, &c);
  if (r == 0) {
    *handle = c.handle;
    if (va) *va = c.offset;
  }
  return r;
}

// MADVISE; returns the ioctl's result, *retained set.
inline int pf_madvise(SimDrmFile& f, uint32_t handle, uint32_t madv, uint32_t* retained = nullptr) {
  drm_panfrost_madvise m{};
  m.handle = handle;
  m.madv = madv;
  m.retained = 0xdeadbeef;
  int r = f.ioctl(DRM_IOCTL_PANFROST_MADVISE, &m);
  if (retained) *retained = m.retained;
  return r;
}

inline uint8_t* pf_mmap(SimDrmFile& f, uint32_t handle, uint64_t size) {
  drm_panfrost_mmap_bo m{};
  m.handle = handle;
  if (f.ioctl(DRM_IOCTL_PANFROST_MMAP_BO, &m)) return nullptr;
  auto p = f.mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, m.offset);
  return p.ok() ? static_cast<uint8_t*>(*p) : nullptr;
}

inline int gem_close(SimDrmFile& f, uint32_t handle) {
  drm_gem_close c{};
  c.handle = handle;
  return f.ioctl(DRM_IOCTL_GEM_CLOSE, &c);
}

inline void fill(uint8_t* p, uint64_t size, uint32_t seed) {
  uint32_t x = seed * 2654435761u + 1;
  for (uint64_t i = 0; i < size; i += 4) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    std::memcpy(p + i, &x, 4);
  }
}

inline uint64_t checksum(const uint8_t* p, uint64_t size) {
  uint64_t h = 1469598103934665603ull;
  for (uint64_t i = 0; i < size; i += 8) {
    uint64_t v;
    std::memcpy(&v, p + i, 8);
    h = (h ^ v) * 1099511628211ull;
  }
  return h;
}

inline SimDevice* panfrost_device(SimDrmFile& f) { return f.file().device(); }

// Sets the panfrost device's budget to what is charged now plus `headroom`
// and restores the previous budget on destruction.
class BudgetOverride {
 public:
  BudgetOverride(SimDevice* dev, uint64_t headroom) : dev_(dev), old_(dev->shrinker().budget()) {
    dev_->shrinker().set_budget(dev_->shrinker().stats().charged + headroom);
  }
  ~BudgetOverride() { dev_->shrinker().set_budget(old_); }
  BudgetOverride(const BudgetOverride&) = delete;
  BudgetOverride& operator=(const BudgetOverride&) = delete;

 private:
  SimDevice* dev_;
  uint64_t old_;
};

}  // namespace wsys::sim::memtest
