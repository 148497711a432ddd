// DRM syncobj ioctls of the model (drm_syncobj.c at the ioctl boundary).
//
// Validation order and errno values follow the kernel:
//   - CREATE: flags other than CREATE_SIGNALED -EINVAL.
//   - DESTROY: pad -EINVAL; unknown handle -EINVAL.
//   - RESET / SIGNAL: pad, count 0 -EINVAL; then the handle array
//     (-ENOMEM above kmalloc's limit, -EFAULT, -ENOENT) before anything
//     changes.
//   - WAIT / TIMELINE_WAIT: unknown flags (WAIT_AVAILABLE is timeline only)
//     -EINVAL; count 0 -EINVAL; the handle array; a missing fence or point
//     -EINVAL unless WAIT_FOR_SUBMIT / WAIT_AVAILABLE; timeout_nsec is an
//     absolute CLOCK_MONOTONIC time (0 or past: one poll), expiry -ETIME.
//     A fence signalled with an error counts as signalled (the kernel's
//     wait only tests dma_fence_is_signaled). The pad of these structs is
//     not checked by the kernel, so it is not checked here either.
//   - QUERY, TRANSFER, TIMELINE_SIGNAL, TIMELINE_WAIT, EVENTFD need
//     DRIVER_SYNCOBJ_TIMELINE: panthor has it, panfrost does not
//     (-EOPNOTSUPP there, as on a panfrost kernel).
//   - HANDLE_TO_FD / FD_TO_HANDLE: pad, flags; syncobj fds and sync_files
//     are real fds (syncobj_fd.h); a bad or foreign fd is -EINVAL.
//   - EVENTFD: flags other than WAIT_AVAILABLE, pad -EINVAL; unknown handle
//     -ENOENT; a closed fd -EBADF, a non-eventfd -EINVAL.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <vector>

#include "drm-uapi/drm_core.h"
#include "winsys/sim/dep_check.h"
#include "winsys/sim/ioctls.h"
#include "winsys/sim/sim_device.h"
#include "winsys/sim/syncobj_fd.h"
#include "winsys/sim/user_copy.h"

namespace wsys::sim {

namespace {

// kmalloc's largest allocation (arm64, 4 KiB pages: 4 MiB). The kernel
// allocates its copies of user arrays with kmalloc_array, so a count whose
// array is larger fails with -ENOMEM before anything is read.
constexpr size_t kKmallocMax = size_t{4} << 20;
// sizeof(struct syncobj_wait_entry) on a 64-bit kernel (kcalloc'd per entry).
constexpr size_t kWaitEntryBytes = 64;
// drm_syncobj_find_fence's WAIT_FOR_SUBMIT limit (TRANSFER).
constexpr int64_t kWaitForSubmitTimeoutNs = 5000000000LL;

constexpr uint32_t kWaitAll = DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL;
constexpr uint32_t kWaitForSubmit = DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT;
constexpr uint32_t kWaitAvailable = DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE;
constexpr uint32_t kWaitDeadline = DRM_SYNCOBJ_WAIT_FLAGS_WAIT_DEADLINE;

bool has_timeline(SimFile& f) { return f.device()->is_panthor(); }

// drm_syncobj_array_find: copies the handles in and takes a reference on
// each object; any unknown handle fails the whole call.
int find_array(SimFile& f, uint64_t user_handles, uint32_t count, std::vector<SyncobjPtr>* out) {
  if (size_t{count} * sizeof(uint32_t) > kKmallocMax) return -ENOMEM;
  std::vector<uint32_t> handles(count);
  if (copy_from_user(handles.data(), user_handles, handles.size() * sizeof(uint32_t)) != 0)
    return -EFAULT;
  if (size_t{count} * sizeof(void*) > kKmallocMax) return -ENOMEM;
  out->reserve(count);
  for (uint32_t h : handles) {
    SyncobjPtr s = f.lookup_syncobj(h);
    if (!s) return -ENOENT;
    out->push_back(std::move(s));
  }
  return 0;
}

// drm_timeout_abs_to_jiffies: 0 or a time not in the future polls once.
int64_t wait_deadline(int64_t timeout_nsec) {
  if (timeout_nsec == 0) return 0;
  if (timeout_nsec <= monotonic_ns()) return 0;
  return timeout_nsec;
}

// drm_syncobj_array_wait_timeout.
int array_wait(const std::vector<SyncobjPtr>& objs, uint64_t user_points, uint32_t flags,
               int64_t timeout_nsec, uint32_t* first_signaled) {
  const size_t count = objs.size();
  const int64_t deadline = wait_deadline(timeout_nsec);

  if (count * sizeof(uint64_t) > kKmallocMax) return -ENOMEM;
  std::vector<uint64_t> points(count, 0);
  if (user_points != 0 &&
      copy_from_user(points.data(), user_points, count * sizeof(uint64_t)) != 0)
    return -EFAULT;
  if (count * kWaitEntryBytes > kKmallocMax) return -ENOMEM;
  std::vector<SyncobjPointWaiter> entries(count);

  const bool for_submit = flags & (kWaitForSubmit | kWaitAvailable);
  const bool available = flags & kWaitAvailable;
  const bool wait_all = flags & kWaitAll;
  uint32_t first = ~0u;

  SyncState& s = SyncState::get();
  std::unique_lock<std::mutex> lk(s.lock());

  // Snapshot every entry's fence up front, so a missing one is -EINVAL
  // before any waiting; later resets do not change what is waited for.
  size_t signalled = 0;
  for (size_t i = 0; i < count; i++) {
    entries[i].point = points[i];
    entries[i].fence = objs[i]->find_locked(points[i]);
    if (!entries[i].fence) {
      if (for_submit) continue;
      return -EINVAL;
    }
    if (available || entries[i].fence->is_signalled()) {
      if (signalled == 0) first = static_cast<uint32_t>(i);
      signalled++;
    }
  }
  if (signalled == count || (signalled > 0 && !wait_all)) {
    *first_signaled = first;
    return 0;
  }

  // Entries without a fence yet get it from whichever ioctl (or driver)
  // adds it to the syncobj.
  if (for_submit)
    for (size_t i = 0; i < count; i++)
      if (!entries[i].fence) objs[i]->add_waiter_locked(&entries[i]);

  auto done = [&]() {
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
      const FencePtr& fence = entries[i].fence;
      if (!fence) continue;
      if (available || fence->is_signalled()) {
        if (!wait_all) {
          first = static_cast<uint32_t>(i);
          return true;
        }
        n++;
      }
    }
    return n == count;
  };
  // The dependency checker (dep_check.h): this file's user space waits for
  // these fences. A wait on a fence only this user space can signal (a
  // future fence; the model allows one only in tests) would never end.
  const uint64_t me = dep_current();
  size_t recorded = 0;
  bool cycle = false;
  for (; me && recorded < count && !cycle; recorded++) {
    const FencePtr& fence = entries[recorded].fence;
    if (fence && !fence->is_signalled() && !dep_add(me, dep_fence(fence.get()), "syncobj wait"))
      cycle = true;
  }
  bool ok = !cycle && s.wait_until(lk, deadline, done);
  for (size_t i = 0; i < recorded; i++)
    if (entries[i].fence) dep_remove(me, dep_fence(entries[i].fence.get()));

