// wsys::Heap: a context's growable tiler heap, sized by what its frames
// actually use.
//
// The anchors reserve a 128 MiB worst case (panthor: TILER_HEAP_CREATE per
// context with 5 chunks of 2 MiB that grows to 64; panfrost: one growable
// HEAP BO per device) and never give memory back: a heap that once held a
// 40 MiB frame holds 40 MiB until it is destroyed. A Heap (one per context)
// reserves the same worst case but
//  - commits, when it is created, what recent frames needed (panthor: the
//    initial chunk count; HeapSizingPolicy::initial_commit over the frames
//    recorded with record_frame), growing on demand beyond that as the
//    kernel does (tiler out-of-memory chunks, panfrost GPU faults);
//  - recreates itself smaller when it is idle and clearly oversized
//    (maybe_shrink): neither kernel can return a heap's memory in place, so
//    the only way to give it back is a new heap.
//
// Kinds (HeapKind; the kernel's capability decides, kmod::DeviceProps::
// growable_heap):
//   TilerHeap   a kernel tiler heap on the device VM (panthor): submissions
//               use context_va() / first_chunk_va() (handle() to name it to
//               the kernel).
//   GrowableBo  a growable heap BO (panfrost HEAP: no pages until the GPU
//               faults on them; the kernel commits 2 MiB per fault):
//               submissions use heap_va() / heap_size(), and put the BO on
//               the job's BO list (an in-tree submitter gets it from the
//               HeapUse through src/winsys/core/kernel_access.h).
//
// Recreation changes these addresses (generation() counts the heaps), so a
// submission that may race a shrink on another thread takes them from
// begin_use(), which holds shrinks off until the HeapUse is committed.
//
// "Committed" is the winsys's best knowledge: neither kernel tells userspace
// how many chunks or pages a heap holds. It is what the kernel keeps for this
// heap if it never hands memory back before the heap is destroyed (true of
// both kernels):
//   panthor   max(initial chunks, chunks_for(peak usage since creation))
//             x chunk_size, at most max_chunks chunks, where
//             chunks_for(u) = ceil(u / (chunk_size - 64)) (64-byte chunk header);
//   panfrost  round_up(peak usage since creation, 2 MiB), at most the BO size
//             (the tiler writes from heap_va up; pages fault in 2 MiB blocks).
// Usage is what the frontend reports with record_frame (the model's TILER
// command writes the primitives stored to result_va), so a frame never
// recorded is invisible to the estimate. docs/scratch-and-heaps.md, "Heaps".
//
// Thread-safe: every call may come from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "wsys/result.hpp"
#include "wsys/vm.hpp"

namespace wsys {

namespace kmod {
class Bo;
}
class Device;
struct KernelAccess;

// What kind of kernel object backs a Heap (see the top of this file).
enum class HeapKind { TilerHeap, GrowableBo };

// The device defaults for tiler heaps (kmod's TilerHeapCreateInfo, Mesa's
// values): 2 MiB chunks, at most 64 (128 MiB), target_in_flight 65535.
inline constexpr uint32_t kHeapDefaultChunkBytes = 2u << 20;
inline constexpr uint32_t kHeapDefaultMaxChunks = 64;
inline constexpr uint32_t kHeapDefaultTargetInFlight = 65535;

struct HeapConfig {
  // Chunk parameters, by default the device defaults above (128 MiB
  // reserved). chunk_size_bytes must be a
  // power of two in [128 KiB, 8 MiB] (the kernel's range; a power of two so
  // commitments are whole chunks). panfrost: the HEAP BO is
  // chunk_size_bytes x max_chunks (rounded up to 2 MiB); the kernel commits
  // in 2 MiB steps whatever the chunk size.
  uint32_t chunk_size_bytes = kHeapDefaultChunkBytes;
  uint32_t max_chunks = kHeapDefaultMaxChunks;
  uint32_t target_in_flight = kHeapDefaultTargetInFlight;  // panthor only

