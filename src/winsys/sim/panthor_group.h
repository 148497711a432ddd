// panthor scheduling groups and their queues in the model, and panthor's
// per-file state (groups 1..128, the tiler heap pools of the file's VMs).
//
// A group owns one worker thread per queue; each worker runs its queue's
// jobs in submission order:
//   1. waits for the job's WAIT fences (outside any signalling section;
//      the wait polls a cancel flag so destroy never blocks on a fence
//      nobody will signal);
//   2. preparation, outside the section: reads the job's stream through
//      the VM (only where mapped) to find its TILER/FRAGMENT commands, pins
//      the tiler heaps they name and prepares the chunks their growth can
//      need (TilerHeap::prepare_spares: the growth inside the section only
//      links a prepared chunk, it never allocates);
//   3. inside a SignallingSection: execute_stream() (executor.h) with this
//      queue's ExecHooks (TILER/FRAGMENT on the pinned heaps, timeout,
//      cancel), then the job's done fence is signalled with the result;
//   4. after the section: frees the spare chunks and drops the pins.
// A job result of -ETIMEDOUT (HANG, or SLEEP past the job timeout,
// WSYS_SIM_JOB_TIMEOUT_MS) marks the group TIMEDOUT; any other error
// (-EFAULT GPU fault, -EINVAL malformed stream, ...) marks it FATAL_FAULT
// with the queue's bit in fatal_queues. Either way the group can no longer
// run: queued jobs are cancelled (fence error -ECANCELED) and GROUP_SUBMIT
// returns -EINVAL. Other groups are unaffected. Destroy / file close
// cancels queued jobs and the running one (fences signalled -ECANCELED,
// never left unsignalled) and joins the workers.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "winsys/sim/fence.h"
#include "winsys/sim/sim_file.h"
#include "winsys/sim/tiler_heap.h"

namespace wsys::sim {

class SimVm;
class PanthorFilePriv;
class ReclaimBusy;
class ReclaimVm;
class SimDevice;
class UserqFile;

inline constexpr uint32_t kMaxGroupsPerFile = 128;

struct PanthorJob {
  uint32_t queue_index = 0;
  uint64_t stream_va = 0;
  uint64_t stream_size = 0;
  std::vector<FencePtr> deps;
  FencePtr done;
  // Filled by the worker's preparation step.
  std::vector<std::shared_ptr<TilerHeap>> heaps;
  // The submission's in-flight mark on its VM (panthor_reclaim.h): the
  // shrinker leaves the VM alone until every job of it is gone.
  std::shared_ptr<ReclaimBusy> vm_busy;
};
using PanthorJobPtr = std::unique_ptr<PanthorJob>;

class PanthorGroup {
 public:
  struct QueueParams {
    uint8_t priority = 0;
    uint32_t ringbuf_size = 0;
  };
  PanthorGroup(PanthorFilePriv* priv, SimDevice* dev, std::shared_ptr<SimVm> vm, uint32_t vm_id,
               const std::vector<QueueParams>& queues, uint8_t priority);
  ~PanthorGroup();
  PanthorGroup(const PanthorGroup&) = delete;
  PanthorGroup& operator=(const PanthorGroup&) = delete;

  // Starts the workers; -ENOMEM (or the thread error) on failure.
  int start();
  // Cancels every job (queued and running) and joins the workers.
  void destroy();

  uint32_t queue_count() const { return static_cast<uint32_t>(queues_.size()); }
  bool can_run() const { return !timedout_.load() && !fatal_.load() && !cancel_.load(); }
  bool timedout() const { return timedout_.load(); }
  bool fatal() const { return fatal_.load(); }
  uint32_t fatal_queues() const { return fatal_queues_.load(); }
  uint8_t priority() const { return priority_; }
  const std::shared_ptr<SimVm>& vm() const { return vm_; }
  // The VM's reclaim state (null without the panthor shrinker).
  const std::shared_ptr<ReclaimVm>& reclaim_vm() const { return reclaim_vm_; }

  // User queues on the group (userq.h, a model extension) that are killed
  // mark it as a kernel queue's job would (GROUP_GET_STATE reports it).
  void mark_timedout() { timedout_.store(true); }
  void mark_fatal() { fatal_.store(true); }

  // Queues the jobs (all or nothing: false if the group was destroyed).
  bool push(std::vector<PanthorJobPtr>& jobs);
  // Number of jobs queued or running (for tests).
  size_t pending() const;

 private:
  struct Queue;
  void worker(Queue& q, uint32_t index);
  void run_job(Queue& q, uint32_t index, PanthorJob& job);
  void prepare_heaps(PanthorJob& job);

  PanthorFilePriv* priv_;
  SimDevice* dev_;
  std::shared_ptr<SimVm> vm_;
  std::shared_ptr<ReclaimVm> reclaim_vm_;
  uint32_t vm_id_;
  uint8_t priority_;
  std::vector<std::unique_ptr<Queue>> queues_;
  std::atomic<bool> timedout_{false}, fatal_{false};
  std::atomic<uint32_t> fatal_queues_{0};
  std::atomic<bool> cancel_{false};
  std::atomic<size_t> pending_{0};
  std::mutex destroy_lock_;
  bool destroyed_ = false;
};

using PanthorGroupPtr = std::shared_ptr<PanthorGroup>;

// panthor's driver_priv: the file's groups and heap pools.
class PanthorFilePriv : public SimFile::DriverPriv {
 public:
  PanthorFilePriv() = default;
  ~PanthorFilePriv() override;
  void file_closing(SimFile& f) override;

  // Groups: handles 1..128. add returns 0 if all are taken.
  uint32_t add_group(PanthorGroupPtr g);
  PanthorGroupPtr lookup_group(uint32_t handle);
  PanthorGroupPtr remove_group(uint32_t handle);

  // The heap pool of VM `vm_id` (`vm` must be the file's VM with that id).
  // create: makes it on first use. A pool whose VM was destroyed or
  // replaced (VM_DESTROY, then the id reused) is dropped, as VM_DESTROY
  // drops the kernel's pool.
  std::shared_ptr<TilerHeapPool> heap_pool(SimDevice* dev, uint32_t vm_id,
                                           const std::shared_ptr<SimVm>& vm, bool create,
                                           int* err);

  // The file's user queues (userq.h, a model extension); made on first use.
  UserqFile* userq();

 private:
  std::mutex userq_lock_;
  std::shared_ptr<UserqFile> userq_;
  std::mutex lock_;
  std::array<PanthorGroupPtr, kMaxGroupsPerFile + 1> groups_;
  std::map<uint32_t, std::shared_ptr<TilerHeapPool>> pools_;
};

// For tests: the file's panthor state (null for panfrost files).
PanthorFilePriv* panthor_priv(SimFile& f);

// CAP_SYS_NICE of the caller (capget); tests may force it:
// override < 0: real check, 0: not capable, 1: capable.
bool panthor_capable_sys_nice();
void panthor_set_sys_nice_override(int override);

}  // namespace wsys::sim