  for (size_t i = 0; i < count; i++) objs[i]->remove_waiter_locked(&entries[i]);
  if (cycle) return -EDEADLK;
  if (!ok) return -ETIME;
  *first_signaled = first;
  return 0;
}

// drm_syncobj_find_fence: the fence for `point` of `handle`; with
// WAIT_FOR_SUBMIT, waits up to 5 s for the point to be added.
int find_fence(SimFile& f, uint32_t handle, uint64_t point, uint64_t flags, FencePtr* out) {
  SyncobjPtr obj = f.lookup_syncobj(handle);
  if (flags & ~static_cast<uint64_t>(kWaitForSubmit)) return -EINVAL;
  if (!obj) return -ENOENT;

  SyncState& s = SyncState::get();
  std::unique_lock<std::mutex> lk(s.lock());
  *out = obj->find_locked(point);
  if (*out) return 0;
  if (!(flags & kWaitForSubmit)) return -EINVAL;

  SyncobjPointWaiter w;
  w.point = point;
  obj->add_waiter_locked(&w);
  bool ok = s.wait_until(lk, monotonic_ns() + kWaitForSubmitTimeoutNs,
                         [&w] { return w.fence != nullptr; });
  obj->remove_waiter_locked(&w);
  if (!ok) return -ETIME;
  *out = std::move(w.fence);
  return 0;
}

}  // namespace

int ioctl_syncobj_create(SimFile& f, void* data) {
  auto* a = static_cast<drm_syncobj_create*>(data);
  if (a->flags & ~static_cast<uint32_t>(DRM_SYNCOBJ_CREATE_SIGNALED)) return -EINVAL;
  auto obj = std::make_shared<Syncobj>();
  if (a->flags & DRM_SYNCOBJ_CREATE_SIGNALED) {
    FencePtr stub = Fence::signalled();
    std::lock_guard<std::mutex> g(SyncState::get().lock());
    obj->replace_locked(std::move(stub));
  }
  uint32_t h = f.add_syncobj(std::move(obj));
  if (!h) return -ENOSPC;
  a->handle = h;
  return 0;
}

