// panthor VM ioctls of the model: VM_CREATE, VM_DESTROY, VM_BIND,
// VM_GET_STATE, with the kernel's validation order and errno values.
//
// Facts followed here (the panthor uAPI, checked against the kernel's
// panthor_drv.c / panthor_mmu.c):
//   - VM_CREATE: flags MBZ; user_va_range 0 = the kernel picks; a value
//     above range - 256 MiB is -EINVAL. The kernel then splits the VA space
//     at kernel_va_start = full - rounddown_pow_of_two(full - user) and
//     reports that as user_va_range (so the value returned can be larger
//     than the one asked for). Ids come from xa_alloc(1..32): -EBUSY when
//     all 32 are taken.
//   - VM_BIND: the vm is looked up first (-EINVAL), then the op array is
//     copied (stride/zero-extension rules); bind flags other than ASYNC are
//     ignored (the kernel does not check them).
//   - Per op (panthor_vm_bind_prepare_op_ctx): va | size | bo_offset 4 KiB-
//     aligned (-EINVAL); MAP: an unknown BO handle is -EINVAL (the kernel
//     passes a NULL object down and refuses it), flags other than the MAP
//     flags -EINVAL (MAP_SPARSE only from 1.9), BO bounds and the
//     exclusive VM -EINVAL; MAP_SPARSE (1.9): bo_handle and bo_offset 0 and
//     MAP_NOEXEC set, else -EINVAL; the range is mapped over the model's
//     zero page (reads zero, stores dropped: vm.h kSimMapSparse) and splits
//     and unmaps like any mapping; the range must lie inside the user VA range
//     (the model checks at ioctl time what would otherwise fail at run
//     time); UNMAP/SYNC_ONLY MBZ rules.
//   - Synchronous binds: an op with syncs -EINVAL; an op of size 0 is a
//     no-op; on failure ops.count = failing index.
//   - Asynchronous binds: per op the VM must be usable (-EINVAL), then the
//     op is prepared, then its sync array is copied; then every SIGNAL of
//     every op is checked and its syncobj looked up (unknown handle
//     -EINVAL); then per op the WAITs are checked and resolved (an earlier
//     op's SIGNAL of the same handle/point, else the syncobj: unknown
//     handle -ENOENT, no fence/point -EINVAL) and the op's SIGNALs take the
//     op's fence. Only then are jobs queued and fences published.

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <new>
#include <vector>

#include "drm-uapi/panthor_drm.h"
#include "winsys/sim/bind_queue.h"
#include "winsys/sim/ioctls.h"
#include "winsys/sim/panthor_uobj.h"
#include "winsys/sim/sim_device.h"
#include "winsys/sim/syncobj.h"
#include "winsys/sim/user_copy.h"
#include "winsys/sim/vm.h"

