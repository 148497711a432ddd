// panfrost jobs (SUBMIT / WAIT_BO) of the model: per-file job slots.
//
// Each open file has two job slots (JS 0 fragment, JS 1 vertex/compute and
// everything else, chosen by PANFROST_JD_REQ_FS as the kernel does), each
// with its own worker thread (started on the first job for that slot) and a
// FIFO queue: drm_sched's entity per slot. A job:
//   1. SUBMIT (ioctl): validates, resolves its in-syncs and the previous
//      job fences of its BOs (implicit sync: every job is a writer of every
//      BO it lists, as panfrost treats them), publishes its fence (out_sync,
//      and the BOs' last-job fence), and increments each BO's gpu_busy;
//   2. worker: waits for the dependencies (outside any signalling section,
//      as drm_sched does before run_job), then inside a SignallingSection
//      runs the stream at jc with the executor (deadline: job_timeout_ms(),
//      WSYS_SIM_JOB_TIMEOUT_MS), signals the fence with the job's status
//      (0, -EFAULT for a GPU fault, -EINVAL for a bad stream, -ETIMEDOUT for
//      a hang) and drops gpu_busy.
// File close cancels: queued jobs signal -ECANCELED without running, the
// running one is cancelled at its next command boundary or SLEEP/HANG poll.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

namespace wsys::sim {

class SimFile;

// A JM context (1.5: JM_CTX_CREATE; handle 0 is the file's default
// context, MEDIUM priority, created with the file). Jobs hold a reference;
// JM_CTX_DESTROY sets `destroyed`, and the context's queued jobs then
// signal -ECANCELED instead of running (the kernel kills them). The model
// runs every context's jobs on the file's two slots; the priority is
// recorded, not scheduled.
struct PanfrostJmCtx {
  uint32_t priority = 1;  // PANFROST_JM_CTX_PRIORITY_MEDIUM
  std::atomic<bool> destroyed{false};
};
// The file's context `handle`, null if none (panfrost_ioctls.cpp).
std::shared_ptr<PanfrostJmCtx> panfrost_jm_ctx_lookup(SimFile& f, uint32_t handle);

// Drains and stops the file's job slots (SimFile::DriverPriv::file_closing).
void panfrost_jobs_file_closing(SimFile& f);

// Tears down the mappings of BOs whose handle was closed while a job used
// them, once no job does (panfrost_ioctls.cpp; called at job completion).
void panfrost_reap_closed_mappings(SimFile& f);

}  // namespace wsys::sim