int ioctl_syncobj_destroy(SimFile& f, void* data) {
  auto* a = static_cast<drm_syncobj_destroy*>(data);
  if (a->pad) return -EINVAL;
  SyncobjPtr obj = f.remove_syncobj(a->handle);
  if (!obj) return -EINVAL;
  return 0;
}

int ioctl_syncobj_handle_to_fd(SimFile& f, void* data) {
  auto* a = static_cast<drm_syncobj_handle*>(data);
  if (a->pad) return -EINVAL;
  if (a->flags & ~static_cast<uint32_t>(DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE))
    return -EINVAL;
  SyncFdTable& table = SyncFdTable::get();

  if (a->flags & DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE) {
    // drm_syncobj_export_sync_file: the fd is reserved first, then the
    // current fence found (unknown handle -ENOENT, no fence -EINVAL).
    SyncFdTable::Reservation r;
    if (int e = table.reserve_sync_file(&r)) return e;
    FencePtr fence;
    if (int e = find_fence(f, a->handle, 0, 0, &fence)) {
      table.cancel_reservation(&r);
      return e;
    }
    int fd = table.publish_sync_file(&r, std::move(fence));
    if (fd < 0) return fd;
    a->fd = fd;
    return 0;
  }

  SyncobjPtr obj = f.lookup_syncobj(a->handle);
  if (!obj) return -EINVAL;
  int fd = -1;
  if (int e = table.export_syncobj(std::move(obj), &fd)) return e;
  a->fd = fd;
  return 0;
}

int ioctl_syncobj_fd_to_handle(SimFile& f, void* data) {
  auto* a = static_cast<drm_syncobj_handle*>(data);
  if (a->pad) return -EINVAL;
  if (a->flags & ~static_cast<uint32_t>(DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE))
    return -EINVAL;
  SyncFdTable& table = SyncFdTable::get();

  if (a->flags & DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE) {
    FencePtr fence = table.import_sync_file(a->fd);
    if (!fence) return -EINVAL;
    SyncobjPtr obj = f.lookup_syncobj(a->handle);
    if (!obj) return -ENOENT;
    std::lock_guard<std::mutex> g(SyncState::get().lock());
    obj->replace_locked(std::move(fence));
    return 0;
  }

  // Every import makes a new handle (no de-duplication, unlike dma-bufs).
  SyncobjPtr obj = table.import_syncobj(a->fd);
  if (!obj) return -EINVAL;
  uint32_t h = f.add_syncobj(std::move(obj));
  if (!h) return -ENOSPC;
  a->handle = h;
  return 0;
}

int ioctl_syncobj_wait(SimFile& f, void* data) {
  auto* a = static_cast<drm_syncobj_wait*>(data);
  if (a->flags & ~(kWaitAll | kWaitForSubmit | kWaitDeadline)) return -EINVAL;
  if (a->count_handles == 0) return -EINVAL;
  std::vector<SyncobjPtr> objs;
  if (int e = find_array(f, a->handles, a->count_handles, &objs)) return e;
  // WAIT_DEADLINE's deadline_nsec is a hint to the fence signaller; the
  // model's fences have no clock to speed up.
  return array_wait(objs, 0, a->flags, a->timeout_nsec, &a->first_signaled);
}

int ioctl_syncobj_reset(SimFile& f, void* data) {
  auto* a = static_cast<drm_syncobj_array*>(data);
  if (a->pad) return -EINVAL;
  if (a->count_handles == 0) return -EINVAL;
  std::vector<SyncobjPtr> objs;
  if (int e = find_array(f, a->handles, a->count_handles, &objs)) return e;
  std::lock_guard<std::mutex> g(SyncState::get().lock());
  for (const SyncobjPtr& s : objs) s->replace_locked(nullptr);
  return 0;
}

int ioctl_syncobj_signal(SimFile& f, void* data) {
  auto* a = static_cast<drm_syncobj_array*>(data);
  if (a->pad) return -EINVAL;
  if (a->count_handles == 0) return -EINVAL;
  std::vector<SyncobjPtr> objs;
  if (int e = find_array(f, a->handles, a->count_handles, &objs)) return e;
  // A fresh signalled stub per syncobj (dma_fence_allocate_private_stub),
  // allocated before the lock.
  std::vector<FencePtr> stubs;
  stubs.reserve(objs.size());
  for (size_t i = 0; i < objs.size(); i++) stubs.push_back(Fence::signalled());
  std::lock_guard<std::mutex> g(SyncState::get().lock());
  for (size_t i = 0; i < objs.size(); i++) objs[i]->replace_locked(std::move(stubs[i]));
  return 0;
}

