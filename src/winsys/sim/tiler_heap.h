// panthor tiler heaps of the model (TILER_HEAP_CREATE / DESTROY and the
// tiler's out-of-memory growth).
//
// Kernel facts followed (kernel-uapi.md, "Tiler heap (chunked, CSF)"):
//   - Each VM has a heap pool of 128 heap contexts; a context is 32 bytes,
//     zeroed at creation. The model keeps the pool in one BO (128 slots of
//     64 bytes, a GPU cache line each) mapped no-exec in the VM's
//     kernel-reserved VA range (SimVm::alloc_kernel_va / map_kernel), so
//     tiler_heap_ctx_gpu_va is a real GPU address user binds cannot reach.
//   - A chunk is a `chunk_size` BO (not mmappable, not exportable) mapped
//     no-exec in the kernel VA range, with the 64-byte header
//     {u64 next; u32 unknown[14]} in GPU memory and the link encoding
//     next = (gpu_va & ~0xfff) | (chunk_size >> 12); 0 ends the list.
//     Initial chunks are linked first -> second -> ...; the model appends
//     grown chunks at the tail (the list order is the tiler's write order).
//   - Growth (out-of-memory event): one more chunk unless chunk_count >=
//     max_chunks or render passes in flight > target_in_flight, in which
//     case "no chunk". fault_inject_check("chunk_grow") failing is "no chunk".
//   - Chunks are freed only when the heap is destroyed or a fragment hands
//     them back.
//
// Model-specific, documented choice for the signalling section: growth
// happens while a job runs (inside the section), so it must not allocate.
// Chunk BOs are therefore prepared OUTSIDE the section, in the job's
// preparation step: prepare_for_job() reads the job's stream (outside the
// section), sums the bytes its TILER commands on this heap can write and
// makes sure spare chunks exist for that much (never beyond max_chunks).
// grow() (inside the section) only links a prepared spare. A FRAGMENT moves
// the released chunks to the spare list (no free inside the section);
// finish_job() (outside the section) frees the spares no longer needed, so
// committed memory stays within one chunk of what the tiler wrote.
//
// Render passes in flight: a TILER on a heap with no pass open starts one
// (vt_start++); FRAGMENT ends it (frag_end++). in-flight = vt_start - frag_end.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>

#include "winsys/sim/cmdstream.h"
#include "winsys/sim/gem.h"

namespace wsys::sim {

class SimDevice;
class SimVm;

inline constexpr uint32_t kTilerHeapsPerVm = 128;
inline constexpr uint32_t kTilerHeapCtxSize = 32;
inline constexpr uint32_t kTilerHeapCtxStride = 64;
inline constexpr uint32_t kTilerChunkHeaderSize = 64;
inline constexpr uint32_t kTilerChunkMin = 128u << 10;
inline constexpr uint32_t kTilerChunkMax = 8u << 20;

struct TilerHeapStats {
  uint32_t chunk_count = 0;        // chunks linked in the heap
  uint32_t spare_chunks = 0;       // prepared, not yet linked
  uint64_t committed_bytes = 0;    // (chunk_count + spare_chunks) * chunk_size
  uint64_t bytes_written = 0;      // primitive bytes the tiler stored (total)
  uint64_t peak_committed = 0;     // max committed_bytes ever
  uint64_t grow_count = 0;         // successful growths
  uint64_t grow_refused = 0;       // "no chunk" answers
  uint32_t in_flight = 0;          // render passes in flight
};

class TilerHeap {
 public:
  struct Params {
    uint32_t initial_chunk_count = 0;
    uint32_t chunk_size = 0;
    uint32_t max_chunks = 0;
    uint32_t target_in_flight = 0;
  };
  ~TilerHeap();
  TilerHeap(const TilerHeap&) = delete;
  TilerHeap& operator=(const TilerHeap&) = delete;

  uint64_t ctx_va() const { return ctx_va_; }
  uint64_t first_chunk_va() const;
  uint32_t chunk_size() const { return p_.chunk_size; }
  TilerHeapStats stats() const;

  // Job preparation (outside the section): simulate the job's TILER and
  // FRAGMENT commands on this heap to find the most chunks it will have
  // linked at once, then prepare_spares() makes that many exist (bounded by
  // max_chunks). Allocation failure only means fewer spares (the tiler will
  // see "no chunk").
  struct Plan {
    uint32_t linked = 0, cur = 0, peak = 0;
    uint64_t off = 0;
  };
  Plan plan_begin() const;
  void plan_tiler(Plan& pl, uint32_t count, uint32_t prim_size) const;
  void plan_fragment(Plan& pl) const;
  void prepare_spares(uint32_t peak_linked);
  // Outside the section: free spares beyond `keep`.
  void trim_spares(uint32_t keep = 0);

