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
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "winsys/sim/dma_constraints.h"
#include "winsys/sim/phys_layout.h"

namespace wsys::sim {

class SharedAllocator;
class SharedBuffer;
using SharedBufferPtr = std::shared_ptr<SharedBuffer>;

// One device's attachment. Detaches when destroyed.
class SharedAttachment {
 public:
  ~SharedAttachment();
  SharedAttachment(const SharedAttachment&) = delete;
  SharedAttachment& operator=(const SharedAttachment&) = delete;
  const SharedBufferPtr& buffer() const { return buf_; }
  uint32_t domain() const { return domain_; }
  const DmaConstraints& constraints() const { return c_; }
  int map_count() const { return map_count_; }

 private:
  SharedAttachment(SharedBufferPtr buf, uint32_t domain, const DmaConstraints& c)
      : buf_(std::move(buf)), domain_(domain), c_(c) {}
  SharedBufferPtr buf_;
  uint32_t domain_;
  DmaConstraints c_;
  int map_count_ = 0;  // guarded by the allocator's lock
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

  // A snapshot under the allocator's lock.
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
  ino_t inode_ = 0;
  // All below guarded by the allocator's lock.
  bool upfront_ = false;  // finalized at creation by the ION-style policy: never migrates
  bool finalized_ = false;
  bool cpu_used_ = false;
  Placement placement_;
  std::vector<SharedAttachment*> attachments_;
  uint32_t last_unmet_ = 0, migrations_ = 0;
  bool cpu_dirty_ = false, device_wrote_ = false;
  // The GPU devices whose memory budget its placement is charged to.
  std::vector<class SimDevice*> charged_;
  friend class SharedAllocator;
  friend class SharedAttachment;
};

struct SharedAllocStats {
  uint64_t cma_size = 0, cma_used = 0, cma_peak = 0, cma_largest_free = 0;
  uint64_t cache_flushes = 0, cache_invalidates = 0, cache_ops_avoided = 0;
  uint64_t migrations = 0, finalize_failures = 0, refused_attaches = 0;
};

class SharedAllocator {
 public:
  explicit SharedAllocator(const PhysLayoutConfig& cfg);
  ~SharedAllocator();
  SharedAllocator(const SharedAllocator&) = delete;
  SharedAllocator& operator=(const SharedAllocator&) = delete;

  // The process-wide allocator of the model (never destroyed). Its CMA
  // region is WSYS_SIM_CMA_SIZE bytes (suffix K/M/G; default 128M).
  static SharedAllocator& model();

  // A new buffer of `size` bytes (page-rounded). With `memfd_out` a model
  // dma-buf memfd is made (the caller gets its own O_CLOEXEC fd); without,
  // the buffer is bookkeeping only (benches). `upfront`: the ION-style
  // baseline, finalized now from `uses` (-ENOMEM if the heap is full).
  int create(uint64_t size, uint32_t uses, bool upfront, SharedBufferPtr* out, int* memfd_out);
  // The buffer behind a dma-buf fd, or null.
  SharedBufferPtr find(int fd);

  // 0, -EINVAL with *unmet set, or -ENOMEM (a needed migration had no room).
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
  int finalize_locked(SharedBuffer& b);
  // The memory budget (WSYS_SIM_MEMORY_BUDGET) of every model GPU device:
  // see shared_alloc.cpp. False (nothing charged) when a device is full.
  bool charge_locked(SharedBuffer& b);
  void uncharge_locked(SharedBuffer& b);
  DmaConstraints union_locked(const SharedBuffer& b, const DmaConstraints* extra) const;
  void log_locked(std::string line);
  void detach(SharedAttachment* a);
  void release(SharedBuffer* b);

  mutable std::mutex mu_;
  PhysLayout layout_;
  std::map<ino_t, std::weak_ptr<SharedBuffer>> by_inode_;
  std::deque<std::string> log_;
  SharedAllocStats counters_;
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