  // Non-zero: always create the heap with this many chunks (panthor),
  // ignoring the history; the anchors' policy is 5 with idle_shrink off.
  uint32_t fixed_initial_chunks = 0;
  // Recreate an idle, oversized heap smaller in maybe_shrink().
  bool idle_shrink = true;

  // The sizing policy (src/winsys/core/heap_policy.h; same defaults). The
  // commit unit is the chunk (panthor) or the 2 MiB fault step (panfrost).
  uint32_t history_frames = 16;    // 1..64 frames remembered
  double headroom = 0.25;          // fraction of the window peak added (>= 1 unit), 0..4
  uint64_t idle_shrink_ns = 1'000'000'000;  // idle this long before a shrink (> 0)
  double shrink_factor = 2.0;      // oversized: committed > factor x recommendation (> 1)
  uint32_t cold_start_granules = 4;  // commitment before any frame (units)

  // Time source for record_frame / mark_used / maybe_shrink() (ns, never
  // going back); default CLOCK_MONOTONIC. Tests and benches pass a fake one.
  std::function<uint64_t()> clock;
  // Shown by WSYS_DEBUG=heap, and the panfrost BO's label where supported.
  std::string label;
};

struct HeapStats {
  uint64_t reserved_bytes = 0;   // the most the heap can ever commit
  uint64_t committed_bytes = 0;  // best knowledge (see the top of this file)
  uint64_t peak_committed_bytes = 0;  // max committed_bytes, over every recreation
  // What the current kernel heap committed when it was created (panthor:
  // initial chunks x chunk size; panfrost: 0, a HEAP BO starts empty).
  uint64_t initial_commit_bytes = 0;
  // What a heap created now would commit: the policy's recommendation
  // (panfrost: what the shrink decision compares with).
  uint64_t recommended_commit_bytes = 0;
  uint64_t window_peak_bytes = 0;  // largest usage among the remembered frames
  uint64_t last_frame_bytes = 0;
  uint64_t frames = 0;           // record_frame calls
  uint64_t recreations = 0;      // idle shrinks done
  uint64_t shrink_failures = 0;  // shrinks the kernel refused (the old heap kept)
  uint64_t rebuilds = 0;         // recreate() calls and lazy re-creations
  uint64_t generation = 0;       // kernel heaps created so far (1 after create)
  bool live = false;             // a kernel heap exists now
};

// What a submission needs to use the heap. Unused fields are 0.
struct HeapTarget {
  uint32_t handle = 0;          // TilerHeap: the tiler heap handle; GrowableBo: the BO's GEM handle
  uint64_t context_va = 0;      // TilerHeap: tiler_heap_ctx_gpu_va
  uint64_t first_chunk_va = 0;  // TilerHeap: first_heap_chunk_gpu_va
  uint64_t heap_va = 0;         // GrowableBo: the BO's GPU VA
  uint64_t heap_size_bytes = 0;  // GrowableBo: its size
  uint64_t generation = 0;      // changes when the heap is recreated
};

class Heap;

// A submission in progress on a heap: while it lives, the heap is not
// recreated, so target() stays valid. commit() records the submission's
// completion point (as Heap::mark_used) and ends the hold; dropping it
// uncommitted (a submission that failed) just ends the hold. Must not
// outlive its Heap.
class HeapUse {
 public:
  HeapUse(HeapUse&& o) noexcept;
  HeapUse& operator=(HeapUse&& o) noexcept;
  ~HeapUse();
  HeapUse(const HeapUse&) = delete;
  HeapUse& operator=(const HeapUse&) = delete;

  const HeapTarget& target() const { return target_; }
  void commit(SyncPoint done);
  void abandon();

