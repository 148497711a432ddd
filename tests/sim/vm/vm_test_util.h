// Helpers for the sim_vm tests: panthor VM/BO/bind ioctls through the
// DrmFile seam, syncobjs, and SIGSEGV-safe probes of the GPU view.
#pragma once

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

#include "drm-uapi/drm_core.h"
#include "drm-uapi/panthor_drm.h"
#include "sim_test_util.h"
#include "winsys/sim/fence.h"
#include "winsys/sim/sim_device.h"
#include "winsys/sim/syncobj.h"
#include "winsys/sim/vm.h"

namespace wsys::sim::vmtest {

using test::open_model_file;

inline constexpr uint64_t k4K = 4096;
inline constexpr uint64_t k64K = 64 * 1024;
inline constexpr uint64_t k2M = 2ull << 20;
inline constexpr uint64_t k1G = 1ull << 30;

inline uint32_t va_bits(SimDrmFile& f) { return f.file().device()->gpu().va_bits(); }

// --- VMs ---

inline int vm_create(SimDrmFile& f, uint32_t* id, uint64_t* user_va_range = nullptr,
                     uint64_t request = 0, uint32_t flags = 0) {
  drm_panthor_vm_create c{};
  c.flags = flags;
  c.user_va_range = request;
  int r = f.ioctl(DRM_IOCTL_PANTHOR_VM_CREATE, &c);
  if (r == 0) {
    *id = c.id;
    if (user_va_range) *user_va_range = c.user_va_range;
  }
  return r;
}

inline int vm_destroy(SimDrmFile& f, uint32_t id, uint32_t pad = 0) {
  drm_panthor_vm_destroy d{};
  d.id = id;
  d.pad = pad;
  return f.ioctl(DRM_IOCTL_PANTHOR_VM_DESTROY, &d);
}

inline int vm_state(SimDrmFile& f, uint32_t id, uint32_t* state) {
  drm_panthor_vm_get_state s{};
  s.vm_id = id;
  s.state = 0xdeadbeef;
  int r = f.ioctl(DRM_IOCTL_PANTHOR_VM_GET_STATE, &s);
  if (r == 0) *state = s.state;
  return r;
}

inline SimVmPtr vm_of(SimDrmFile& f, uint32_t id) { return SimVm::lookup(f.file(), id); }

// --- BOs ---

inline uint32_t bo_create(SimDrmFile& f, uint64_t size, uint32_t flags = 0,
                          uint32_t exclusive_vm = 0) {
  drm_panthor_bo_create c{};
  c.size = size;
  c.flags = flags;
  c.exclusive_vm_id = exclusive_vm;
  int r = f.ioctl(DRM_IOCTL_PANTHOR_BO_CREATE, &c);
  EXPECT_EQ(r, 0) << "BO_CREATE " << size;
  return r ? 0 : c.handle;
}

// CPU mapping through BO_MMAP_OFFSET + DrmFile::mmap (null on failure).
inline uint8_t* bo_mmap(SimDrmFile& f, uint32_t handle, uint64_t size) {
  drm_panthor_bo_mmap_offset m{};
  m.handle = handle;
  int r = f.ioctl(DRM_IOCTL_PANTHOR_BO_MMAP_OFFSET, &m);
  EXPECT_EQ(r, 0);
  if (r) return nullptr;
  auto p = f.mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, m.offset);
  EXPECT_TRUE(p.ok()) << p.error();
  return p.ok() ? static_cast<uint8_t*>(*p) : nullptr;
}

inline int gem_close(SimDrmFile& f, uint32_t handle) {
  drm_gem_close c{};
  c.handle = handle;
  return f.ioctl(DRM_IOCTL_GEM_CLOSE, &c);
}

// --- binds ---

inline drm_panthor_vm_bind_op map_op(uint32_t bo, uint64_t bo_offset, uint64_t va, uint64_t size,
                                     uint32_t flags = 0) {
  drm_panthor_vm_bind_op op{};
  op.flags = DRM_PANTHOR_VM_BIND_OP_TYPE_MAP | flags;
  op.bo_handle = bo;
  op.bo_offset = bo_offset;
  op.va = va;
  op.size = size;
  return op;
}

