// GPU page faults are real faults.
//
// The executor touches GPU memory only through a VM's CPU window
// (SimVm::gpu_view), so a GPU access to unmapped or read-only memory is a
// real SIGSEGV (or SIGBUS) on the executor thread. The model handles those
// with a chained signal handler:
//   - installed once, lazily, when the first executor starts
//     (gpu_fault_install(); sigaction with SA_SIGINFO | SA_ONSTACK), saving
//     the previous handlers;
//   - a fault on a thread that is inside a GPU access region
//     (GpuAccessRegion, armed by the executor) at an address inside that
//     region's VM window is a GPU fault: SimVm::heap_fault() commits the
//     2 MiB block of a panfrost HEAP BO mapping (the access then retries);
//     a store into a panthor sparse mapping (MAP_SPARSE, read-only zero
//     pages) gets its page made writable (SimVm::sparse_write_fault) and
//     retries; the executor puts the zero page back after each command
//     (gpu_fault_discard_sparse_writes), so sparse stores are discarded;
//     anything else (or a failed commit) siglongjmps back to the executor,
//     which fails the job with -EFAULT;
//   - first, a SIGBUS on a CPU mapping of an object the panthor shrinker
//     swapped out (any thread, outside signalling sections) restores the
//     object and retries (panthor_reclaim.h: async-signal-safe);
//   - every other fault (another thread, an address outside the window) is
//     forwarded to the previous handler; if that was SIG_DFL or SIG_IGN the
//     default action is restored and the fault re-raised, so programs that
//     install their own handlers keep working, and a real crash is a crash.
//
// Sanitizers: ASan installs its own SIGSEGV handler at start-up; ours is
// installed later and chains to it. TSan intercepts sigaction and
// siglongjmp; synchronous SIGSEGV is delivered at once, so the scheme works
// there too (tested by the sim_exec suite in both builds).
#pragma once

#include <setjmp.h>

#include <cstdint>

namespace wsys::sim {

class SimVm;

// Installs the chained handlers (idempotent, thread-safe).
void gpu_fault_install();

// The per-thread state of one GPU access region. Lives on the executor's
// stack; arm() publishes it to the signal handler through a thread-local
// pointer. Use with sigsetjmp(jb, 1) (restore the signal mask: the
// handler leaves with siglongjmp while SIGSEGV is blocked).
struct GpuAccessRegion {
  sigjmp_buf jb;
  SimVm* vm = nullptr;
  uintptr_t base = 0;  // the window
  uint64_t size = 0;
  volatile uint64_t fault_va = 0;  // set before the siglongjmp
  volatile int fault_err = 0;      // -EFAULT, or the commit error
  volatile bool active = false;
  // The last block a fault was resolved for, and how often in a row: a
  // fault that keeps coming back at the same 2 MiB block is fatal.
  volatile uint64_t last_block = ~0ull;
  volatile unsigned repeats = 0;
  // Sparse pages made writable by store faults, discarded after the
  // command (or when the list is full).
  static constexpr unsigned kMaxSparsePages = 8;
  volatile uint64_t sparse_pages[kMaxSparsePages] = {};
  volatile unsigned sparse_count = 0;

  void arm(SimVm& vm);  // sets vm/base/size, publishes, active = true
  void disarm();        // active = false, unpublishes
};

// Discards the stores the current thread's armed region made into sparse
// mappings (puts their zero pages back). The executor calls it after every
// command and when the region ends.
void gpu_fault_discard_sparse_writes();

// Counters (process-wide): GPU faults handled by committing heap memory,
// GPU faults that failed a job, and faults forwarded to the previous handler.
struct GpuFaultCounters {
  uint64_t heap_commits = 0;
  uint64_t job_faults = 0;
  uint64_t forwarded = 0;
  uint64_t sparse_writes = 0;  // store faults into sparse mappings (discarded)
};
GpuFaultCounters gpu_fault_counters();

}  // namespace wsys::sim
