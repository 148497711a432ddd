// The panthor GEM shrinker of the model: transparent reclaim of idle
// memory (Linux 7.2, 2026: drm_gpuvm evict/validate, no MADVISE uAPI).
//
// When a charge would exceed the device budget (shrinker.h), the panfrost-
// style purge of DONTNEED objects runs first; on panthor, if that freed too
// little, PanthorReclaim::reclaim() swaps idle objects out:
//
// What is reclaimable: a panthor object that is resident, charged at
// creation, not pinned, not exported or imported (PRIME), not a tiler heap
// object (heap_internal), whose reservation lock (SimBo::resv) try-locks,
// and that no busy VM maps. A VM is busy when a job submitted to any group
// on it has not finished (ReclaimVm::in_flight > 0) or when its reservation
// (ReclaimVm's lock, the model's VM dma_resv) cannot be try-locked. The
// VMs reclaim has to know about are those with groups (the only source of
// jobs): a group registers its VM (vm_state()). Objects are taken oldest
// first (creation order) until enough is freed.
//
// Reclaiming one object:
//   1. its contents are copied to the device's swap: one memfd per device
//      ("wsys-sim-swap"), the object's range allocated by a bump pointer
//      (offsets are never reused: a sparse file's unused offsets cost
//      nothing) and punched out again when the object comes back or dies.
//      Only the pages the object has are copied (SEEK_DATA/SEEK_HOLE), as
//      the kernel's shmem swap-out writes only existing pages: an idle
//      4 GiB object nobody wrote costs no swap (copying its holes made
//      them real memory, unbounded by the budget: a fuzzer input took the
//      host's memory that way).
//      The copy is copy_file_range(2): kernel to kernel, no user buffer
//      (measured against mmap of the source + pwrite to the swap: 1.2-1.5
//      vs 0.5-0.9 GiB/s for 64 x 1 MiB on a loaded 2-core machine).
//      Swap-out costs allocating the swap pages as well as the copy, so it
//      is several times slower than releasing the pages alone (the bench's
//      shrinker_reclaim_over_punch_hole).
//      The swap is anonymous shmem: the model's memory moves from the
//      object to the swap file (the kernel's would move to the swap device);
//      what the model measures is the cost and the correctness of the
//      round trip, the budget sees the object's bytes released;
//   2. the object's memfd is truncated to 0. That releases its pages (what
//      fallocate(PUNCH_HOLE) does; one call instead of two page walks) and
//      zaps every CPU mapping of the memfd: the VM windows that map it
//      (the model's GPU MMU entries are the CPU's, so this is the
//      teardown of its GPU mappings in every VM) and the users' mmaps,
//      which now fault with SIGBUS. The VMs' mapping records (drm_gpuvm's
//      VAs) stay, as the kernel's do, so VM_BIND on an evicted VM needs
//      nothing special: a new mapping of a swapped object maps the empty
//      memfd and faults until restore;
//   3. the object's charge is released, and every registered idle VM that
//      maps it is marked evicted.
//
// Restore:
//   - GROUP_SUBMIT (before_submit()): with the VM's reservation held, every
//     swapped object the VM maps is charged (which may reclaim others, never
//     this VM's), its memfd regrown and the contents copied back; then the
//     VM counts the submission in flight and the lock is dropped. If memory
//     cannot be had (or the fault site "restore" fires), the submit fails
//     with -ENOMEM before anything is queued; contents stay in swap and a
//     later submit retries.
//   - a CPU access (a user mmap or a VM window, e.g. the ICD's GPU view)
//     faults with SIGBUS; the model's chained handler (gpu_fault.cpp) calls
//     reclaim_cpu_fault(), which restores the object and lets the access
//     retry. The handler path is async-signal-safe: it finds the object by
//     reading /proc/self/maps with raw read(2) into a stack buffer and
//     matching (device, inode) against a fixed, preallocated table of
//     swapped objects; restore is ftruncate/copy_file_range/fallocate and
//     atomics (slot states make it exclusive with reclaim, submit restores
//     and ~SimBo); nothing allocates and no lock is taken. It cannot run the
//     shrinker, so its charge may exceed the budget (counted as
//     overcommit_bytes; the next charge reclaims) as a kernel fault would
//     push the system into reclaim. Inside a fence signalling section it
//     refuses (the access stays a GPU fault): restore never runs there.
//   - PRIME export restores first (exported objects are never reclaimed).
//
// Limits of the model: the model's mmap does not hold the object as the
// kernel's does, so an object whose last reference goes while a user
// mapping lives is gone for the budget (the mapping keeps its memfd). If it
// was in swap, its contents are put back into the memfd first (a fuzzer
// found the mapping faulting for good otherwise). A CPU store that
// races with reclaim of the same object between the copy and the
// truncation is lost (the kernel zaps the CPU mappings first and makes the
// fault wait for the object's lock; the model cannot block a raw store).
// At most kReclaimSlots objects are swapped at once; beyond that reclaim
// stops. Tiler heap chunks are never reclaimed nor discarded (the kernel
// discussed discarding an idle heap's chunks but did not implement it).
//
// Fault injection sites: "reclaim" (one object's reclaim fails: it is
// skipped, nothing changes) and "restore" (a submit's restore fails with
// -ENOMEM, nothing lost).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace wsys::sim {