 private:
  friend class Heap;
  friend struct KernelAccess;
  HeapUse(Heap* heap, const HeapTarget& t, std::shared_ptr<kmod::Bo> bo)
      : heap_(heap), target_(t), kernel_bo_(std::move(bo)) {}
  Heap* heap_ = nullptr;
  HeapTarget target_;
  std::shared_ptr<kmod::Bo> kernel_bo_;  // GrowableBo: the heap BO (for the job's BO list)
};

class Heap {
 public:
  // A heap for one context on `device`'s VM, committing the cold-start
  // recommendation (or fixed_initial_chunks). -EINVAL for a null device or
  // a config outside the documented ranges; -EOPNOTSUPP where the kernel
  // has no growable heaps (panfrost before 1.1); the kernel's errno
  // otherwise.
  static Result<std::unique_ptr<Heap>> create(std::shared_ptr<Device> device,
                                              const HeapConfig& config = {});
  // Waits (at most 5 s) for the recorded uses, then destroys the kernel
  // heap: a tiler heap destroyed under a running job would fault it.
  ~Heap();
  Heap(const Heap&) = delete;
  Heap& operator=(const Heap&) = delete;

  Device& device() const { return *device_; }
  HeapKind kind() const { return kind_; }

  // --- submissions ---
  // The current heap, held against recreation until the HeapUse is
  // committed or dropped. If the heap has no kernel heap (a rebuild that
  // failed), creates one first: its errno if that fails again.
  Result<HeapUse> begin_use();
  // The current addresses, for a caller that does not race maybe_shrink
  // with its submissions (otherwise use begin_use). 0 where not applicable.
  HeapTarget target() const;
  uint32_t handle() const { return target().handle; }
  uint64_t context_va() const { return target().context_va; }
  uint64_t first_chunk_va() const { return target().first_chunk_va; }
  uint64_t heap_va() const { return target().heap_va; }
  uint64_t heap_size_bytes() const { return target().heap_size_bytes; }
  uint64_t generation() const { return target().generation; }

  // A submission using the heap signals `done` when finished (point 0: a
  // binary syncobj). The syncobj must stay alive until then. Uses of
  // different syncobjs accumulate (PendingUses), so a heap several queues
  // used is idle only once all are done. Every submission must be recorded
  // (here or by HeapUse::commit): the idle check knows the GPU only
  // through these points.
  void mark_used(SyncPoint done);

  // --- policy ---
  // The frame's peak heap usage in bytes (per render pass: what the tiler
  // stored before the fragment pass consumed it). Feeds the history and the
  // committed estimate. `generation` (HeapTarget::generation of the heap the
  // frame ran on; 0: the current one) keeps a frame that finished just
  // before a shrink from counting towards the new heap's estimate.
  void record_frame(uint64_t used_bytes, uint64_t generation = 0);
  // Recreates the heap at the recommendation if shrinking is enabled, no
  // begin_use() is open, the last use signalled (checked without blocking)
  // and the policy says it is idle long enough and oversized. true: it was
  // recreated (the addresses changed); false: nothing to do. An error is the
  // kernel refusing the new heap: the old one is kept and still works.
  // Cheap when there is nothing to do: call it from a periodic
  // housekeeping point, including for contexts that stopped rendering.
  Result<bool> maybe_shrink(uint64_t now_ns);
  Result<bool> maybe_shrink();  // now from the config's clock
  // Rebuilds the kernel heap now at the recommendation (after Vm::recreate
  // replaced the device VM, which took the old heap with it, or a fatal
  // fault). Waits at most 5 s for the pending uses first. On failure the heap
  // has no kernel heap until begin_use() manages to create one.
  Result<void> recreate();

  HeapStats stats() const;
  const HeapConfig& config() const { return config_; }

 private:
  struct Impl;
  friend class HeapUse;
  Heap(std::shared_ptr<Device> device, const HeapConfig& config, HeapKind kind);
  void end_use(const SyncPoint* done);

  std::shared_ptr<Device> device_;
  HeapConfig config_;
  HeapKind kind_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace wsys
