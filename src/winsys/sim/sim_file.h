// SimFile: one open file of the model device (what open(2) of a render node
// creates in the kernel: a drm_file). Holds the file's GEM handles, syncobj
// handles and VMs, and dispatches ioctls the way drm_ioctl() does.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "winsys/sim/gem.h"
#include "winsys/sim/handle_table.h"
#include "winsys/sim/signalling.h"
#include "winsys/sim/syncobj.h"

namespace wsys::sim {

class SimDevice;
class SimVm;

inline constexpr uint32_t kMaxVmsPerFile = 32;  // panthor VM ids 1..32

class SimFile {
 public:
  explicit SimFile(SimDevice* dev);
  ~SimFile();
  SimFile(const SimFile&) = delete;
  SimFile& operator=(const SimFile&) = delete;

  // drm_ioctl(): copies the argument in (user size, zero-filled up to the
  // model's struct size), runs the handler, copies out (even on error, as
  // the kernel does). Returns 0 or a negative errno.
  int ioctl(unsigned long cmd, void* user_arg);

  SimDevice* device() const { return dev_; }
  // The file's drm-client-id (fdinfo): unique in the process, from 1, as
  // the kernel's are per device (the model has one device per driver).
  uint64_t client_id() const { return client_id_; }

  // --- Driver-private per-file state (the kernel's drm_file.driver_priv) ---
  // gem_open/gem_close are the GEM object open/close callbacks: gem_open
  // runs when an object gets its handle in this file (creation or PRIME
  // import), before the handle exists, and may refuse it; gem_close runs
  // after the handle went away (GEM_CLOSE). panfrost maps objects into the
  // file's VM there. Neither is called on file close (VMs go first).
  class DriverPriv {
   public:
    virtual ~DriverPriv() = default;
    virtual int gem_open(SimFile&, const SimBoPtr&) { return 0; }
    virtual void gem_close(SimFile&, const SimBoPtr&) {}
    // First thing on file close, before the VMs go (panthor: groups are
    // destroyed, their jobs cancelled, tiler heaps released).
    virtual void file_closing(SimFile&) {}
  };
  DriverPriv* driver_priv() const { return priv_.get(); }

  // panthor SET_USER_MMIO_OFFSET (1.5): where this file's user MMIO page
  // lives in its mmap space (the 64-bit default of a 64-bit process).
  std::atomic<uint64_t> user_mmio_offset{1ull << 56};

  // --- GEM handles ---
  // Returns the file's handle for `bo`, creating one if needed (the same
  // object always has the same handle in one file). 0 if the table is full
  // (*err = -ENOSPC) or the driver's gem_open refused (*err = its errno).
  uint32_t handle_for(const SimBoPtr& bo, int* err = nullptr);
  SimBoPtr lookup_bo(uint32_t handle);
  // True if this file holds a handle to `bo` (the mmap permission check).
  bool has_bo(const SimBo* bo);
  // GEM_CLOSE: -EINVAL for an unknown handle.
  int close_handle(uint32_t handle);
  size_t bo_handle_count();
  // The objects this file holds handles to (accounting.cpp).
  std::vector<SimBoPtr> bo_snapshot();

  // --- syncobj handles ---
  uint32_t add_syncobj(SyncobjPtr s);
  SyncobjPtr lookup_syncobj(uint32_t handle);
  SyncobjPtr remove_syncobj(uint32_t handle);

  // --- VMs (panthor ids 1..32; panfrost uses the single per-file VM) ---
  // Installs `vm` at the lowest free id; returns the id or 0 if all 32 used.
  uint32_t add_vm(std::shared_ptr<SimVm> vm);
  std::shared_ptr<SimVm> lookup_vm(uint32_t id);
  std::shared_ptr<SimVm> remove_vm(uint32_t id);
  // panfrost: the file's address space, created with the file.
  std::shared_ptr<SimVm> panfrost_vm();
  void set_panfrost_vm(std::shared_ptr<SimVm> vm);

  // Guards the tables above. May be held while allocating, so it is a
  // ReclaimMutex: a signalling section must never take it.
  ReclaimMutex& lock() { return lock_; }

 private:
  static uint64_t next_client_id();
  const uint64_t client_id_ = next_client_id();
  SimDevice* dev_;
  ReclaimMutex lock_;
  HandleTable<SimBo> bos_;
  std::unordered_map<const SimBo*, uint32_t> bo_handles_;
  HandleTable<Syncobj> syncobjs_;
  std::array<std::shared_ptr<SimVm>, kMaxVmsPerFile + 1> vms_;
  std::shared_ptr<SimVm> panfrost_vm_;
  // Serialises handle creation/removal with the driver's gem_open/close
  // (taken before lock_).
  ReclaimMutex gem_lock_;
  std::unique_ptr<DriverPriv> priv_;
};

// panfrost's per-file state (panfrost_ioctls.cpp), created with the file.
std::unique_ptr<SimFile::DriverPriv> make_panfrost_file_priv();
// panthor's per-file state (groups, tiler heaps: panthor_group.cpp).
std::unique_ptr<SimFile::DriverPriv> make_panthor_file_priv();

}  // namespace wsys::sim
