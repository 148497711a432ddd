// panthor GROUP_CREATE / GROUP_DESTROY / GROUP_SUBMIT / GROUP_GET_STATE of
// the model, with the kernel's validation order and errno values
// (panthor_drv.c / panthor_sched.c, kernel-uapi.md section 1):
//   GROUP_CREATE: zero queues -EINVAL; the queue array (stride rules,
//     min stride 8); priority > REALTIME -EINVAL, HIGH/REALTIME without
//     CAP_SYS_NICE -EACCES (the model has no DRM master); pad MBZ; core
//     masks must be subsets of shader_present (compute, fragment) and
//     tiler_present (tiler) and hold at least max_* cores; the VM must
//     exist; per queue: pad MBZ, ringbuf_size a power of two in
//     [4 KiB, 64 KiB], priority <= 15; handles 1..128 (xa_alloc: -EBUSY).
//   GROUP_SUBMIT: pad MBZ; the queue_submits array (min stride 40); per
//     job (panthor_job_create): pad MBZ, stream_size/stream_addr both zero
//     (a pure sync point) or both non-zero, stream_addr 64-byte aligned,
//     stream_size 8-byte aligned; the group must exist and be able to run
//     (not faulted, not timed out), the queue index valid: -EINVAL; then
//     the job's syncs array (min stride 16). Then SIGNALs are collected,
//     WAITs resolved (as VM_BIND, panthor_uobj.h), and only when nothing
//     can fail any more are the jobs queued and the fences published.
//     latest_flush is ignored.
//   GROUP_DESTROY: pad MBZ; unknown handle -EINVAL. Queued/running jobs are
//     cancelled (fences -ECANCELED).
//   GROUP_GET_STATE: pad MBZ; unknown handle -EINVAL. INNOCENT is never
//     set: the model has no device reset that could catch a group.
#include <cerrno>
#include <new>
#include <vector>

#include "drm-uapi/panthor_drm.h"
#include "winsys/sim/host_import.h"
#include "winsys/sim/ioctls.h"
#include "winsys/sim/panthor_group.h"
#include "winsys/sim/panthor_reclaim.h"
#include "winsys/sim/shrinker.h"
#include "winsys/sim/panthor_uobj.h"
#include "winsys/sim/sim_device.h"
#include "winsys/sim/userq.h"
#include "winsys/sim/vm.h"

