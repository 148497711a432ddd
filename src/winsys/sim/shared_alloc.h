// The model's central allocator of shared buffers with deferred backing
// (a MODEL EXTENSION, issue 19; uAPI in drm-uapi/wsys_sim_alloc.h, design
// and figures in docs/deferred-allocation.md).
//
// A SharedBuffer starts with no placement. Devices attach with their DMA
// constraints; the first use (a MAP of any attachment, a CPU access, a GPU
// bind) finalizes the placement from the union of the attached
// constraints (dma_constraints.h). A later attach the placement breaks
// migrates the buffer when nothing has it mapped and it was not used by
// the CPU, and is refused (-EINVAL, the unmet constraint logged) when it
// is; a union that can never hold is refused at once. Pool exhaustion is
// -ENOMEM. Real memory is the buffer's memfd, as for every model object:
// the placement is bookkeeping in the simulated physical layout.
//
// Cache domains: the CPU cache is the only one modelled (every device is
// treated as non-coherent, the worst case, as display and camera engines
// are). A device access cleans the CPU cache only if the CPU wrote since;
// a CPU access invalidates only if a device wrote since. A device-to-device
// hand-over therefore costs nothing. The baseline counted beside it is
// maintenance at every access (a clean before each device access, an
// invalidate before each CPU access), which is what mapping and unmapping
// around each use does without domain tracking.
//
// Lifetimes: the allocator file that created a buffer holds a reference
// until FREE or close; every attachment holds one (GEM imports hold theirs
// in the SimBo). The model cannot see close() of a plain dma-buf fd, so an
// fd alone does not keep the placement (it keeps the memfd's pages).
//
// Several processes: the state (buffer records, attachments, placements,
// the physical layout, counters, log) is a fixed-size table set
// (alloc_state.h) in private memory or in a file every process of one
// "system" maps (alloc_system.h, WSYS_SIM_SYSTEM). One code path serves
// both. A SharedBuffer here is this process's view of a record: the first
// view of a record in a process is one reference of it (its pid among the
// holders), made when the process creates the buffer or finds it behind a
// dma-buf fd it received. The placement goes with the last reference of
// any process; a process that dies loses its references and attachments
// (AllocState::sweep_dead). The memory budget is this process's: a
// placement is charged to the GPU devices of the process that placed it,
// until that process lets go of the buffer.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "winsys/sim/alloc_state.h"
#include "winsys/sim/dma_constraints.h"
#include "winsys/sim/phys_layout.h"

namespace wsys::sim {

class SharedAllocator;
class SharedBuffer;
using SharedBufferPtr = std::shared_ptr<SharedBuffer>;

// One device's attachment (a record in the tables). Detaches when destroyed.
class SharedAttachment {
 public:
  ~SharedAttachment();
  SharedAttachment(const SharedAttachment&) = delete;
  SharedAttachment& operator=(const SharedAttachment&) = delete;
  const SharedBufferPtr& buffer() const { return buf_; }
  uint32_t domain() const { return domain_; }
  const DmaConstraints& constraints() const { return c_; }

 private:
  SharedAttachment(SharedBufferPtr buf, uint32_t domain, const DmaConstraints& c)
      : buf_(std::move(buf)), domain_(domain), c_(c) {}
  SharedBufferPtr buf_;
  uint32_t domain_;
  DmaConstraints c_;
  uint32_t slot_ = kNoIndex, gen_ = 0;  // the record
  pid_t pid_ = 0;                       // who made it (a forked copy does not own it)
  friend class SharedAllocator;
};
using SharedAttachmentPtr = std::shared_ptr<SharedAttachment>;

class SharedBuffer {
 public:
  ~SharedBuffer();
  SharedBuffer(const SharedBuffer&) = delete;
  SharedBuffer& operator=(const SharedBuffer&) = delete;
  uint64_t size() const { return size_; }
  uint32_t uses() const { return uses_; }
  int memfd() const { return memfd_; }  // -1 for a bookkeeping-only buffer
  SharedAllocator& allocator() const { return *alloc_; }

  // A snapshot under the allocator's lock (every process's attachments).
  struct State {
    bool finalized = false, mapped = false, cpu_used = false;
    Placement placement;
    uint32_t attachments = 0, last_unmet = 0, migrations = 0;
  };
  State state() const;

