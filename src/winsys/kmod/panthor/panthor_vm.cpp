// panthor VMs: VM_CREATE / VM_DESTROY / VM_GET_STATE and VM_BIND in the
// three modes, with the per-VM activity timeline for DeferToNextIdle.
#include <cerrno>

#include "drm-uapi/drm_core.h"
#include "winsys/kmod/panthor/panthor.h"
#include "winsys/kmod/small_array.h"

namespace wsys::kmod::panthor {

Result<VmPtr> PanthorDevice::vm_create(uint64_t user_va_range) {
  drm_panthor_vm_create c{};
  c.user_va_range = user_va_range;  // 0: the kernel picks; too large: its -EINVAL
  if (int r = file().ioctl(DRM_IOCTL_PANTHOR_VM_CREATE, &c)) return Error(r);
  // The VM's activity timeline (a syncobj used with timeline points).
  auto sync = syncobj_create(false);
  if (!sync) {
    drm_panthor_vm_destroy d{};
    d.id = c.id;
    (void)file().ioctl(DRM_IOCTL_PANTHOR_VM_DESTROY, &d);
    return Error(sync.error());
  }
  return VmPtr(
      std::make_shared<PanthorVm>(core_, c.id, c.user_va_range, *sync, props_.has_sparse_map));
}

PanthorVm::PanthorVm(std::shared_ptr<detail::DeviceCore> core, uint32_t id, uint64_t va_end,
                     uint32_t activity_syncobj, bool sparse_map)
    : Vm(id, 0, va_end), core_(std::move(core)), sparse_map_(sparse_map) {
  activity_syncobj_ = activity_syncobj;
}

PanthorVm::~PanthorVm() {
  // Errors are of no use here: the kernel tears everything down with the
  // file anyway.
  drm_panthor_vm_destroy d{};
  d.id = id_;
  (void)core_->file->ioctl(DRM_IOCTL_PANTHOR_VM_DESTROY, &d);
  drm_syncobj_destroy s{};
  s.handle = activity_syncobj_;
  (void)core_->file->ioctl(DRM_IOCTL_SYNCOBJ_DESTROY, &s);
}

Result<bool> PanthorVm::usable() {
  drm_panthor_vm_get_state s{};
  s.vm_id = id_;
  if (int r = core_->file->ioctl(DRM_IOCTL_PANTHOR_VM_GET_STATE, &s)) return Error(r);
  return s.state == DRM_PANTHOR_VM_STATE_USABLE;
}

namespace {

uint32_t op_flags(const BindOp& op) {
  uint32_t f = 0;
  switch (op.type) {
    case BindOp::Type::Map: f = DRM_PANTHOR_VM_BIND_OP_TYPE_MAP; break;
    case BindOp::Type::Unmap: f = DRM_PANTHOR_VM_BIND_OP_TYPE_UNMAP; break;
    case BindOp::Type::SyncOnly: f = DRM_PANTHOR_VM_BIND_OP_TYPE_SYNC_ONLY; break;
  }
  // The caller's explicit flags go to the kernel whatever the type (it
  // rejects them on UNMAP / SYNC_ONLY with its own errno).
  if (op.read_only) f |= DRM_PANTHOR_VM_BIND_OP_MAP_READONLY;
  if (op.no_exec) f |= DRM_PANTHOR_VM_BIND_OP_MAP_NOEXEC;
  if (op.gpu_uncached) f |= DRM_PANTHOR_VM_BIND_OP_MAP_UNCACHED;
  // A sparse map is never executable (the kernel requires NOEXEC).
  if (op.sparse) f |= DRM_PANTHOR_VM_BIND_OP_MAP_SPARSE | DRM_PANTHOR_VM_BIND_OP_MAP_NOEXEC;
  // The BO's own creation flags apply to every map of it: a BO made
  // without kBoExecutable is never mapped executable (imports excepted:
  // kmod does not know what they hold), kBoGpuUncached always uncached.
  if (op.type == BindOp::Type::Map && op.bo) {
    if (!op.bo->imported() && !(op.bo->flags() & kBoExecutable))
      f |= DRM_PANTHOR_VM_BIND_OP_MAP_NOEXEC;
    if (op.bo->flags() & kBoGpuUncached) f |= DRM_PANTHOR_VM_BIND_OP_MAP_UNCACHED;
  }
  return f;
}

}  // namespace

Result<void> PanthorVm::bind(BindMode mode, std::span<const BindOp> ops, size_t* failed_index) {
  size_t unused;
  size_t& failed = failed_index ? *failed_index : unused;
  failed = 0;
  if (ops.empty()) return {};

  // What the kernel would refuse anyway is refused here without a call:
  // syncs on a synchronous bind, and (kmod's own rule) user syncs on a
  // deferred one, whose syncs are the activity timeline's.
  size_t nsyncs = 0;
  for (const BindOp& op : ops) {
    if (!op.syncs.empty() && mode != BindMode::Async) return Error(-EINVAL);
    if (op.bo && detail::DeviceCore::core_of(*op.bo) != core_) return Error(-EINVAL);
    if (op.sparse) {
      if (!sparse_map_) return Error(-EOPNOTSUPP);  // before panthor 1.9
      if (op.type != BindOp::Type::Map || op.bo || op.bo_offset) return Error(-EINVAL);
    }
    nsyncs += op.syncs.size();
  }

  // Deferred: hold the activity lock across the ioctl so the points this
  // bind waits on and signals are the latest ones, in order.
  std::unique_lock<std::mutex> activity;
  uint64_t wait_point = 0, signal_point = 0;
  if (mode == BindMode::DeferToNextIdle) {
    activity = std::unique_lock<std::mutex>(activity_lock_);
    wait_point = activity_point_;  // 0: nothing used the VM yet, nothing to wait for
    signal_point = activity_point_ + 1;
    nsyncs = (wait_point ? 1 : 0) + 1;
  }

  detail::SmallArray<drm_panthor_vm_bind_op, kInlineBindOps> kops(ops.size());
  detail::SmallArray<drm_panthor_sync_op, kInlineSyncOps> ksyncs(nsyncs);
  size_t at = 0;
  for (size_t i = 0; i < ops.size(); i++) {
    const BindOp& op = ops[i];
    drm_panthor_vm_bind_op& k = kops[i];
    k.flags = op_flags(op);
    k.bo_handle = op.bo ? op.bo->handle() : 0;
    k.bo_offset = op.bo_offset;
    k.va = op.va;
    k.size = op.size;
    drm_panthor_sync_op* first = ksyncs.data() + at;
    if (mode == BindMode::DeferToNextIdle) {
      // The first op waits for the VM to go idle, the last one signals the
      // next point; the bind queue runs the ops in between in order.
      if (i == 0 && wait_point) ksyncs[at++] = to_uapi(SyncOp::wait(activity_syncobj_, wait_point));
      if (i + 1 == ops.size())
        ksyncs[at++] = to_uapi(SyncOp::signal(activity_syncobj_, signal_point));
    } else {
      for (const SyncOp& s : op.syncs) ksyncs[at++] = to_uapi(s);
    }
    k.syncs = obj_array(sizeof(drm_panthor_sync_op), static_cast<size_t>(ksyncs.data() + at - first),
                        first);
  }

  drm_panthor_vm_bind b{};
  b.vm_id = id_;
  b.flags = mode == BindMode::Immediate ? 0 : DRM_PANTHOR_VM_BIND_ASYNC;
  b.ops = obj_array(sizeof(drm_panthor_vm_bind_op), kops.size(), kops.data());
  if (int r = core_->file->ioctl(DRM_IOCTL_PANTHOR_VM_BIND, &b)) {
    // A synchronous bind that failed in op i rewrites ops.count to i; a
    // call refused as a whole leaves it alone (nothing was done).
    if (mode == BindMode::Immediate && b.ops.count < ops.size()) failed = b.ops.count;
    return Error(r);
  }
  if (mode == BindMode::DeferToNextIdle) activity_point_ = signal_point;
  failed = ops.size();
  return {};
}

}  // namespace wsys::kmod::panthor