namespace wsys::sim {

namespace {

using namespace panthor_uobj;

constexpr uint32_t kQueueCreateMinSize = 8;
constexpr uint32_t kQueueSubmitMinSize = 40;
constexpr uint32_t kSyncOpMinSize = 16;
constexpr uint32_t kMaxQueuePrio = 15;
// MAX_CS_PER_CSG: a group has at most 32 queues (fatal_queues is a 32-bit
// mask). The kernel checks the count before it copies the array.
constexpr uint32_t kMaxQueuesPerGroup = 32;

bool masks_ok(uint64_t mask, uint64_t present, uint8_t max_cores) {
  if (mask & ~present) return false;
  return static_cast<uint32_t>(__builtin_popcountll(mask)) >= max_cores;
}

}  // namespace

int ioctl_panthor_group_create(SimFile& f, void* data) {
  auto* args = static_cast<drm_panthor_group_create*>(data);
  PanthorFilePriv* priv = panthor_priv(f);
  if (!priv) return -EINVAL;
  if (!args->queues.count || args->queues.count > kMaxQueuesPerGroup) return -EINVAL;
  std::vector<drm_panthor_queue_create> qargs;
  int r = get_obj_array(args->queues, kQueueCreateMinSize, &qargs);
  if (r) return r;
  if (args->priority > PANTHOR_GROUP_PRIORITY_REALTIME) return -EINVAL;
  // Before 1.2 REALTIME did not exist: the same -EINVAL as any unknown one.
  if (args->priority == PANTHOR_GROUP_PRIORITY_REALTIME &&
      !f.device()->at_least(kPanthorGroupPriorities))
    return -EINVAL;
  if (args->priority >= PANTHOR_GROUP_PRIORITY_HIGH && !panthor_capable_sys_nice())
    return -EACCES;
  if (args->pad) return -EINVAL;
  const GpuIdentity& gpu = f.device()->gpu();
  if (!masks_ok(args->compute_core_mask, gpu.shader_present, args->max_compute_cores) ||
      !masks_ok(args->fragment_core_mask, gpu.shader_present, args->max_fragment_cores) ||
      !masks_ok(args->tiler_core_mask, gpu.tiler_present, args->max_tiler_cores))
    return -EINVAL;
  std::shared_ptr<SimVm> vm = f.lookup_vm(args->vm_id);
  if (!vm) return -EINVAL;
  std::vector<PanthorGroup::QueueParams> qp;
  try {
    for (const drm_panthor_queue_create& q : qargs) {
      if (q.pad[0] || q.pad[1] || q.pad[2]) return -EINVAL;
      if (q.ringbuf_size < 4096 || q.ringbuf_size > 65536 ||
          (q.ringbuf_size & (q.ringbuf_size - 1)))
        return -EINVAL;
      if (q.priority > kMaxQueuePrio) return -EINVAL;
      qp.push_back(PanthorGroup::QueueParams{q.priority, q.ringbuf_size});
    }
    auto group =
        std::make_shared<PanthorGroup>(priv, f.device(), vm, args->vm_id, qp, args->priority);
    r = group->start();
    if (r) {
      group->destroy();
      return r;
    }
    uint32_t h = priv->add_group(group);
    if (!h) {
      group->destroy();
      return -EBUSY;
    }
    args->group_handle = h;
  } catch (const std::bad_alloc&) {
    return -ENOMEM;
  }
  return 0;
}

int ioctl_panthor_group_destroy(SimFile& f, void* data) {
  auto* args = static_cast<drm_panthor_group_destroy*>(data);
  if (args->pad) return -EINVAL;
  PanthorFilePriv* priv = panthor_priv(f);
  if (!priv) return -EINVAL;
  PanthorGroupPtr g = priv->remove_group(args->group_handle);
  if (!g) return -EINVAL;
  userq_group_destroyed(*priv->userq(), g.get());  // its user queues first
  g->destroy();
  return 0;
}

int ioctl_panthor_group_get_state(SimFile& f, void* data) {
  auto* args = static_cast<drm_panthor_group_get_state*>(data);
  if (args->pad) return -EINVAL;
  PanthorFilePriv* priv = panthor_priv(f);
  if (!priv) return -EINVAL;
  PanthorGroupPtr g = priv->lookup_group(args->group_handle);
  if (!g) return -EINVAL;
  uint32_t state = 0;
  if (g->timedout()) state |= DRM_PANTHOR_GROUP_STATE_TIMEDOUT;
  if (g->fatal()) state |= DRM_PANTHOR_GROUP_STATE_FATAL_FAULT;
  args->state = state;
  args->fatal_queues = g->fatal_queues();
  return 0;
}

int ioctl_panthor_group_submit(SimFile& f, void* data) {
  auto* args = static_cast<drm_panthor_group_submit*>(data);
  if (args->pad) return -EINVAL;
  PanthorFilePriv* priv = panthor_priv(f);
  if (!priv) return -EINVAL;
  std::vector<drm_panthor_queue_submit> subs;
  int r = get_obj_array(args->queue_submits, kQueueSubmitMinSize, &subs);
  if (r) return r;
  if (subs.empty()) return 0;

  try {
    // 1. Jobs.
    PanthorGroupPtr group;
    std::vector<PanthorJobPtr> jobs;
    std::vector<std::vector<drm_panthor_sync_op>> syncs(subs.size());
    jobs.reserve(subs.size());
    for (size_t i = 0; i < subs.size(); i++) {
      const drm_panthor_queue_submit& q = subs[i];
      if (q.pad) return -EINVAL;
      if ((q.stream_size == 0) != (q.stream_addr == 0)) return -EINVAL;
      if ((q.stream_addr & 63) || (q.stream_size & 7)) return -EINVAL;
      if (!group) group = priv->lookup_group(args->group_handle);
      if (!group) return -EINVAL;
      if (!group->can_run()) return -EINVAL;
      if (q.queue_index >= group->queue_count()) return -EINVAL;
      auto job = std::make_unique<PanthorJob>();
      job->queue_index = q.queue_index;
      job->stream_va = q.stream_addr;
      job->stream_size = q.stream_size;
      r = get_obj_array(q.syncs, kSyncOpMinSize, &syncs[i]);
      if (r) return r;
      jobs.push_back(std::move(job));
    }

    // 2. Sync ops: SIGNALs collected first, then each job's WAITs.
    std::vector<SignalTarget> sigs;
    r = resolve_sync_ops(f, jobs, syncs, &sigs);
    if (r) return r;

    // 3. The panthor shrinker: everything the VM maps comes back from swap
    //    before the jobs are queued (-ENOMEM if it cannot, nothing lost),
    //    and the VM counts as busy until the last job is gone.
    if (PanthorReclaim* rc = f.device()->shrinker().reclaimer()) {
      if (group->reclaim_vm()) {
        std::shared_ptr<ReclaimBusy> busy = rc->before_submit(group->reclaim_vm(), *group->vm(),
                                                               static_cast<int>(jobs.size()), &r);
        if (!busy) return r;
        for (auto& j : jobs) j->vm_busy = busy;
      }
    }

    // 3b. Host imports (model extension): a backed object whose range the
    //     application unmapped leaves the VM, so the job faults on it.
    host_import_revalidate(*group->vm());

    // 4. Queue (a group destroyed in the meantime refuses them all).
    std::vector<FencePtr> dones;
    dones.reserve(jobs.size());
    for (auto& j : jobs) dones.push_back(j->done);
    if (!group->push(jobs)) return -EINVAL;

    // 5. Publish the fences.
    publish_signals(sigs);
  } catch (const std::bad_alloc&) {
    return -ENOMEM;
  }
  return 0;
}

}  // namespace wsys::sim