class SimBo;
class SimDevice;
class SimVm;
class Shrinker;

inline constexpr uint32_t kReclaimSlots = 8192;

// A VM kept busy by work the kernel does not see job by job (user queues,
// a model extension: userq.h) offers itself for preemption: its eviction
// fence. Called by reclaim() (outside any signalling section, with the
// registry lock held) when idle VMs did not free enough: waits for the
// submission fences already created, suspends the VM's queues at a command
// boundary (their in-flight mark goes) and returns true if the VM is now
// preempted; false leaves everything running (a wait timed out, or the
// dependency checker saw a cycle).
class ReclaimPreempt {
 public:
  virtual ~ReclaimPreempt() = default;
  virtual bool preempt_for_reclaim() = 0;
  // After reclaim scanned the preempted VM: the queues may resume.
  virtual void reclaim_done() = 0;
};

// The model's per-VM reclaim state: the VM's reservation lock, its jobs in
// flight, and the evicted mark. Shared by the groups on the VM.
class ReclaimVm {
 public:
  explicit ReclaimVm(std::weak_ptr<SimVm> vm) : vm_(std::move(vm)) {}
  // The reservation: reclaim only try-locks it; submit takes it (a
  // spinning wait: both sides hold it only for a restore or a scan).
  bool try_lock();
  void lock();
  void unlock();
  int in_flight() const { return in_flight_.load(std::memory_order_acquire); }
  bool evicted() const { return evicted_.load(std::memory_order_acquire); }
  std::shared_ptr<SimVm> vm() const { return vm_.lock(); }

 private:
  friend class PanthorReclaim;
  friend class ReclaimBusy;
  std::weak_ptr<SimVm> vm_;
  std::weak_ptr<ReclaimPreempt> preempt_;  // guarded by the registry lock
  std::atomic<bool> locked_{false};
  std::atomic<int> in_flight_{0};
  std::atomic<bool> evicted_{false};
};

// One submission of `jobs` jobs in flight on a VM; every job holds it. A
// job calls job_done() when it is complete, before its done fence signals
// (so a waiter that saw the fence finds the VM idle): an atomic decrement,
// allowed inside the signalling section. The last job_done() ends the
// submission; so does the token's destruction if some job never got there.
class ReclaimBusy {
 public:
  ReclaimBusy(std::shared_ptr<ReclaimVm> vm, int jobs);
  ~ReclaimBusy();
  ReclaimBusy(const ReclaimBusy&) = delete;
  ReclaimBusy& operator=(const ReclaimBusy&) = delete;
  void job_done();

 private:
  void end();
  std::shared_ptr<ReclaimVm> vm_;
  std::atomic<int> jobs_;
  std::atomic<bool> ended_{false};
};

