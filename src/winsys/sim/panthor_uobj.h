// Shared helpers of the panthor ioctls (VM_BIND, GROUP_SUBMIT): the
// kernel's PANTHOR_UOBJ_GET_ARRAY / copy_struct_from_user rules and the
// drm_panthor_sync_op checks and SIGNAL collection (panthor_submit_ctx).
#pragma once

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <new>
#include <vector>

#include "drm-uapi/panthor_drm.h"
#include "winsys/sim/fence.h"
#include "winsys/sim/sim_file.h"
#include "winsys/sim/syncobj.h"
#include "winsys/sim/user_copy.h"

namespace wsys::sim::panthor_uobj {

inline constexpr uint32_t kSyncTypeMask = DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_MASK;
inline constexpr uint32_t kSyncSignal = static_cast<uint32_t>(DRM_PANTHOR_SYNC_OP_SIGNAL);

// copy_struct_from_user(): the user's element may be larger than ours if
// the extra bytes are zero (-E2BIG otherwise), or smaller (zero-filled).
inline int copy_struct_from_user(void* dst, size_t ksize, uint64_t src, size_t usize) {
  size_t n = std::min(ksize, usize);
  if (usize > ksize) {
    unsigned char buf[256];
    for (size_t off = ksize; off < usize;) {
      size_t chunk = std::min(sizeof buf, usize - off);
      if (copy_from_user(buf, src + off, chunk)) return -EFAULT;
      for (size_t i = 0; i < chunk; i++)
        if (buf[i]) return -E2BIG;
      off += chunk;
    }
  }
  if (copy_from_user(dst, src, n)) return -EFAULT;
  if (ksize > usize) std::memset(static_cast<unsigned char*>(dst) + usize, 0, ksize - usize);
  return 0;
}

// PANTHOR_UOBJ_GET_ARRAY.
template <typename T>
int get_obj_array(const drm_panthor_obj_array& a, uint32_t min_stride, std::vector<T>* out) {
  out->clear();
  if (a.count == 0) return 0;  // no array, whatever the stride (fixed in 2024)
  if (a.stride < min_stride) return -EINVAL;
  uint64_t bytes = static_cast<uint64_t>(a.count) * sizeof(T);
  if (bytes > INT_MAX) return -ENOMEM;  // kvmalloc_array's limit
  if (!user_range_ends_readable(a.array, static_cast<uint64_t>(a.count) * a.stride)) return -EFAULT;
  try {
    out->resize(a.count);
  } catch (const std::bad_alloc&) {
    return -ENOMEM;
  }
  if (a.stride == sizeof(T)) return copy_from_user(out->data(), a.array, bytes);
  for (uint32_t i = 0; i < a.count; i++) {
    int r = copy_struct_from_user(&(*out)[i], sizeof(T),
                                  a.array + static_cast<uint64_t>(i) * a.stride, a.stride);
    if (r) return r;
  }
  return 0;
}

// panthor_check_sync_op().
inline int check_sync_op(const drm_panthor_sync_op& s) {
  if (s.flags & ~(kSyncTypeMask | kSyncSignal)) return -EINVAL;
  uint32_t type = s.flags & kSyncTypeMask;
  if (type != DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_SYNCOBJ &&
      type != DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_TIMELINE_SYNCOBJ)
    return -EINVAL;
  if (type == DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_SYNCOBJ && s.timeline_value != 0) return -EINVAL;
  return 0;
}

inline bool is_signal(const drm_panthor_sync_op& s) { return (s.flags & kSyncSignal) != 0; }

// A SIGNAL target of one ioctl (panthor_sync_signal): the syncobj point and
// the fence to install there, which is the syncobj's fence for the point at
// collection time until a job of this ioctl claims it.
struct SignalTarget {
  uint32_t handle;
  uint64_t point;
  SyncobjPtr obj;
  std::vector<FencePtr> current;  // the point's fences at collection time
  bool has_current = false;
  FencePtr fence;  // the last job of this ioctl that signals it
};

inline SignalTarget* find_signal(std::vector<SignalTarget>& sigs, uint32_t handle,
                                 uint64_t point) {
  for (SignalTarget& s : sigs)
    if (s.handle == handle && s.point == point) return &s;
  return nullptr;
}

// Resolves the sync ops of one ioctl's jobs (VM_BIND ops, GROUP_SUBMIT queue
// submits) as the kernel does: every SIGNAL target is collected first, so a
// job may WAIT on a point an earlier job of the same ioctl signals; then each
// job's WAITs become its dependencies and its fresh `done` fence becomes the
// fence of its SIGNALs. `Job` needs `std::vector<FencePtr> deps` and
// `FencePtr done`. Nothing is published here: see publish_signals().
template <typename JobPtr>
int resolve_sync_ops(SimFile& f, std::vector<JobPtr>& jobs,
                     const std::vector<std::vector<drm_panthor_sync_op>>& syncs,
                     std::vector<SignalTarget>* sigs) {
  SyncState& ss = SyncState::get();
  for (size_t i = 0; i < jobs.size(); i++) {
    for (const drm_panthor_sync_op& s : syncs[i]) {
      if (!is_signal(s)) continue;
      if (int r = check_sync_op(s)) return r;
      if (find_signal(*sigs, s.handle, s.timeline_value)) continue;
      SignalTarget t;
      t.handle = s.handle;
      t.point = s.timeline_value;
      t.obj = f.lookup_syncobj(s.handle);
      if (!t.obj) return -EINVAL;
      {
        std::lock_guard<std::mutex> g(ss.lock());
        t.has_current = t.obj->collect_locked(t.point, &t.current);
      }
      sigs->push_back(std::move(t));
    }
  }
  for (size_t i = 0; i < jobs.size(); i++) {
    auto& job = *jobs[i];
    for (const drm_panthor_sync_op& s : syncs[i]) {
      if (is_signal(s)) continue;
      if (int r = check_sync_op(s)) return r;
      if (SignalTarget* t = find_signal(*sigs, s.handle, s.timeline_value)) {
        if (t->fence) job.deps.push_back(t->fence);
        else if (t->has_current) job.deps.insert(job.deps.end(), t->current.begin(), t->current.end());
        else return -EINVAL;
        continue;
      }
      SyncobjPtr obj = f.lookup_syncobj(s.handle);
      if (!obj) return -ENOENT;
      std::lock_guard<std::mutex> g(ss.lock());
      if (!obj->collect_locked(s.timeline_value, &job.deps)) return -EINVAL;
    }
    job.done = std::make_shared<Fence>();
    for (const drm_panthor_sync_op& s : syncs[i]) {
      if (!is_signal(s)) continue;
      SignalTarget* t = find_signal(*sigs, s.handle, s.timeline_value);
      if (!t) return -EINVAL;  // cannot happen: collected above
      t->fence = job.done;
    }
  }
  return 0;
}

// Installs the resolved SIGNAL fences in their syncobjs. Called once the
// jobs are queued and nothing can fail any more (fences are published last).
inline void publish_signals(std::vector<SignalTarget>& sigs) {
  std::lock_guard<std::mutex> g(SyncState::get().lock());
  for (SignalTarget& t : sigs) {
    if (t.point) t.obj->add_point_locked(t.fence, t.point);
    else t.obj->replace_locked(t.fence);
  }
}

}  // namespace wsys::sim::panthor_uobj