namespace wsys::sim {

namespace {

using namespace panthor_uobj;

constexpr uint64_t kMinKernelVa = 256ull << 20;  // PANTHOR_VM_MIN_KERNEL_VA_SIZE
constexpr uint64_t kTaskSize = 1ull << 47;       // x86-64 / arm64 48-bit user space
constexpr uint64_t k4G = 1ull << 32;
constexpr uint64_t kVmPage = 4096;

constexpr uint32_t kTypeMask = static_cast<uint32_t>(DRM_PANTHOR_VM_BIND_OP_TYPE_MASK);
constexpr uint32_t kTypeMap = DRM_PANTHOR_VM_BIND_OP_TYPE_MAP;
constexpr uint32_t kTypeUnmap = DRM_PANTHOR_VM_BIND_OP_TYPE_UNMAP;
constexpr uint32_t kTypeSyncOnly = DRM_PANTHOR_VM_BIND_OP_TYPE_SYNC_ONLY;
// MAP flags before 1.9; MAP_SPARSE (1.9) is an unknown flag before.
constexpr uint32_t kMapFlags = DRM_PANTHOR_VM_BIND_OP_MAP_READONLY |
                               DRM_PANTHOR_VM_BIND_OP_MAP_NOEXEC |
                               DRM_PANTHOR_VM_BIND_OP_MAP_UNCACHED | kTypeMask;
constexpr uint32_t kSparse = DRM_PANTHOR_VM_BIND_OP_MAP_SPARSE;

// Minimum user strides: the element sizes when each struct was added.
constexpr uint32_t kBindOpMinSize = 48;  // ... syncs
constexpr uint32_t kSyncOpMinSize = 16;  // ... timeline_value

uint64_t rounddown_pow2(uint64_t v) { return v ? 1ull << (63 - __builtin_clzll(v)) : 0; }

uint32_t sim_map_flags(uint32_t op_flags) {
  uint32_t f = 0;
  if (op_flags & DRM_PANTHOR_VM_BIND_OP_MAP_READONLY) f |= kSimMapReadOnly;
  if (op_flags & DRM_PANTHOR_VM_BIND_OP_MAP_NOEXEC) f |= kSimMapNoExec;
  if (op_flags & DRM_PANTHOR_VM_BIND_OP_MAP_UNCACHED) f |= kSimMapUncached;
  if (op_flags & DRM_PANTHOR_VM_BIND_OP_MAP_SPARSE) f |= kSimMapSparse;
  return f;
}

// panthor_vm_bind_prepare_op_ctx().
int prepare_op(SimFile& f, SimVm& vm, const drm_panthor_vm_bind_op& op, VmOpPtr* out) {
  if ((op.va | op.size | op.bo_offset) % kVmPage) return -EINVAL;
  switch (op.flags & kTypeMask) {
    case kTypeMap: {
      const uint32_t known = kMapFlags | (f.device()->at_least(kPanthorMapSparse) ? kSparse : 0);
      if ((op.flags & kSparse) && (op.flags & known & kSparse)) {
        // No object: bo_handle and bo_offset 0, never executable.
        if (op.bo_handle || op.bo_offset || !(op.flags & DRM_PANTHOR_VM_BIND_OP_MAP_NOEXEC))
          return -EINVAL;
        if (op.flags & ~known) return -EINVAL;
        return vm.prepare_map(nullptr, 0, op.va, op.size, sim_map_flags(op.flags), out);
      }
      SimBoPtr bo = f.lookup_bo(op.bo_handle);
      if (!bo) return -EINVAL;
      if (op.flags & ~kMapFlags) return -EINVAL;
      // A shared buffer's first GPU use (model extension): place it now.
      if (int r = map_shared_for_gpu(*bo)) return r;
      return vm.prepare_map(bo, op.bo_offset, op.va, op.size, sim_map_flags(op.flags), out);
    }
    case kTypeUnmap:
      if (op.flags & ~kTypeMask) return -EINVAL;
      if (op.bo_handle || op.bo_offset) return -EINVAL;
      return vm.prepare_user_unmap(op.va, op.size, out);
    case kTypeSyncOnly:
      if (op.flags & ~kTypeMask) return -EINVAL;
      if (op.bo_handle || op.bo_offset) return -EINVAL;
      if (op.va || op.size) return -EINVAL;
      if (!op.syncs.count) return -EINVAL;
      try {
        *out = vm.prepare_sync_only();
      } catch (const std::bad_alloc&) {
        return -ENOMEM;
      }
      return 0;
    default:
      return -EINVAL;
  }
}

int vm_bind_sync(SimFile& f, drm_panthor_vm_bind* args) {
  SimVmPtr vm = f.lookup_vm(args->vm_id);
  if (!vm) return -EINVAL;
  std::vector<drm_panthor_vm_bind_op> ops;
  int r = get_obj_array(args->ops, kBindOpMinSize, &ops);
  if (r) return r;
  for (uint32_t i = 0; i < ops.size(); i++) {
    const drm_panthor_vm_bind_op& op = ops[i];
    if (op.syncs.count) {
      r = -EINVAL;
    } else if (op.size == 0) {
      r = 0;
    } else {
      VmOpPtr prepared;
      r = prepare_op(f, *vm, op, &prepared);
      if (!r) r = vm->execute(*prepared, /*async=*/false);
    }
    if (r) {
      args->ops.count = i;  // where things failed
      return r;
    }
  }
  return 0;
}

int vm_bind_async(SimFile& f, drm_panthor_vm_bind* args) {
  SimVmPtr vm = f.lookup_vm(args->vm_id);
  if (!vm) return -EINVAL;
  std::vector<drm_panthor_vm_bind_op> ops;
  int r = get_obj_array(args->ops, kBindOpMinSize, &ops);
  if (r) return r;
  if (ops.empty()) return 0;

  try {
    // 1. Jobs: validate and pre-allocate each op, then copy its syncs.
    std::vector<BindJobPtr> jobs;
    std::vector<std::vector<drm_panthor_sync_op>> syncs(ops.size());
    jobs.reserve(ops.size());
    for (size_t i = 0; i < ops.size(); i++) {
      if (vm->destroyed() || !vm->usable() || !vm->bind_queue()) return -EINVAL;
      auto job = std::make_unique<BindJob>();
      r = prepare_op(f, *vm, ops[i], &job->op);
      if (r) return r;
      r = get_obj_array(ops[i].syncs, kSyncOpMinSize, &syncs[i]);
      if (r) return r;
      jobs.push_back(std::move(job));
    }

    // 2. Sync ops: SIGNALs collected first, then each job's WAITs.
    std::vector<SignalTarget> sigs;
    r = resolve_sync_ops(f, jobs, syncs, &sigs);
    if (r) return r;

    // 4. Queue. Nothing can fail once the jobs are in (a VM destroyed in
    //    the meantime refuses them all).
    BindQueue* q = vm->bind_queue();
    r = q->start();
    if (r) return r;
    if (!q->push(jobs)) return -EINVAL;

    // 5. Publish the fences.
    publish_signals(sigs);
  } catch (const std::bad_alloc&) {
    return -ENOMEM;
  }
  return 0;
}

}  // namespace

int ioctl_panthor_vm_create(SimFile& f, void* data) {
  auto* args = static_cast<drm_panthor_vm_create*>(data);
  if (args->flags) return -EINVAL;

  uint32_t va_bits = f.device()->gpu().va_bits();
  if (va_bits == 0 || va_bits > 63) return -EINVAL;
  uint64_t full = 1ull << va_bits;
  if (full < kMinKernelVa) return -EINVAL;
  uint64_t user;
  if (args->user_va_range) user = args->user_va_range;
  else if (kTaskSize < full) user = kTaskSize;
  else user = full > k4G ? full / 2 : full - kMinKernelVa;
  if (full - kMinKernelVa < user) user = full - kMinKernelVa;
  if (args->user_va_range && args->user_va_range > user) return -EINVAL;
  // A power-of-two kernel range at the top; the user part is below it.
  uint64_t kernel_va_start = full - rounddown_pow2(full - user);

  SimVm::Config cfg;
  cfg.va_size_bytes = full;
  cfg.user_va_start = 0;
  cfg.user_va_end = kernel_va_start;
  cfg.with_bind_queue = true;
  int err = 0;
  SimVmPtr vm = SimVm::create(f.device(), cfg, &err);
  if (!vm) return err;
  uint32_t id;
  try {
    id = f.add_vm(vm);
  } catch (const std::bad_alloc&) {
    id = 0;
  }
  if (!id) {
    vm->destroy();
    return -EBUSY;  // xa_alloc() with XA_LIMIT(1, 32): no free id
  }
  args->id = id;
  args->user_va_range = kernel_va_start;
  return 0;
}

int ioctl_panthor_vm_destroy(SimFile& f, void* data) {
  auto* args = static_cast<drm_panthor_vm_destroy*>(data);
  if (args->pad) return -EINVAL;
  SimVmPtr vm = f.remove_vm(args->id);
  if (!vm) return -EINVAL;
  vm->destroy();
  return 0;
}

int ioctl_panthor_vm_bind(SimFile& f, void* data) {
  auto* args = static_cast<drm_panthor_vm_bind*>(data);
  if (args->flags & DRM_PANTHOR_VM_BIND_ASYNC) return vm_bind_async(f, args);
  return vm_bind_sync(f, args);
}

int ioctl_panthor_vm_get_state(SimFile& f, void* data) {
  auto* args = static_cast<drm_panthor_vm_get_state*>(data);
  SimVmPtr vm = f.lookup_vm(args->vm_id);
  if (!vm) return -EINVAL;
  args->state = vm->usable() ? DRM_PANTHOR_VM_STATE_USABLE : DRM_PANTHOR_VM_STATE_UNUSABLE;
  return 0;
}

}  // namespace wsys::sim
