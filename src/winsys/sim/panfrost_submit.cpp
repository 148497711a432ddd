// panfrost SUBMIT and WAIT_BO (see panfrost_submit.h for the job model).
#include "winsys/sim/panfrost_submit.h"

#include <cerrno>
#include <climits>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <new>
#include <thread>
#include <unordered_map>
#include <vector>

#include "drm-uapi/panfrost_drm.h"
#include "drm-uapi/wsys_sim_alloc.h"
#include "winsys/sim/executor.h"
#include "winsys/sim/fence.h"
#include "winsys/sim/gpu_fault.h"
#include "winsys/sim/host_import.h"
#include "winsys/sim/ioctls.h"
#include "winsys/sim/shared_alloc.h"
#include "winsys/sim/signalling.h"
#include "winsys/sim/sim_device.h"
#include "winsys/sim/sim_file.h"
#include "winsys/sim/syncobj.h"
#include "winsys/sim/user_copy.h"
#include "winsys/sim/vm.h"

namespace wsys::sim {

namespace {

constexpr uint32_t kReqFs = 1u << 0;          // PANFROST_JD_REQ_FS
constexpr uint32_t kReqCycleCount = 1u << 1;  // PANFROST_JD_REQ_CYCLE_COUNT

// kvmalloc_array()'s limit: an array above INT_MAX bytes is -ENOMEM before
// the user's pointer is read.
constexpr uint64_t kKvmallocMax = INT_MAX;

// Copies `count` u32 handles in, as the kernel's kvmalloc_array +
// copy_from_user: -ENOMEM when the kernel's largest array for them
// (`kernel_elem_bytes` per entry) passes kvmalloc's limit, -EFAULT for a bad
// pointer (checked at both ends before the allocation:
// user_range_ends_readable). Nothing is zero-filled first (the copy writes
// every element or fails), so a count the user lied about costs no memory
// it did not copy.
int copy_handles_in(uint64_t user, uint32_t count, size_t kernel_elem_bytes,
                    std::unique_ptr<uint32_t[]>* out) {
  if (uint64_t{count} * kernel_elem_bytes > kKvmallocMax) return -ENOMEM;
  const size_t bytes = size_t{count} * sizeof(uint32_t);
  if (!user_range_ends_readable(user, bytes)) return -EFAULT;
  out->reset(new (std::nothrow) uint32_t[count]);
  if (!*out) return -ENOMEM;
  return copy_from_user(out->get(), user, bytes);
}
constexpr int kSlots = 2;

struct Job {
  std::shared_ptr<PanfrostJmCtx> ctx;
  SimVmPtr vm;
  uint64_t jc = 0;
  std::vector<SimBoPtr> bos;
  std::vector<FencePtr> deps;
  FencePtr fence;
};

struct Slot {
  std::mutex m;
  std::condition_variable cv;
  std::deque<std::unique_ptr<Job>> queue;
  bool stop = false;
  std::thread worker;
};

// One file's job slots.
struct FileJobs {
  Slot slots[kSlots];
  std::atomic<bool> cancel{false};
  std::mutex start_lock;  // serialises worker start-up with close
  bool closed = false;
  SimFile* file = nullptr;  // alive while workers run (file close joins them)