 private:
  SharedBuffer(SharedAllocator* a, uint64_t size, uint32_t uses, int memfd)
      : alloc_(a), size_(size), uses_(uses), memfd_(memfd) {}
  SharedAllocator* alloc_;
  uint64_t size_;
  uint32_t uses_;
  int memfd_;
  uint32_t slot_ = kNoIndex, gen_ = 0;      // the record
  pid_t pid_ = 0;                           // the holder this view is
  std::pair<uint64_t, uint64_t> id_{0, 0};  // the memfd's (dev, inode)
  // The GPU devices of this process whose memory budget the placement is
  // charged to; guarded by the allocator's lock.
  std::vector<class SimDevice*> charged_;
  friend class SharedAllocator;
};

class SharedAllocator {
 public:
  // An allocator of its own, in private memory (tests, benches).
  explicit SharedAllocator(const PhysLayoutConfig& cfg);
  // An allocator over the system file at `path` (alloc_system.h), shared
  // with every process that maps it; null with *why set on failure.
  static std::unique_ptr<SharedAllocator> open_system(const std::string& path,
                                                      const PhysLayoutConfig& cfg,
                                                      std::string* why);
  ~SharedAllocator();
  SharedAllocator(const SharedAllocator&) = delete;
  SharedAllocator& operator=(const SharedAllocator&) = delete;

  // The process-wide allocator of the model (never destroyed): the system
  // WSYS_SIM_SYSTEM selects (alloc_system.h), private by default; if the
  // system cannot be mapped, a message on stderr names the file and why,
  // and the allocator is private. A new system's CMA region is
  // WSYS_SIM_CMA_SIZE bytes (suffix K/M/G; default 128M); a system made
  // already keeps the size it was made with.
  static SharedAllocator& model();

  // The system file, or "" when private.
  const std::string& system_path() const { return path_; }

  // A new buffer of `size` bytes (page-rounded). With `memfd_out` a model
  // dma-buf memfd is made (the caller gets its own O_CLOEXEC fd); without,
  // the buffer is bookkeeping only (benches). `upfront`: the ION-style
  // baseline, finalized now from `uses` (-ENOMEM if the heap is full).
  // -ENOSPC when the tables are full.
  int create(uint64_t size, uint32_t uses, bool upfront, SharedBufferPtr* out, int* memfd_out);
  // The buffer behind a dma-buf fd (made by any process of the system), or
  // null: *err (if given) is 0 for an fd that is no shared buffer, else
  // -ENOSPC (no room to reference it) or -ENOMEM.
  SharedBufferPtr find(int fd, int* err = nullptr);

  // 0, -EINVAL with *unmet set, -ENOMEM (a needed migration had no room)
  // or -ENOSPC (the attachment table is full).
  int attach(const SharedBufferPtr& buf, uint32_t domain, const DmaConstraints& c,
             SharedAttachmentPtr* out, uint32_t* unmet);
  // A device maps the buffer for DMA: the first use finalizes. -ENOMEM.
  int map(SharedAttachment& a);
  int unmap(SharedAttachment& a);  // -EINVAL if not mapped
  // An access by `domain` (WSYS_ALLOC_DOMAIN_*) begins; the CPU's is a
  // first use. `write`/`read` as WSYS_ALLOC_SYNC_*. -ENOMEM.
  int sync(SharedBuffer& b, uint32_t domain, uint32_t flags);

  // A CPU mapping of the buffer (GEM mmap): a first use; the buffer never
  // migrates afterwards (the model cannot see munmap). -ENOMEM.
  int cpu_map(SharedBuffer& b);

  SharedAllocStats stats() const;
  void reset_peaks();
  // The model's log of refusals (last 64 lines), for tests and tools.
  std::vector<std::string> log_lines() const;

 private:
  SharedAllocator(AllocState* s, std::string path);
  // The state's lock; in a system, also registers this process and drops
  // what dead processes left. Null (nothing held) if the lock is unusable.
  class Locked;
  SharedAllocStats& counters() { return s_->counters; }
  int finalize_locked(SharedBuffer& b);
  // The memory budget (WSYS_SIM_MEMORY_BUDGET) of every model GPU device:
  // see shared_alloc.cpp. False (nothing charged) when a device is full.
  bool charge_locked(SharedBuffer& b);
  void uncharge_locked(SharedBuffer& b);
  DmaConstraints union_locked(const SharedBuffer& b, const DmaConstraints* extra) const;
  bool mapped_locked(const SharedBuffer& b) const;
  void log_locked(std::string line);
  SharedBufferPtr view_locked(uint32_t slot, uint64_t size, uint32_t uses, int memfd, int* err);
  void detach(SharedAttachment* a);
  void release(SharedBuffer* b);

  AllocState* s_;
  std::string path_;  // "" when private
  // This process's views by memfd identity, guarded by the state's lock.
  std::map<std::pair<uint64_t, uint64_t>, std::weak_ptr<SharedBuffer>> views_;
  friend class SharedBuffer;
  friend class SharedAttachment;
};

// True unless WSYS_SIM_DEFERRED_ALLOC=0: the GPU devices then neither
// report the feature nor treat allocator buffers specially on import.
bool deferred_alloc_supported();

// The constraints of the model's GPU: everything its physical address
// bits reach, any layout.
DmaConstraints gpu_dma_constraints(uint32_t pa_bits);

}  // namespace wsys::sim
