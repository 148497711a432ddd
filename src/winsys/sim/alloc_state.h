// The central allocator's whole state as fixed-size tables without
// pointers (a MODEL EXTENSION, issue 19; docs/deferred-allocation.md,
// "Several processes"), so that one allocator can be shared by every
// process that maps the same file: buffer records keyed by their memfd's
// (dev, inode), attachments with their owning pid, the extents of the
// placements, the simulated physical layout, the counters of STATS and the
// refusal log. SharedAllocator (shared_alloc.h) keeps its policy on top;
// this file keeps the tables consistent.
//
// The same struct serves a single process (private anonymous memory, the
// default) and a "system" (a file mapped MAP_SHARED, alloc_system.h). Its
// lock is a process-shared robust pthread mutex: a process that dies
// holding it leaves the tables possibly half-updated, so the next locker
// repairs them (repair()) before going on. Processes that die without the
// lock leave attachments and references behind: sweep_dead() drops them
// (checked with kill(pid, 0), as the stats segment's readers do).
#pragma once

#include <pthread.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "winsys/sim/dma_constraints.h"
#include "winsys/sim/phys_layout.h"

namespace wsys::sim {

struct SharedAllocStats {
  uint64_t cma_size = 0, cma_used = 0, cma_peak = 0, cma_largest_free = 0;
  uint64_t cache_flushes = 0, cache_invalidates = 0, cache_ops_avoided = 0;
  uint64_t migrations = 0, finalize_failures = 0, refused_attaches = 0;
};

inline constexpr char kAllocStateMagic[8] = {'W', 'S', 'Y', 'S', 'A', 'L', 'O', 'C'};
inline constexpr uint32_t kAllocStateVersion = 1;
inline constexpr uint32_t kNoIndex = ~0u;

// One shared buffer. `gen` 0 marks a free slot; a slot reused gets a new
// generation, so a stale reference (index, gen) is recognised.
struct AllocBufferRec {
  static constexpr uint32_t kMaxHolders = 32;
  uint32_t gen;
  uint32_t uses;
  uint64_t dev, ino;  // the memfd's identity; 0, 0 for a bookkeeping-only buffer
  uint64_t size;
  uint8_t upfront;  // finalized at creation by the ION-style policy: never migrates
  uint8_t finalized, cpu_used, cpu_dirty, device_wrote, pad[3];
  uint32_t zone;      // PhysZone of the placement
  uint32_t ext_head;  // first extent (index into extents), kNoIndex: none
  uint32_t ext_count;
  uint32_t last_unmet, migrations;
  // The processes holding a reference (one entry per process-local
  // SharedBuffer); the placement goes with the last.
  int32_t holders[kMaxHolders];
};

struct AllocAttachRec {
  uint32_t gen;  // 0: free slot
  uint32_t buf;  // index into bufs
  uint32_t buf_gen;
  int32_t pid;  // the process whose device attached
  uint32_t domain;
  int32_t map_count;
  DmaConstraints c;
};

struct AllocExtentRec {
  uint64_t addr, size;
  uint32_t next;  // the next extent of the same placement or free list, kNoIndex: none
  uint32_t pad;
};

struct AllocState {
  static constexpr uint32_t kMaxProcs = 64;
  static constexpr uint32_t kMaxBuffers = 1024;
  static constexpr uint32_t kMaxAttachments = 4096;
  // One fewer than a zone's free ranges: the layout can never run out.
  static constexpr uint32_t kMaxExtents = PhysLayout::kMaxFreeRanges - 1;
  static constexpr uint32_t kLogLines = 64, kLogLineBytes = 160;

  // Header (version 1). `magic` is stored last when the file is made.
  char magic[8];
  uint32_t version, size;  // kAllocStateVersion, sizeof(AllocState)
  pthread_mutex_t mu;      // process-shared, robust
  PhysLayoutConfig cfg;    // what the layout was made with (the first process's)
  uint32_t next_gen;
  uint32_t free_extents;  // head of the free extent list
  SharedAllocStats counters;
  uint32_t log_next, log_count;
  char log[kLogLines][kLogLineBytes];
  int32_t procs[kMaxProcs];  // the processes that use the tables, 0: free
  AllocBufferRec bufs[kMaxBuffers];
  AllocAttachRec atts[kMaxAttachments];
  AllocExtentRec extents[kMaxExtents];
  PhysLayout layout;

  // Fills a zeroed struct (not the magic): tables, layout, the mutex
  // (process-shared when `shared`; robust either way).
  void init(const PhysLayoutConfig& c, bool shared);

  // Locks; false with nothing held if the mutex cannot be had (it was
  // made unusable). Repairs the tables first when the previous holder died.
  bool lock();
  void unlock();

  // --- under the lock ---
  uint32_t new_buffer();  // kNoIndex when the table is full
  // Frees the placement and the record.
  void free_buffer(uint32_t b);
  bool live(uint32_t b, uint32_t gen) const { return b < kMaxBuffers && gen && bufs[b].gen == gen; }
  uint32_t find_buffer(uint64_t dev, uint64_t ino) const;  // kNoIndex if none
  bool add_holder(uint32_t b, int32_t pid);
  // Removes one entry of `pid`; true if none is left (the record is unreferenced).
  bool drop_holder(uint32_t b, int32_t pid);

  // The record's placement (extents in the layout, recorded in the pool).
  Placement placement(uint32_t b) const;
  // Records `p` (already taken from the layout); false if the pool is full
  // (the caller gives the extents back).
  bool set_placement(uint32_t b, Placement p);
  void drop_placement(uint32_t b);  // back to the layout and the pool

  uint32_t new_attachment();  // kNoIndex when the table is full
  // Live attachments of buffer b.
  template <typename Fn>
  void for_each_attachment(uint32_t b, Fn fn) {
    for (AllocAttachRec& a : atts)
      if (a.gen && a.buf == b && a.buf_gen == bufs[b].gen) fn(a);
  }

  void log_line(const std::string& line);
  std::vector<std::string> log_lines() const;

  // Registers `pid` as a user of the tables (a no-op if it is one);
  // false if the process table is full.
  bool register_proc(int32_t pid);
  // Drops everything of registered processes that no longer exist: their
  // attachments, their references, the buffers nobody else holds. Returns
  // how many processes were gone.
  uint32_t sweep_dead();
  void drop_process(int32_t pid);

  // After a holder of the lock died: rebuilds the extent pool and the
  // layout's free space from the buffer records, drops attachments of free
  // records, then sweeps dead processes.
  void repair();
};

}  // namespace wsys::sim