  void run_slot(Slot& s);
};

std::mutex g_files_lock;
std::unordered_map<const SimFile*, std::shared_ptr<FileJobs>>& files() {
  static auto* m = new std::unordered_map<const SimFile*, std::shared_ptr<FileJobs>>();
  return *m;
}

std::shared_ptr<FileJobs> jobs_of(SimFile& f, bool create) {
  std::lock_guard<std::mutex> g(g_files_lock);
  auto it = files().find(&f);
  if (it != files().end()) return it->second;
  if (!create) return nullptr;
  auto j = std::make_shared<FileJobs>();
  j->file = &f;
  files().emplace(&f, j);
  return j;
}

void FileJobs::run_slot(Slot& s) {
  for (;;) {
    std::unique_ptr<Job> j;
    {
      std::unique_lock<std::mutex> lk(s.m);
      s.cv.wait(lk, [&] { return s.stop || !s.queue.empty(); });
      if (s.queue.empty()) return;
      j = std::move(s.queue.front());
      s.queue.pop_front();
    }
    // Dependencies first, outside the signalling section (drm_sched
    // resolves them before run_job). File close cuts the wait short.
    {
      SyncState& ss = SyncState::get();
      std::unique_lock<std::mutex> lk(ss.lock());
      ss.wait_until(lk, -1, [&] {
        if (cancel.load(std::memory_order_acquire)) return true;
        for (const FencePtr& d : j->deps)
          if (!d->is_signalled()) return false;
        return true;
      });
    }
    ExecOptions opts;
    opts.cancel = &cancel;
    opts.deadline_ns = monotonic_ns() + job_timeout_ms() * 1000000;
    {
      SignallingSection section;
      int status;
      if (cancel.load(std::memory_order_acquire) ||
          (j->ctx && j->ctx->destroyed.load(std::memory_order_acquire)))
        status = -ECANCELED;
      else if (!j->vm)
        status = -EFAULT;  // no address space: the first access faults
      else
        status = execute_stream(*j->vm, j->jc, 0, nullptr, opts);
      SyncState& ss = SyncState::get();
      std::lock_guard<std::mutex> g(ss.lock());
      j->fence->signal_locked(status);
      for (const SimBoPtr& bo : j->bos) bo->gpu_busy.fetch_sub(1, std::memory_order_acq_rel);
      ss.changed_locked();
    }
    j.reset();  // drops references outside the section
    // Mappings whose handle was closed while this job ran can go now.
    if (!cancel.load(std::memory_order_acquire)) panfrost_reap_closed_mappings(*file);
  }
}

}  // namespace

void panfrost_jobs_file_closing(SimFile& f) {
  std::shared_ptr<FileJobs> fj;
  {
    std::lock_guard<std::mutex> g(g_files_lock);
    auto it = files().find(&f);
    if (it == files().end()) return;
    fj = it->second;
    files().erase(it);
  }
  {
    std::lock_guard<std::mutex> g(fj->start_lock);
    fj->closed = true;
  }
  {
    SyncState& ss = SyncState::get();
    std::lock_guard<std::mutex> g(ss.lock());
    fj->cancel.store(true, std::memory_order_release);
    ss.changed_locked();  // wakes dependency waits
  }
  for (Slot& s : fj->slots) {
    {
      std::lock_guard<std::mutex> g(s.m);
      s.stop = true;
    }
    s.cv.notify_all();
  }
  for (Slot& s : fj->slots)
    if (s.worker.joinable()) s.worker.join();
  // Jobs queued on a slot whose worker never started (cannot happen: the
  // worker starts with the first job) would be cancelled here.
  for (Slot& s : fj->slots) {
    for (auto& j : s.queue) {
      std::lock_guard<std::mutex> g(SyncState::get().lock());
      j->fence->signal_locked(-ECANCELED);
      for (const SimBoPtr& bo : j->bos) bo->gpu_busy.fetch_sub(1);
      SyncState::get().changed_locked();
    }
    s.queue.clear();
  }
}

int ioctl_panfrost_submit(SimFile& f, void* data) {
  auto* a = static_cast<drm_panfrost_submit*>(data);
  const SimDevice& dev = *f.device();
  // 1.5 (JM contexts): the 48-byte layout. Before, the kernel's struct ends
  // at `requirements`: whatever a caller passes beyond it is ignored and
  // the job runs on the file's only context.
  const bool jm_ctx = dev.at_least(kPanfrostJmContexts);
  if (jm_ctx && a->pad) return -EINVAL;
  if (!a->jc) return -EINVAL;
  uint32_t reqs = kReqFs;
  if (dev.at_least(kPanfrostCycleCount)) reqs |= kReqCycleCount;
  if (a->requirements & ~reqs) return -EINVAL;

  SyncobjPtr out;
  if (a->out_sync) {
    out = f.lookup_syncobj(a->out_sync);
    if (!out) return -ENODEV;  // panfrost's answer for a bad out_sync
  }
  std::shared_ptr<PanfrostJmCtx> ctx = panfrost_jm_ctx_lookup(f, jm_ctx ? a->jm_ctx_handle : 0);
  if (!ctx || ctx->destroyed.load(std::memory_order_acquire)) return -EINVAL;

  auto job = std::make_unique<Job>();
  job->ctx = std::move(ctx);
  job->jc = a->jc;

  // In-syncs: binary syncobjs (panfrost_copy_in_sync: one u32 array).
  std::unique_ptr<uint32_t[]> handles;
  if (a->in_sync_count) {
    if (int r = copy_handles_in(a->in_syncs, a->in_sync_count, sizeof(uint32_t), &handles))
      return r;
  }
  std::vector<SyncobjPtr> in_objs;
  for (uint32_t i = 0; i < a->in_sync_count; i++) {
    SyncobjPtr s = f.lookup_syncobj(handles[i]);
    if (!s) return -ENOENT;
    in_objs.push_back(std::move(s));
  }
  {
    std::lock_guard<std::mutex> g(SyncState::get().lock());
    for (const SyncobjPtr& s : in_objs) {
      FencePtr fence = s->find_locked(0);
      if (!fence) return -EINVAL;  // drm_syncobj_find_fence: no fence
      job->deps.push_back(std::move(fence));
    }
  }

  // BO list (drm_gem_objects_lookup: an array of object pointers, then
  // one of u32 handles).
  std::unique_ptr<uint32_t[]> bo_handles;
  if (a->bo_handle_count) {
    if (int r = copy_handles_in(a->bo_handles, a->bo_handle_count, sizeof(void*), &bo_handles))
      return r;
  }
  for (uint32_t i = 0; i < a->bo_handle_count; i++) {
    SimBoPtr bo = f.lookup_bo(bo_handles[i]);
    if (!bo) return -ENOENT;
    job->bos.push_back(std::move(bo));
  }
  job->vm = f.panfrost_vm();
  // Host imports (model extension): invalidated objects leave the VM first.
  if (job->vm) host_import_revalidate(*job->vm);
  job->fence = std::make_shared<Fence>();
  gpu_fault_install();  // before the first executor runs

  // Shared buffers of the model's allocator (a model extension) in the BO
  // list: the job is a GPU access, so the allocator decides here whether
  // CPU caches need maintenance. panfrost's list says nothing about
  // direction: read and write.
  for (const SimBoPtr& bo : job->bos) {
    if (!bo->shared_attach) continue;
    SharedBuffer& sb = *bo->shared_attach->buffer();
    const uint32_t rw = WSYS_ALLOC_SYNC_READ | WSYS_ALLOC_SYNC_WRITE;
    if (int r = sb.allocator().sync(sb, WSYS_ALLOC_DOMAIN_GPU, rw)) return r;
  }

  const int slot_index = (a->requirements & kReqFs) ? 0 : 1;
  std::shared_ptr<FileJobs> fj = jobs_of(f, true);
  {
    std::lock_guard<std::mutex> sg(fj->start_lock);
    if (fj->closed) return -ENODEV;
    Slot& slot = fj->slots[slot_index];
    if (!slot.worker.joinable()) {
      FileJobs* raw = fj.get();
      slot.worker = std::thread([raw, &slot] { raw->run_slot(slot); });
    }
  }

  // Mark the BOs busy under their reservation lock, as the kernel's submit
  // holds the objects' reservations: the shrinker try-locks it and re-checks
  // gpu_busy, so it can never purge an object a job is about to use.
  for (const SimBoPtr& bo : job->bos) {
    std::lock_guard<std::mutex> r(bo->resv);
    bo->gpu_busy.fetch_add(1, std::memory_order_acq_rel);
  }
  Slot& slot = fj->slots[slot_index];
  {
    SyncState& ss = SyncState::get();
    std::lock_guard<std::mutex> g(ss.lock());
    // Implicit sync: after every earlier job using any of the BOs.
    for (const SimBoPtr& bo : job->bos) {
      if (bo->last_job_fence && !bo->last_job_fence->is_signalled())
        job->deps.push_back(bo->last_job_fence);
    }
    for (const SimBoPtr& bo : job->bos) {
      bo->last_job_fence = job->fence;
    }
    if (out) out->replace_locked(job->fence);
    // Queued under the same lock that published its fences: a job that
    // depends on this one (implicitly or through out_sync) cannot reach the
    // slot before it, which would leave the slot's worker waiting forever
    // on a job queued behind it.
    {
      std::lock_guard<std::mutex> q(slot.m);
      slot.queue.push_back(std::move(job));
    }
    ss.changed_locked();
  }
  slot.cv.notify_one();
  return 0;
}

int ioctl_panfrost_wait_bo(SimFile& f, void* data) {
  auto* a = static_cast<drm_panfrost_wait_bo*>(data);
  if (a->pad) return -EINVAL;
  SimBoPtr bo = f.lookup_bo(a->handle);
  if (!bo) return -ENOENT;
  // Absolute CLOCK_MONOTONIC timeout; 0 (or a time already past) polls.
  const int64_t deadline = a->timeout_ns;
  const bool poll = deadline <= monotonic_ns();
  SyncState& ss = SyncState::get();
  std::unique_lock<std::mutex> lk(ss.lock());
  bool idle = ss.wait_until(lk, poll ? 0 : deadline,
                            [&] { return bo->gpu_busy.load(std::memory_order_acquire) == 0; });
  if (idle) return 0;
  return poll ? -EBUSY : -ETIMEDOUT;
}

}  // namespace wsys::sim
