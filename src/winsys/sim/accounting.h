// Memory accounting of the model: the equivalent of the kernel's fdinfo
// memory stats (drm-total-memory, drm-shared-memory, drm-resident-memory,
// drm-purgeable-memory), per object, per VM, per file and per device, plus
// the model's purged and heap-committed figures.
//
//   total       sum of object sizes
//   shared      objects that are exported or imported
//   resident    bytes whose memory exists: whole object unless purged;
//               heap (lazy) objects only their committed 2 MiB blocks
//   purgeable   resident bytes of DONTNEED objects (what the shrinker may
//               take, before its exported/busy/pinned checks)
//   purged      sizes of purged objects
//   heap_committed  committed bytes of heap objects
//   swapped     sizes of objects the panthor shrinker swapped out
//               (panthor_reclaim.h); not resident
//   reclaimable resident bytes of panthor objects the shrinker may swap
//               out (not shared, pinned, heap-internal), before its
//               idle-VM and lock checks
// A VM's usage counts each object mapped in it once; a file's counts each
// object it holds a handle to once.
#pragma once

#include <cstdint>
#include <string>

namespace wsys::sim {

class SimBo;
class SimVm;
class SimFile;
class SimDevice;

struct SimUsage {
  uint64_t objects = 0;
  uint64_t total = 0;
  uint64_t shared = 0;
  uint64_t resident = 0;
  uint64_t purgeable = 0;
  uint64_t purged = 0;
  uint64_t heap_committed = 0;
  uint64_t swapped = 0;
  uint64_t reclaimable = 0;
};

struct SimDeviceUsage : SimUsage {
  uint64_t budget = 0;        // WSYS_SIM_MEMORY_BUDGET (or default)
  uint64_t charged = 0;       // bytes charged against the budget
  uint64_t purges = 0;        // objects purged since the device was created
  uint64_t purged_total = 0;  // bytes purged since the device was created
  // panthor shrinker (panthor_reclaim.h), since the device was created:
  uint64_t reclaims = 0;            // objects swapped out
  uint64_t restores = 0;            // objects swapped back in (all paths)
  uint64_t cpu_fault_restores = 0;  // of which by a CPU access
  uint64_t swapped_out_bytes = 0;
  uint64_t swapped_in_bytes = 0;
  uint64_t restore_failures = 0;    // submits refused with -ENOMEM
  uint64_t overcommit_bytes = 0;    // charged over budget by fault restores
};

SimUsage sim_bo_usage(const SimBo& bo);
SimUsage sim_vm_usage(const SimVm& vm);
SimUsage sim_file_usage(SimFile& file);
SimDeviceUsage sim_device_usage(SimDevice& dev);

// fdinfo-style text for a file ("drm-driver:\tpanfrost\n"
// "drm-total-memory:\t1024 KiB\n"...), sizes in KiB as the kernel prints
// them when they are multiples of 1 KiB. The kernel's keys
// (drm-total/shared/resident/purgeable-memory) plus the model's own,
// named alike: drm-purged-memory, drm-heap-committed-memory,
// drm-swapped-memory, drm-reclaimable-memory.
std::string sim_file_fdinfo(SimFile& file);

}  // namespace wsys::sim