struct ReclaimStats {
  uint64_t scans = 0;               // reclaim() runs
  uint64_t reclaims = 0;            // objects swapped out so far
  uint64_t restores = 0;            // objects swapped in so far (all paths)
  uint64_t cpu_fault_restores = 0;  // of which by a CPU access fault
  uint64_t swapped_out_bytes = 0;   // bytes written to swap so far (pages that existed)
  uint64_t swapped_in_bytes = 0;    // bytes read back so far
  uint64_t restore_failures = 0;    // restores refused (-ENOMEM)
  uint64_t overcommit_bytes = 0;    // charged over the budget by fault restores
  uint64_t swapped_objects = 0;     // objects in swap now
  uint64_t swapped_bytes = 0;       // their bytes (object sizes, as fdinfo counts them)
  uint64_t swap_used_bytes = 0;     // what the swap holds for them: their written pages
  uint64_t preemptions = 0;         // VMs preempted through their eviction fence
  uint64_t fault_restore_failures = 0;  // CPU faults a restore could not resolve
  int last_fault_restore_error = 0;     // the last one's -errno
};

class PanthorReclaim {
 public:
  PanthorReclaim(SimDevice* dev, Shrinker* shrinker);
  PanthorReclaim(const PanthorReclaim&) = delete;
  PanthorReclaim& operator=(const PanthorReclaim&) = delete;

  // The reclaim state of `vm`, registering it on first use (GROUP_CREATE).
  std::shared_ptr<ReclaimVm> vm_state(const std::shared_ptr<SimVm>& vm);

  // Registers the preemption hook of a VM (user queues); the registry holds
  // it weakly.
  void set_preempt(const std::shared_ptr<ReclaimVm>& state, std::weak_ptr<ReclaimPreempt> p);

  // Swaps idle objects out until at least `want` bytes are freed or none is
  // left; returns the bytes freed. If idle VMs do not give enough, VMs with
  // a preemption hook are preempted one at a time and scanned again. From Shrinker::charge (never inside a
  // signalling section); tests and benches may call it directly.
  uint64_t reclaim(uint64_t want);

  // GROUP_SUBMIT, before its jobs are queued: restores what `vm` maps
  // (if anything is swapped) under the VM's reservation and returns the
  // in-flight token the jobs carry. Null with *err (-ENOMEM) on failure.
  std::shared_ptr<ReclaimBusy> before_submit(const std::shared_ptr<ReclaimVm>& state,
                                             SimVm& vm, int jobs, int* err);

  // Brings `bo` back if it is swapped (0, or -ENOMEM with nothing lost).
  // Charges with the shrinker allowed (never call inside a section).
  int restore(SimBo& bo);

  // From ~SimBo: drops the object's swap. True if it was swapped (its
  // charge was released already).
  static bool forget(SimBo& bo);

  ReclaimStats stats() const;

 private:
  bool reclaim_one(SimBo& bo);
  uint64_t reclaim_pass(uint64_t want);  // registry lock held
  void mark_evicted(const std::vector<std::shared_ptr<ReclaimVm>>& idle);

  SimDevice* dev_;
  Shrinker* shrinker_;
  int swap_fd_ = -1;
  std::atomic<uint64_t> swap_next_{0};  // bump pointer into the swap file

 public:
  // Counters, updated by the signal handler too (atomics only).
  struct Counters {
    std::atomic<uint64_t> scans{0}, reclaims{0}, restores{0}, cpu_fault_restores{0};
    std::atomic<uint64_t> out_bytes{0}, in_bytes{0}, restore_failures{0}, overcommit{0};
    std::atomic<uint64_t> swapped_objects{0}, swapped_bytes{0}, swap_used{0};
    std::atomic<uint64_t> preemptions{0};  // VMs preempted (user queues suspended)
    std::atomic<uint64_t> fault_restore_failures{0};
    std::atomic<int> last_fault_restore_error{0};
  };
  Counters& counters() { return counters_; }
  Shrinker* shrinker() const { return shrinker_; }

 private:
  Counters counters_;
  std::mutex reg_lock_;  // the registry; held through a reclaim pass
  std::vector<std::weak_ptr<ReclaimVm>> vms_;
};

// The chained fault handler's hook (gpu_fault.cpp): if `addr` lies in a
// CPU mapping of a swapped object, restores it and returns true (the access
// retries). Async-signal-safe; false inside a fence signalling section.
bool reclaim_cpu_fault(const void* addr);

// Objects in swap now, over all devices (cheap; the handler's first test).
uint64_t reclaim_swapped_objects();

}  // namespace wsys::sim