int ioctl_syncobj_timeline_wait(SimFile& f, void* data) {
  if (!has_timeline(f)) return -EOPNOTSUPP;
  auto* a = static_cast<drm_syncobj_timeline_wait*>(data);
  if (a->flags & ~(kWaitAll | kWaitForSubmit | kWaitAvailable | kWaitDeadline)) return -EINVAL;
  if (a->count_handles == 0) return -EINVAL;
  std::vector<SyncobjPtr> objs;
  if (int e = find_array(f, a->handles, a->count_handles, &objs)) return e;
  return array_wait(objs, a->points, a->flags, a->timeout_nsec, &a->first_signaled);
}

int ioctl_syncobj_query(SimFile& f, void* data) {
  if (!has_timeline(f)) return -EOPNOTSUPP;
  auto* a = static_cast<drm_syncobj_timeline_array*>(data);
  if (a->flags & ~static_cast<uint32_t>(DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED)) return -EINVAL;
  if (a->count_handles == 0) return -EINVAL;
  std::vector<SyncobjPtr> objs;
  if (int e = find_array(f, a->handles, a->count_handles, &objs)) return e;
  const bool last_submitted = a->flags & DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED;
  // One point at a time, as the kernel copies them: a fault part way
  // leaves the earlier points written.
  for (size_t i = 0; i < objs.size(); i++) {
    uint64_t point;
    {
      std::lock_guard<std::mutex> g(SyncState::get().lock());
      point = objs[i]->query_locked(last_submitted);
    }
    if (copy_to_user(a->points + i * sizeof(uint64_t), &point, sizeof point) != 0)
      return -EFAULT;
  }
  return 0;
}

int ioctl_syncobj_transfer(SimFile& f, void* data) {
  if (!has_timeline(f)) return -EOPNOTSUPP;
  auto* a = static_cast<drm_syncobj_transfer*>(data);
  if (a->pad) return -EINVAL;
  SyncobjPtr dst = f.lookup_syncobj(a->dst_handle);
  if (!dst) return -ENOENT;
  FencePtr fence;
  if (int e = find_fence(f, a->src_handle, a->src_point, a->flags, &fence)) return e;
  std::lock_guard<std::mutex> g(SyncState::get().lock());
  if (a->dst_point) {
    // drm_syncobj_transfer_to_timeline: the fence (already one flat fence,
    // as dma_fence_unwrap_merge makes it) becomes a new point.
    dst->add_point_locked(std::move(fence), a->dst_point);
  } else {
    dst->replace_locked(std::move(fence));
  }
  return 0;
}

int ioctl_syncobj_timeline_signal(SimFile& f, void* data) {
  if (!has_timeline(f)) return -EOPNOTSUPP;
  auto* a = static_cast<drm_syncobj_timeline_array*>(data);
  if (a->flags != 0) return -EINVAL;
  if (a->count_handles == 0) return -EINVAL;
  std::vector<SyncobjPtr> objs;
  if (int e = find_array(f, a->handles, a->count_handles, &objs)) return e;
  const size_t count = objs.size();
  if (count * sizeof(uint64_t) > kKmallocMax) return -ENOMEM;
  std::vector<uint64_t> points(count, 0);
  if (a->points != 0 &&
      copy_from_user(points.data(), a->points, count * sizeof(uint64_t)) != 0)
    return -EFAULT;
  std::vector<FencePtr> stubs;
  stubs.reserve(count);
  for (size_t i = 0; i < count; i++) stubs.push_back(Fence::signalled());
  // Every point, 0 included, is added as a new chain link: with point 0
  // the syncobj still waits for the fence it held before (the kernel calls
  // drm_syncobj_add_point here, not replace_fence).
  std::lock_guard<std::mutex> g(SyncState::get().lock());
  for (size_t i = 0; i < count; i++) objs[i]->add_point_locked(std::move(stubs[i]), points[i]);
  return 0;
}

int ioctl_syncobj_eventfd(SimFile& f, void* data) {
  if (!has_timeline(f)) return -EOPNOTSUPP;
  auto* a = static_cast<drm_syncobj_eventfd*>(data);
  if (a->flags & ~kWaitAvailable) return -EINVAL;
  if (a->pad) return -EINVAL;
  SyncobjPtr obj = f.lookup_syncobj(a->handle);
  if (!obj) return -ENOENT;
  // eventfd_ctx_fdget: not an open fd -EBADF, not an eventfd -EINVAL.
  if (a->fd < 0 || fcntl(a->fd, F_GETFD) < 0) return -EBADF;
  if (!is_eventfd(a->fd)) return -EINVAL;
  int dup = fcntl(a->fd, F_DUPFD_CLOEXEC, 0);
  if (dup < 0) return -errno;
  auto entry = std::make_shared<SyncobjEventfd>(dup, a->point, a->flags & kWaitAvailable);
  std::lock_guard<std::mutex> g(SyncState::get().lock());
  obj->add_eventfd_locked(std::move(entry));
  return 0;
}

}  // namespace wsys::sim
