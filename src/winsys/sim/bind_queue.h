// BindQueue: a VM's asynchronous VM_BIND queue (the kernel's per-VM
// drm_sched entity with one job in flight).
//
// One worker thread per VM, started by the first asynchronous bind. Jobs run
// one at a time, in the order they were pushed. For each job the worker
//   1. waits until every dependency fence has signalled (outside any
//      signalling section: waiting is allowed there),
//   2. enters a SignallingSection, executes the prepared VM operation (which
//      only uses what the ioctl pre-allocated), signals the job's fence with
//      the result, leaves the section,
//   3. destroys the job: unused page-table pages go back, emptied tables and
//      removed mappings are freed (the kernel's deferred cleanup work).
// A dependency that signalled with an error does not stop the job (as with
// drm_sched, which runs a job once its dependencies are signalled).
//
// stop() (VM destruction) cancels every job that has not started its run
// step: its fence signals -ESRCH, as drm_sched does for the jobs of a killed
// entity; the job in its run step completes. No fence is ever left
// unsignalled.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "winsys/sim/fence.h"
#include "winsys/sim/vm.h"

namespace wsys::sim {

struct BindJob {
  BindJob* next = nullptr;     // queue link (intrusive: pushing never allocates)
  VmOpPtr op;                  // prepared by the ioctl
  std::vector<FencePtr> deps;  // fences to wait for before running
  FencePtr done;               // signalled with the op's result
};
using BindJobPtr = std::unique_ptr<BindJob>;

class BindQueue {
 public:
  explicit BindQueue(SimVm* vm) : vm_(vm) {}
  ~BindQueue() { stop(); }
  BindQueue(const BindQueue&) = delete;
  BindQueue& operator=(const BindQueue&) = delete;

  // Starts the worker thread if it is not running (ioctl context, before
  // anything is published). 0, -EAGAIN/-ENOMEM, or -EINVAL once stopped.
  int start();
  // Appends `jobs` in order and takes ownership (moves out of the vector's
  // elements; never allocates). False, with nothing taken, once stopped.
  bool push(std::vector<BindJobPtr>& jobs);
  // Cancels the jobs that have not started running, lets the running one
  // finish, joins the worker. Idempotent.
  void stop();

  // Jobs queued or running (for tests).
  size_t pending() const;
  // Blocks until no job is queued or running, cleanup included (a job's
  // fence signals before its leftovers are returned). For tests.
  void wait_idle();

 private:
  void worker();
  // Waits for the job's dependencies; false if cancelled meanwhile.
  bool wait_deps(const BindJob& job);
  static void cancel(BindJob* job);

  SimVm* vm_;
  mutable std::mutex lock_;  // guards the fields below; never held while allocating
  std::condition_variable cv_;
  std::condition_variable idle_cv_;
  BindJob* head_ = nullptr;
  BindJob* tail_ = nullptr;
  size_t pending_ = 0;
  bool stopping_ = false;
  std::atomic<bool> cancel_{false};  // set under the SyncState lock
  std::thread thread_;
};

}  // namespace wsys::sim