  // --- inside the signalling section (never allocate) ---
  // The TILER command on this heap: appends primitives, growing on
  // out-of-memory; stops at "no chunk". Returns 0 or -EFAULT.
  int tiler(SimVm& vm, const SimCmdTiler& cmd, uint32_t* stored);
  // The FRAGMENT command: checksums the written primitives (if result_va),
  // hands back every chunk but the first, resets the write position.
  int fragment(SimVm& vm, const SimCmdFragment& cmd);
  // The out-of-memory event: links one spare chunk. False = "no chunk".
  bool grow();

 private:
  friend class TilerHeapPool;
  struct Chunk {
    SimBoPtr bo;
    uint64_t va = 0;
    Chunk* next = nullptr;
    uint64_t used = kTilerChunkHeaderSize;  // bytes written incl. the header
  };
  TilerHeap(SimDevice* dev, std::weak_ptr<SimVm> vm, const Params& p, uint64_t ctx_va);
  int make_chunk(SimVm& vm, Chunk** out);
  void free_chunk(Chunk* c);
  uint64_t link_value(const Chunk* c) const;
  void write_link(Chunk* c);  // writes c's header with its next link
  uint64_t committed_locked() const;
  bool grow_locked();

  SimDevice* dev_;
  std::weak_ptr<SimVm> vm_;
  Params p_;
  uint64_t ctx_va_;
  // All under lock_ (a plain mutex: allowed inside a signalling section,
  // never held while allocating).
  mutable std::mutex lock_;
  Chunk* head_ = nullptr;
  Chunk* tail_ = nullptr;
  Chunk* cur_ = nullptr;     // the chunk the tiler writes into
  uint64_t cur_off_ = 0;     // write offset within cur_
  Chunk* spares_ = nullptr;  // prepared chunks (singly linked)
  uint32_t chunk_count_ = 0;
  uint32_t spare_count_ = 0;
  uint64_t bytes_written_ = 0;
  uint64_t peak_ = 0;
  uint64_t grow_count_ = 0, grow_refused_ = 0;
  uint64_t vt_start_ = 0, frag_end_ = 0;
  bool pass_open_ = false;
};

// One VM's heap pool: the context BO and up to 128 heaps.
class TilerHeapPool {
 public:
  // Creates the pool for `vm` (maps the context BO). Null with *err.
  static std::shared_ptr<TilerHeapPool> create(SimDevice* dev, const std::shared_ptr<SimVm>& vm,
                                               int* err);
  ~TilerHeapPool();
  // TILER_HEAP_CREATE after validation: 0 and *id (0..127), or -ENOMEM /
  // -EBUSY? (see the ioctl: the kernel's xa_alloc limit gives -EBUSY).
  int create_heap(SimDevice* dev, const TilerHeap::Params& p, uint32_t* id,
                  std::shared_ptr<TilerHeap>* out);
  // Removes heap `id`; -EINVAL if none. The heap's memory goes when the
  // last reference (a running job's) drops.
  int destroy_heap(uint32_t id);
  std::shared_ptr<TilerHeap> get(uint32_t id) const;
  // Inside a section: the heap whose context is at `ctx_va` (a copy of the
  // reference; never the last one, the job pinned it in prepare).
  std::shared_ptr<TilerHeap> find_by_ctx(uint64_t ctx_va) const;
  std::weak_ptr<SimVm> vm() const { return vm_; }
  size_t heap_count() const;
  // Destroys every heap (file close / VM gone).
  void clear();

 private:
  TilerHeapPool() = default;
  std::weak_ptr<SimVm> vm_;
  SimBoPtr ctx_bo_;
  uint64_t ctx_base_ = 0;
  mutable std::mutex lock_;
  std::array<std::shared_ptr<TilerHeap>, kTilerHeapsPerVm> heaps_;
  // Slots a create in progress has taken (under lock_), so concurrent
  // creates on one VM get different ids, as the kernel's xa_alloc gives.
  std::array<bool, kTilerHeapsPerVm> reserved_{};
};

}  // namespace wsys::sim