inline drm_panthor_vm_bind_op unmap_op(uint64_t va, uint64_t size) {
  drm_panthor_vm_bind_op op{};
  op.flags = DRM_PANTHOR_VM_BIND_OP_TYPE_UNMAP;
  op.va = va;
  op.size = size;
  return op;
}

inline drm_panthor_vm_bind_op sync_only_op() {
  drm_panthor_vm_bind_op op{};
  op.flags = DRM_PANTHOR_VM_BIND_OP_TYPE_SYNC_ONLY;
  return op;
}

inline drm_panthor_sync_op wait_sync(uint32_t handle, uint64_t point = 0) {
  drm_panthor_sync_op s{};
  s.flags = (point ? DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_TIMELINE_SYNCOBJ
                   : DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_SYNCOBJ) |
            DRM_PANTHOR_SYNC_OP_WAIT;
  s.handle = handle;
  s.timeline_value = point;
  return s;
}

inline drm_panthor_sync_op signal_sync(uint32_t handle, uint64_t point = 0) {
  drm_panthor_sync_op s = wait_sync(handle, point);
  s.flags |= static_cast<uint32_t>(DRM_PANTHOR_SYNC_OP_SIGNAL);
  return s;
}

// Attaches `syncs` (kept alive by the caller) to `op`.
inline void attach(drm_panthor_vm_bind_op& op, std::vector<drm_panthor_sync_op>& syncs) {
  op.syncs.stride = sizeof(drm_panthor_sync_op);
  op.syncs.count = static_cast<uint32_t>(syncs.size());
  op.syncs.array = reinterpret_cast<uintptr_t>(syncs.data());
}

inline int bind(SimDrmFile& f, uint32_t vm, std::vector<drm_panthor_vm_bind_op> ops, bool async,
                uint32_t* count_out = nullptr, uint32_t bind_flags = 0) {
  drm_panthor_vm_bind b{};
  b.vm_id = vm;
  b.flags = (async ? DRM_PANTHOR_VM_BIND_ASYNC : 0) | bind_flags;
  b.ops.stride = sizeof(drm_panthor_vm_bind_op);
  b.ops.count = static_cast<uint32_t>(ops.size());
  b.ops.array = reinterpret_cast<uintptr_t>(ops.data());
  int r = f.ioctl(DRM_IOCTL_PANTHOR_VM_BIND, &b);
  if (count_out) *count_out = b.ops.count;
  return r;
}

inline int map_sync(SimDrmFile& f, uint32_t vm, uint32_t bo, uint64_t bo_offset, uint64_t va,
                    uint64_t size, uint32_t flags = 0) {
  return bind(f, vm, {map_op(bo, bo_offset, va, size, flags)}, false);
}

inline int unmap_sync(SimDrmFile& f, uint32_t vm, uint64_t va, uint64_t size) {
  return bind(f, vm, {unmap_op(va, size)}, false);
}

// --- syncobjs (the DRM_IOCTL_SYNCOBJ_* ioctls; the model's internals only
// where the ABI has no way to look: a fence's error status) ---

inline uint32_t syncobj_create(SimDrmFile& f, bool signalled = false) {
  drm_syncobj_create c{};
  c.flags = signalled ? DRM_SYNCOBJ_CREATE_SIGNALED : 0;
  int r = f.ioctl(DRM_IOCTL_SYNCOBJ_CREATE, &c);
  EXPECT_EQ(r, 0);
  return r ? 0 : c.handle;
}

// Signals a binary syncobj (point 0) or timeline point `point`.
inline int syncobj_signal(SimDrmFile& f, uint32_t handle, uint64_t point = 0) {
  if (point == 0) {
    drm_syncobj_array a{};
    a.handles = reinterpret_cast<uintptr_t>(&handle);
    a.count_handles = 1;
    return f.ioctl(DRM_IOCTL_SYNCOBJ_SIGNAL, &a);
  }
  drm_syncobj_timeline_array a{};
  a.handles = reinterpret_cast<uintptr_t>(&handle);
  a.points = reinterpret_cast<uintptr_t>(&point);
  a.count_handles = 1;
  return f.ioctl(DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL, &a);
}

