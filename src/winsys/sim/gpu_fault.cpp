#include "winsys/sim/gpu_fault.h"

#include <signal.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>

#include "winsys/sim/panthor_reclaim.h"
#include "winsys/sim/userq.h"
#include "winsys/sim/vm.h"

namespace wsys::sim {

namespace {

struct sigaction g_prev_segv;
struct sigaction g_prev_bus;
std::once_flag g_once;
std::atomic<uint64_t> g_commits{0}, g_job_faults{0}, g_forwarded{0}, g_sparse{0};

// The armed region of this thread (null when none). Initial-exec TLS in
// the static library, so the handler's access never allocates.
thread_local GpuAccessRegion* t_region = nullptr;

void forward(int sig, siginfo_t* si, void* uc) {
  g_forwarded.fetch_add(1, std::memory_order_relaxed);
  struct sigaction* prev = sig == SIGSEGV ? &g_prev_segv : &g_prev_bus;
  if (prev->sa_flags & SA_SIGINFO) {
    if (prev->sa_sigaction) {
      prev->sa_sigaction(sig, si, uc);
      return;
    }
  } else if (prev->sa_handler != SIG_DFL && prev->sa_handler != SIG_IGN) {
    prev->sa_handler(sig);
    return;
  }
  // Default action: restore it; a synchronous fault re-executes the
  // faulting instruction and takes the default action then. An
  // asynchronous one (kill/raise) is re-raised.
  struct sigaction dfl;
  std::memset(&dfl, 0, sizeof(dfl));
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(sig, &dfl, nullptr);
  if (si == nullptr || si->si_code <= 0) raise(sig);
}

// True if one byte at `addr` can be read now (process_vm_readv on our own
// pid: a faulting address gives EFAULT instead of a signal).
// Async-signal-safe.
bool readable_now(const void* addr) {
  const int saved = errno;
  char byte;
  iovec local{&byte, 1};
  iovec remote{const_cast<void*>(addr), 1};
  const bool ok = process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == 1;
  errno = saved;
  return ok;
}

void handler(int sig, siginfo_t* si, void* uc) {
  // A CPU access to an object the panthor shrinker swapped out (its memfd
  // is truncated: SIGBUS): restored, the access retries.
  if (sig == SIGBUS && si && reclaim_cpu_fault(si->si_addr)) return;
  // A store to an armed user-queue doorbell (userq.h): the executor is
  // woken, the store retries.
  if (sig == SIGBUS && si && userq_doorbell_fault(si->si_addr)) return;
  // The object was restored by someone else between the fault and the
  // search above (its slot is free again): the access simply retries.
  if (sig == SIGBUS && si && readable_now(si->si_addr)) return;
  GpuAccessRegion* r = t_region;
  if (r == nullptr || !r->active || si == nullptr) return forward(sig, si, uc);
  const uintptr_t addr = reinterpret_cast<uintptr_t>(si->si_addr);
  if (addr < r->base || addr - r->base >= r->size) return forward(sig, si, uc);
  const uint64_t va = addr - r->base;
  const int saved_errno = errno;  // mmap in the commit may change it
  // A store into a sparse mapping: make the page writable, let the store
  // land there, discard it after the command. A page that faults again
  // right after being made writable is a real fault.
  const uint64_t page = va & ~0xfffull;
  const unsigned n = r->sparse_count;
  if ((n == 0 || r->sparse_pages[n - 1] != page) && r->vm->sparse_write_fault(va) == 0) {
    if (n == GpuAccessRegion::kMaxSparsePages) {
      for (unsigned i = 0; i < n; i++) r->vm->sparse_discard(r->sparse_pages[i]);
      r->sparse_count = 0;
    }
    r->sparse_pages[r->sparse_count] = page;
    r->sparse_count = r->sparse_count + 1;
    g_sparse.fetch_add(1, std::memory_order_relaxed);
    errno = saved_errno;
    return;
  }
  const uint64_t block = va >> 21;
  if (block == r->last_block) {
    r->repeats = r->repeats + 1;
  } else {
    r->last_block = block;
    r->repeats = 0;
  }
  const int err = r->repeats > 4 ? -EFAULT : r->vm->heap_fault(va);
  errno = saved_errno;
  if (err >= 0) {
    if (err == 0) g_commits.fetch_add(1, std::memory_order_relaxed);
    return;  // the access retries
  }
  g_job_faults.fetch_add(1, std::memory_order_relaxed);
  r->fault_va = va;
  r->fault_err = -EFAULT;
  r->active = false;
  siglongjmp(r->jb, 1);
}

void install_once() {
  struct sigaction sa;
  std::memset(&sa, 0, sizeof(sa));
  sa.sa_sigaction = handler;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, &g_prev_segv);
  sigaction(SIGBUS, &sa, &g_prev_bus);
}

}  // namespace

void gpu_fault_install() { std::call_once(g_once, install_once); }

void GpuAccessRegion::arm(SimVm& v) {
  vm = &v;
  base = reinterpret_cast<uintptr_t>(v.gpu_view(0));
  size = base ? v.va_size() : 0;
  fault_va = 0;
  fault_err = 0;
  last_block = ~0ull;
  repeats = 0;
  sparse_count = 0;
  t_region = this;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  active = true;
}

void gpu_fault_discard_sparse_writes() {
  GpuAccessRegion* r = t_region;
  if (!r || !r->vm) return;
  const unsigned n = r->sparse_count;
  for (unsigned i = 0; i < n; i++) r->vm->sparse_discard(r->sparse_pages[i]);
  r->sparse_count = 0;
}

void GpuAccessRegion::disarm() {
  gpu_fault_discard_sparse_writes();
  active = false;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  t_region = nullptr;
}

GpuFaultCounters gpu_fault_counters() {
  GpuFaultCounters c;
  c.heap_commits = g_commits.load();
  c.job_faults = g_job_faults.load();
  c.forwarded = g_forwarded.load();
  c.sparse_writes = g_sparse.load();
  return c;
}

}  // namespace wsys::sim

#if defined(__SANITIZE_THREAD__)
// TSan models mmap() as a write to the whole mapped range. A heap block
// committed by one executor thread's fault and then written by another
// executor thread that did not fault (the mapping already existed) is
// reported as a race between the mmap and the write, although the second
// thread can only reach the page through the mapping the kernel made
// visible: the MMU, not the C++ memory model, orders them (as on a GPU).
// Only races with SimVm::heap_fault (the mmap) in a stack are suppressed;
// heap_fault's own data is all under the VM's op_lock_.
extern "C" const char* __tsan_default_suppressions() {
  return "race:wsys::sim::SimVm::heap_fault\n";
}
#endif
