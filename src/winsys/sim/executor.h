// The model's command-stream executor (the GPU's command processor).
//
// execute_stream() runs one command stream (cmdstream.h) against a SimVm:
// it reads the stream from GPU memory through the VM window and performs
// every command, touching memory ONLY through SimVm::gpu_view, so every
// access is a real CPU access to the VM window and a GPU page fault is a
// real SIGSEGV (see gpu_fault.h):
//   - a fault inside a panfrost HEAP BO mapping commits the 2 MiB block
//     around it and the access retries;
//   - any other fault ends the stream with -EFAULT.
//
// Call it from the job's worker thread inside a SignallingSection: it never
// allocates, never takes a ReclaimMutex and never waits on a fence. The
// caller pre-allocates everything per job.
//
// Users: panfrost SUBMIT (panfrost_submit.cpp) and panthor GROUP_SUBMIT
// (panthor_group.cpp), the latter supplying ExecHooks for TILER/FRAGMENT
// on panthor tiler heaps.
#pragma once

#include <atomic>
#include <cstdint>

#include "winsys/sim/cmdstream.h"

namespace wsys::sim {

class SimVm;

// Hooks a queue supplies to the executor. All are called on the executor
// thread, inside the signalling section and inside the executor's GPU
// access region: hooks may access GPU memory through vm.gpu_view(va)
// directly (a fault there is handled exactly like one in a built-in
// command: heap commit, or the stream ends with -EFAULT and the hook never
// returns). Hooks must not allocate, wait on fences or take ReclaimMutexes.
class ExecHooks {
 public:
  virtual ~ExecHooks() = default;

  // TILER. Return 0 (the executor then stores *stored to cmd.result_va if
  // non-zero) or a negative errno that fails the job. Default (no hooks, or
  // this default): the panfrost behaviour, i.e. count primitives written
  // linearly from cmd.heap_va within cmd.heap_size (a primitive that would
  // not fit is not written: *stored < count, no error).
  virtual int tiler(SimVm& vm, const SimCmdTiler& cmd, uint32_t* stored);

  // FRAGMENT. 0 or a negative errno. Default: -EINVAL (panfrost has no
  // FRAGMENT command in the model).
  virtual int fragment(SimVm& vm, const SimCmdFragment& cmd);

  // Polled by SLEEP and HANG (about every millisecond) and between
  // commands: true ends the stream with -ETIMEDOUT. Default: false
  // (a HANG without hooks would never end, so always pass hooks or a
  // deadline through ExecOptions).
  virtual bool timed_out() { return false; }

  // SEQNO (user queues only). 0 or a negative errno. Default: -EINVAL.
  virtual int seqno(SimVm& vm, uint64_t seqno);

  // Polled before each command: true stops the stream at that command
  // boundary, returning kExecPreempted (user-queue suspension).
  virtual bool preempt_requested() { return false; }
};

// execute_stream()'s result when hooks->preempt_requested() stopped it.
inline constexpr int kExecPreempted = 1;

struct ExecOptions {
  // Absolute CLOCK_MONOTONIC deadline in ns (< 0: none). When it passes,
  // SLEEP/HANG and the command loop end the stream with -ETIMEDOUT.
  int64_t deadline_ns = -1;
  // Set (by another thread) to cancel: the stream ends with -ECANCELED.
  const std::atomic<bool>* cancel = nullptr;
  // If set: receives the GPU VA where the stream stopped (its end, an END,
  // a preemption boundary, or the command that failed).
  uint64_t* stopped_va = nullptr;
};

// Runs the stream at `stream_va`. `stream_size` > 0: the stream is exactly
// that many bytes (panthor), ending at its end or at an END command;
// 0: runs until END (panfrost job chains). `hooks` may be null.
// Returns 0 on success, or a negative errno:
//   -EFAULT     unhandled GPU page fault (stream or data access)
//   -EINVAL     malformed command (unknown opcode, bad size, ...)
//   -ETIMEDOUT  timed out (HANG, SLEEP past the deadline, hooks->timed_out())
//   -ECANCELED  cancelled through opts.cancel
//   errors returned by hooks
// *fault_va (if non-null) receives the faulting GPU VA on -EFAULT.
int execute_stream(SimVm& vm, uint64_t stream_va, uint64_t stream_size, ExecHooks* hooks,
                   const ExecOptions& opts = ExecOptions{}, uint64_t* fault_va = nullptr);

// One protected access to GPU memory outside the command loop (a user
// queue's pointers): copies n bytes from/to [va, va + n) of the VM through
// its window; 0, or -EFAULT if any byte faults (unmapped, swapped out
// inside a signalling section). Allocates nothing.
int gpu_read(SimVm& vm, uint64_t va, void* dst, uint64_t n);
int gpu_write(SimVm& vm, uint64_t va, const void* src, uint64_t n);

// FNV-1a 64 over a CPU buffer (what CHECKSUM computes; for tests).
uint64_t fnv1a64(const void* data, uint64_t size, uint64_t seed = 0xcbf29ce484222325ull);

// Byte `i` of TILER primitive `index` for `seed` (the pattern the tiler
// writes; for tests and hooks).
inline uint8_t tiler_pattern_byte(uint32_t seed, uint32_t index, uint32_t i) {
  uint32_t x = seed * 0x9e3779b1u ^ index * 0x85ebca6bu ^ i * 0xc2b2ae35u;
  x ^= x >> 15;
  return static_cast<uint8_t>(x);
}

// Job timeout for panfrost jobs (WSYS_SIM_JOB_TIMEOUT_MS, default 2000 ms),
// read once; tests may override with set_job_timeout_ms().
int64_t job_timeout_ms();
void set_job_timeout_ms(int64_t ms);

}  // namespace wsys::sim
