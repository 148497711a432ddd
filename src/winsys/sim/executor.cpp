#include "winsys/sim/executor.h"

#include <setjmp.h>
#include <time.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "winsys/sim/fence.h"
#include "winsys/sim/gpu_fault.h"
#include "winsys/sim/vm.h"

namespace wsys::sim {

namespace {

std::atomic<int64_t> g_timeout_ms{-1};

// Everything the command loop needs, kept in memory (not registers) so it
// is well-defined after a siglongjmp back to execute_stream.
struct Run {
  SimVm* vm;
  uint8_t* base;
  uint64_t va_size;
  ExecHooks* hooks;
  const ExecOptions* opts;
  uint64_t pc;
  uint64_t end;  // exclusive end of the stream
};

// [va, va + n) lies inside the window (else the access would leave the
// GPU address space: a fault without touching anything).
bool in_window(const Run& r, uint64_t va, uint64_t n) {
  return va < r.va_size && n <= r.va_size - va;
}

// 0 to continue, or the error that ends the stream.
int check_stop(const Run& r) {
  if (r.opts->cancel && r.opts->cancel->load(std::memory_order_acquire)) return -ECANCELED;
  if (r.hooks && r.hooks->timed_out()) return -ETIMEDOUT;
  if (r.opts->deadline_ns >= 0 && monotonic_ns() >= r.opts->deadline_ns) return -ETIMEDOUT;
  return 0;
}

// Sleeps about a millisecond at most (or `ns` if less).
void nap(uint64_t ns) {
  timespec ts{0, static_cast<long>(ns < 1000000 ? ns : 1000000)};
  nanosleep(&ts, nullptr);
}

void gpu_fill(uint8_t* p, uint64_t size, uint32_t value) {
  uint8_t pat[4];
  std::memcpy(pat, &value, 4);
  for (uint64_t i = 0; i < size; i++) p[i] = pat[i & 3];
}

int run_command(Run& r, const SimCmdHeader& h) {
  uint8_t* cmd = r.base + r.pc;
  auto need = [&](size_t n) { return h.size >= n; };
  switch (h.opcode) {
    case kCmdNop:
      return 0;
    case kCmdWrite32: {
      if (!need(sizeof(SimCmdWrite32))) return -EINVAL;
      SimCmdWrite32 c;
      std::memcpy(&c, cmd, sizeof(c));
      if (!in_window(r, c.va, 4)) return -EFAULT;
      std::memcpy(r.base + c.va, &c.value, 4);
      return 0;
    }
    case kCmdWrite64: {
      if (!need(sizeof(SimCmdWrite64))) return -EINVAL;
      SimCmdWrite64 c;
      std::memcpy(&c, cmd, sizeof(c));
      if (!in_window(r, c.va, 8)) return -EFAULT;
      std::memcpy(r.base + c.va, &c.value, 8);
      return 0;
    }
    case kCmdFill: {
      if (!need(sizeof(SimCmdFill))) return -EINVAL;
      SimCmdFill c;
      std::memcpy(&c, cmd, sizeof(c));
      if (!in_window(r, c.va, c.size)) return -EFAULT;
      gpu_fill(r.base + c.va, c.size, c.value);
      return 0;
    }
    case kCmdCopy: {
      if (!need(sizeof(SimCmdCopy))) return -EINVAL;
      SimCmdCopy c;
      std::memcpy(&c, cmd, sizeof(c));
      if (!in_window(r, c.dst_va, c.size) || !in_window(r, c.src_va, c.size)) return -EFAULT;
      std::memmove(r.base + c.dst_va, r.base + c.src_va, c.size);
      return 0;
    }
    case kCmdChecksum: {
      if (!need(sizeof(SimCmdChecksum))) return -EINVAL;
      SimCmdChecksum c;
      std::memcpy(&c, cmd, sizeof(c));
      if (!in_window(r, c.va, c.size) || !in_window(r, c.dst_va, 8)) return -EFAULT;
      uint64_t hash = fnv1a64(r.base + c.va, c.size);
      std::memcpy(r.base + c.dst_va, &hash, 8);
      return 0;
    }
    case kCmdTiler: {
      if (!need(sizeof(SimCmdTiler))) return -EINVAL;
      SimCmdTiler c;
      std::memcpy(&c, cmd, sizeof(c));
      uint32_t stored = 0;
      int e = r.hooks ? r.hooks->tiler(*r.vm, c, &stored) : ExecHooks().tiler(*r.vm, c, &stored);
      if (e) return e;
      if (c.result_va) {
        if (!in_window(r, c.result_va, 4)) return -EFAULT;
        std::memcpy(r.base + c.result_va, &stored, 4);
      }
      return 0;
    }
    case kCmdFragment: {
      if (!need(sizeof(SimCmdFragment))) return -EINVAL;
      SimCmdFragment c;
      std::memcpy(&c, cmd, sizeof(c));
      return r.hooks ? r.hooks->fragment(*r.vm, c) : -EINVAL;
    }
    case kCmdScratch: {
      if (!need(sizeof(SimCmdScratch))) return -EINVAL;
      SimCmdScratch c;
      std::memcpy(&c, cmd, sizeof(c));
      const uint64_t total = uint64_t{c.threads} * c.per_thread_bytes;
      if (!in_window(r, c.tls_va, total)) return -EFAULT;
      for (uint32_t t = 0; t < c.threads; t++)
        gpu_fill(r.base + c.tls_va + uint64_t{t} * c.per_thread_bytes, c.per_thread_bytes,
                 c.seed + t);
      return 0;
    }
    case kCmdSleep: {
      if (!need(sizeof(SimCmdSleep))) return -EINVAL;
      SimCmdSleep c;
      std::memcpy(&c, cmd, sizeof(c));
      const int64_t until = monotonic_ns() + static_cast<int64_t>(c.ns);
      for (;;) {
        int64_t now = monotonic_ns();
        if (now >= until) return 0;
        if (int e = check_stop(r)) return e;
        nap(static_cast<uint64_t>(until - now));
      }
    }
    case kCmdSeqno: {
      if (!need(sizeof(SimCmdSeqno))) return -EINVAL;
      SimCmdSeqno c;
      std::memcpy(&c, cmd, sizeof(c));
      return r.hooks ? r.hooks->seqno(*r.vm, c.seqno) : -EINVAL;
    }
    case kCmdWait64: {
      if (!need(sizeof(SimCmdWait64))) return -EINVAL;
      SimCmdWait64 c;
      std::memcpy(&c, cmd, sizeof(c));
      if (c.va % 8 || !in_window(r, c.va, 8)) return -EFAULT;
      for (;;) {
        // Another thread (or process) writes it: an atomic load, so the
        // compiler re-reads it and the sanitizers see no race.
        const uint64_t v =
            __atomic_load_n(reinterpret_cast<const uint64_t*>(r.base + c.va), __ATOMIC_ACQUIRE);
        if (v >= c.value) return 0;
        if (int e = check_stop(r)) return e;
        nap(50'000);
      }
    }
    case kCmdHang:
      for (;;) {
        if (int e = check_stop(r)) return e;
        nap(1000000);
      }
    default:
      return -EINVAL;
  }
}

// The command loop. Any GPU fault siglongjmps out of it (to execute_stream).
int run_loop(Run& r) {
  for (;;) {
    if (int e = check_stop(r)) return e;
    if (r.pc == r.end) return 0;  // a sized stream ran to its end
    if (r.hooks && r.hooks->preempt_requested()) return kExecPreempted;
    if (r.end - r.pc < sizeof(SimCmdHeader)) return -EINVAL;
    if (!in_window(r, r.pc, sizeof(SimCmdHeader))) return -EFAULT;
    SimCmdHeader h;
    std::memcpy(&h, r.base + r.pc, sizeof(h));  // may fault
    if (h.opcode == kCmdEnd) return 0;
    if (h.size < sizeof(SimCmdHeader) || h.size % 8 || h.size > r.end - r.pc) return -EINVAL;
    if (!in_window(r, r.pc, h.size)) return -EFAULT;
    int e = run_command(r, h);
    gpu_fault_discard_sparse_writes();  // stores into sparse mappings are dropped
    if (e) return e;
    r.pc += h.size;
  }
}

}  // namespace

int ExecHooks::tiler(SimVm& vm, const SimCmdTiler& c, uint32_t* stored) {
  *stored = 0;
  if (c.prim_size == 0) return -EINVAL;
  uint8_t* base = vm.gpu_view(0);
  if (!base || c.heap_va >= vm.va_size() || c.heap_size > vm.va_size() - c.heap_va)
    return -EFAULT;
  const uint64_t fit = c.heap_size / c.prim_size;
  const uint32_t n = fit < c.count ? static_cast<uint32_t>(fit) : c.count;
  for (uint32_t p = 0; p < n; p++) {
    uint8_t* dst = base + c.heap_va + uint64_t{p} * c.prim_size;
    for (uint32_t i = 0; i < c.prim_size; i++) dst[i] = tiler_pattern_byte(c.seed, p, i);
  }
  *stored = n;
  return 0;
}

int ExecHooks::fragment(SimVm&, const SimCmdFragment&) { return -EINVAL; }

int ExecHooks::seqno(SimVm&, uint64_t) { return -EINVAL; }

namespace {

int gpu_copy(SimVm& vm, uint64_t va, void* cpu, uint64_t n, bool to_gpu) {
  gpu_fault_install();
  uint8_t* base = vm.gpu_view(0);
  if (!base || va >= vm.va_size() || n > vm.va_size() - va) return -EFAULT;
  GpuAccessRegion region;
  if (sigsetjmp(region.jb, 1) != 0) {
    region.disarm();
    return -EFAULT;
  }
  region.arm(vm);
  if (to_gpu) std::memcpy(base + va, cpu, n);
  else std::memcpy(cpu, base + va, n);
  region.disarm();
  return 0;
}

}  // namespace

int gpu_read(SimVm& vm, uint64_t va, void* dst, uint64_t n) {
  return gpu_copy(vm, va, dst, n, false);
}

int gpu_write(SimVm& vm, uint64_t va, const void* src, uint64_t n) {
  return gpu_copy(vm, va, const_cast<void*>(src), n, true);
}

int execute_stream(SimVm& vm, uint64_t stream_va, uint64_t stream_size, ExecHooks* hooks,
                   const ExecOptions& opts, uint64_t* fault_va) {
  gpu_fault_install();
  uint8_t* base = vm.gpu_view(0);
  if (!base) return -EFAULT;
  if (stream_va % 8 || stream_size % 8) return -EINVAL;
  Run r{&vm, base, vm.va_size(), hooks, &opts, stream_va, 0};
  if (stream_va >= r.va_size) return -EFAULT;
  if (stream_size) {
    if (stream_size > r.va_size - stream_va) return -EFAULT;
    r.end = stream_va + stream_size;
  } else {
    r.end = r.va_size;
  }
  GpuAccessRegion region;
  if (sigsetjmp(region.jb, 1) != 0) {
    // A GPU fault that was not a heap growth.
    region.disarm();
    if (fault_va) *fault_va = region.fault_va;
    if (opts.stopped_va) *opts.stopped_va = r.pc;
    return region.fault_err ? region.fault_err : -EFAULT;
  }
  region.arm(vm);
  int ret = run_loop(r);
  region.disarm();
  if (opts.stopped_va) *opts.stopped_va = r.pc;
  return ret;
}

uint64_t fnv1a64(const void* data, uint64_t size, uint64_t seed) {
  const uint8_t* p = static_cast<const uint8_t*>(data);
  uint64_t h = seed;
  for (uint64_t i = 0; i < size; i++) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

int64_t job_timeout_ms() {
  int64_t v = g_timeout_ms.load(std::memory_order_relaxed);
  if (v >= 0) return v;
  v = 2000;
  if (const char* e = std::getenv("WSYS_SIM_JOB_TIMEOUT_MS")) {
    char* end = nullptr;
    long long x = std::strtoll(e, &end, 10);
    if (end != e && *end == 0 && x > 0) v = x;
  }
  int64_t expected = -1;
  g_timeout_ms.compare_exchange_strong(expected, v);
  return g_timeout_ms.load(std::memory_order_relaxed);
}

void set_job_timeout_ms(int64_t ms) { g_timeout_ms.store(ms, std::memory_order_relaxed); }

}  // namespace wsys::sim