// Waits (WAIT_FOR_SUBMIT) until `point` of `handle` signalled or the
// relative timeout passed. 0, -ETIME, or another error.
inline int syncobj_wait(SimDrmFile& f, uint32_t handle, uint64_t point,
                        int64_t timeout_ns = 10'000'000'000LL) {
  drm_syncobj_timeline_wait w{};
  w.handles = reinterpret_cast<uintptr_t>(&handle);
  w.points = reinterpret_cast<uintptr_t>(&point);
  w.count_handles = 1;
  w.flags = DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT | DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL;
  w.timeout_nsec = timeout_ns <= 0 ? 0 : monotonic_ns() + timeout_ns;
  return f.ioctl(DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT, &w);
}

// True if `point` has a fence (signalled or not): a poll without
// WAIT_FOR_SUBMIT answers -EINVAL for a missing fence.
inline bool syncobj_available(SimDrmFile& f, uint32_t handle, uint64_t point = 0) {
  drm_syncobj_timeline_wait w{};
  w.handles = reinterpret_cast<uintptr_t>(&handle);
  w.points = reinterpret_cast<uintptr_t>(&point);
  w.count_handles = 1;
  return f.ioctl(DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT, &w) != -EINVAL;
}

// True if `point` has signalled (a poll).
inline bool syncobj_signalled(SimDrmFile& f, uint32_t handle, uint64_t point = 0) {
  return syncobj_wait(f, handle, point, 0) == 0;
}

// The first error status of the fences `point` depends on (0 if none).
// The ABI does not report fence errors through syncobj waits, so this looks
// inside the model.
inline int syncobj_error(SimDrmFile& f, uint32_t handle, uint64_t point = 0) {
  SyncobjPtr s = f.file().lookup_syncobj(handle);
  if (!s) return -ENOENT;
  std::lock_guard<std::mutex> g(SyncState::get().lock());
  return s->status_locked(point);
}

// An unsignalled fence installed in binary syncobj `handle`, standing for
// work of another engine that the test completes by signalling it. (The
// ABI has no way to make one without GPU jobs, so this uses the model's
// internals.)
inline FencePtr install_unsignalled_fence(SimDrmFile& f, uint32_t handle) {
  auto fence = std::make_shared<Fence>();
  SyncobjPtr s = f.file().lookup_syncobj(handle);
  EXPECT_TRUE(s);
  if (!s) return fence;
  std::lock_guard<std::mutex> g(SyncState::get().lock());
  s->replace_locked(fence);
  return fence;
}

// --- probes (never fault) ---

// 1 readable, 0 not (EFAULT), -1 cannot tell (process_vm_* unavailable).
inline int probe_read(const void* p) {
  unsigned char b;
  iovec l{&b, 1};
  iovec r{const_cast<void*>(p), 1};
  ssize_t n = process_vm_readv(getpid(), &l, 1, &r, 1, 0);
  if (n == 1) return 1;
  return errno == EFAULT ? 0 : -1;
}

// 1 writable (writes the byte back unchanged), 0 not, -1 cannot tell.
inline int probe_write(void* p) {
  unsigned char b;
  iovec l{&b, 1};
  iovec r{p, 1};
  if (process_vm_readv(getpid(), &l, 1, &r, 1, 0) != 1) return errno == EFAULT ? 0 : -1;
  ssize_t n = process_vm_writev(getpid(), &l, 1, &r, 1, 0);
  if (n == 1) return 1;
  return errno == EFAULT ? 0 : -1;
}

#define VMTEST_REQUIRE_PROBES()                                                   \
  do {                                                                            \
    static int probe_anchor = 0;                                                  \
    if (::wsys::sim::vmtest::probe_read(&probe_anchor) != 1)                      \
      GTEST_SKIP() << "process_vm_readv is not available to probe mappings";      \
  } while (0)

// A tag identifying page `page` of BO `id` (written at the page's start).
inline uint64_t page_tag(uint32_t id, uint64_t page) { return (uint64_t{id} << 40) | page | 1; }

inline void fill_tags(uint8_t* cpu, uint32_t id, uint64_t size) {
  for (uint64_t p = 0; p < size / k4K; p++) {
    uint64_t t = page_tag(id, p);
    std::memcpy(cpu + p * k4K, &t, sizeof t);
  }
}

inline uint64_t read_tag(const uint8_t* p) {
  uint64_t t;
  std::memcpy(&t, p, sizeof t);
  return t;
}

}  // namespace wsys::sim::vmtest
