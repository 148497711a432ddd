// Isolation through the drm-shim, seen from an unmodified program (no link
// to the model; LD_PRELOAD=libwsys-drm-shim.so, WSYS_SIM_DRIVER=panthor or
// panfrost): another process's open file never reaches this one's objects,
// and heap memory is never mmappable or exportable.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "drm-uapi/drm_core.h"
#include "drm-uapi/panfrost_drm.h"
#include "drm-uapi/panthor_drm.h"

namespace {

constexpr const char kNode[] = "/dev/dri/renderD128";
constexpr uint64_t kBoSize = 64 * 1024;

int open_node() { return open(kNode, O_RDWR | O_CLOEXEC); }

// ioctl's errno, or 0.
int xioctl(int fd, unsigned long req, void* arg) { return ioctl(fd, req, arg) == 0 ? 0 : errno; }

bool is_panthor(int fd) {
  char name[32] = {};
  drm_version v{};
  v.name = name;
  v.name_len = sizeof name - 1;
  EXPECT_EQ(xioctl(fd, DRM_IOCTL_VERSION, &v), 0);
  return std::string(name) == "panthor";
}

// A plain (mappable, exportable) BO; its handle and mmap offset.
uint32_t create_bo(int fd, uint64_t* off) {
  if (is_panthor(fd)) {
    drm_panthor_bo_create c{};
    c.size = kBoSize;
    if (xioctl(fd, DRM_IOCTL_PANTHOR_BO_CREATE, &c)) return 0;
    drm_panthor_bo_mmap_offset m{};
    m.handle = c.handle;
    if (xioctl(fd, DRM_IOCTL_PANTHOR_BO_MMAP_OFFSET, &m)) return 0;
    *off = m.offset;
    return c.handle;
  }
  drm_panfrost_create_bo c{};
  c.size = kBoSize;
  c.flags = PANFROST_BO_NOEXEC;
  if (xioctl(fd, DRM_IOCTL_PANFROST_CREATE_BO, &c)) return 0;
  drm_panfrost_mmap_bo m{};
  m.handle = c.handle;
  if (xioctl(fd, DRM_IOCTL_PANFROST_MMAP_BO, &m)) return 0;
  *off = m.offset;
  return c.handle;
}

uint32_t create_syncobj(int fd) {
  drm_syncobj_create c{};
  c.flags = DRM_SYNCOBJ_CREATE_SIGNALED;
  return xioctl(fd, DRM_IOCTL_SYNCOBJ_CREATE, &c) ? 0 : c.handle;
}

// mmap's errno, or 0 (the mapping is undone).
int mmap_errno(int fd, uint64_t off, size_t len) {
  void* p = mmap(nullptr, len, PROT_READ, MAP_SHARED, fd, static_cast<off_t>(off));
  if (p == MAP_FAILED) return errno;
  munmap(p, len);
  return 0;
}

// The parent's objects, as numbers a child process could try.
struct Theirs {
  uint32_t bo = 0, sync = 0, vm = 0, group = 0, heap = 0;
  uint64_t off = 0;
};

// Runs in the child on its own, new file: returns the number of the first
// check that failed, 0 if all passed (the exit status).
int child_checks(const Theirs& t) {
  int fd = open_node();
  if (fd < 0) return 1;
  // Some objects of its own, so the numbers are not simply empty tables.
  uint64_t own_off = 0;
  uint32_t own = create_bo(fd, &own_off);
  if (!own || own == t.bo) return 2;
  drm_gem_close gc{};
  gc.handle = t.bo;
  if (xioctl(fd, DRM_IOCTL_GEM_CLOSE, &gc) != EINVAL) return 3;
  drm_prime_handle p{};
  p.handle = t.bo;
  p.flags = DRM_CLOEXEC;
  if (xioctl(fd, DRM_IOCTL_PRIME_HANDLE_TO_FD, &p) != ENOENT) return 4;
  if (mmap_errno(fd, t.off, kBoSize) != EACCES) return 5;
  drm_syncobj_destroy sd{};
  sd.handle = t.sync;
  if (xioctl(fd, DRM_IOCTL_SYNCOBJ_DESTROY, &sd) != EINVAL) return 6;
  uint32_t handles[] = {t.sync};
  drm_syncobj_wait w{};
  w.handles = reinterpret_cast<uintptr_t>(handles);
  w.count_handles = 1;
  if (xioctl(fd, DRM_IOCTL_SYNCOBJ_WAIT, &w) != ENOENT) return 7;
  if (is_panthor(fd)) {
    drm_panthor_bo_mmap_offset mo{};
    mo.handle = t.bo;
    if (xioctl(fd, DRM_IOCTL_PANTHOR_BO_MMAP_OFFSET, &mo) != ENOENT) return 8;
    drm_panthor_vm_get_state vs{};
    vs.vm_id = t.vm;
    if (xioctl(fd, DRM_IOCTL_PANTHOR_VM_GET_STATE, &vs) != EINVAL) return 9;
    drm_panthor_vm_destroy vd{};
    vd.id = t.vm;
    if (xioctl(fd, DRM_IOCTL_PANTHOR_VM_DESTROY, &vd) != EINVAL) return 10;
    drm_panthor_group_get_state gs{};
    gs.group_handle = t.group;
    if (xioctl(fd, DRM_IOCTL_PANTHOR_GROUP_GET_STATE, &gs) != EINVAL) return 11;
    drm_panthor_group_destroy gd{};
    gd.group_handle = t.group;
    if (xioctl(fd, DRM_IOCTL_PANTHOR_GROUP_DESTROY, &gd) != EINVAL) return 12;
    drm_panthor_tiler_heap_destroy hd{};
    hd.handle = t.heap;
    if (xioctl(fd, DRM_IOCTL_PANTHOR_TILER_HEAP_DESTROY, &hd) != EINVAL) return 13;
  } else {
    drm_panfrost_mmap_bo mo{};
    mo.handle = t.bo;
    if (xioctl(fd, DRM_IOCTL_PANFROST_MMAP_BO, &mo) != ENOENT) return 8;
    drm_panfrost_get_bo_offset go{};
    go.handle = t.bo;
    if (xioctl(fd, DRM_IOCTL_PANFROST_GET_BO_OFFSET, &go) != ENOENT) return 9;
    drm_panfrost_madvise ma{};
    ma.handle = t.bo;
    ma.madv = PANFROST_MADV_DONTNEED;
    if (xioctl(fd, DRM_IOCTL_PANFROST_MADVISE, &ma) != ENOENT) return 10;
  }
  close(fd);
  return 0;
}

TEST(ShimIsolation, AnotherProcessCannotReachThisFilesObjects) {
  int fd = open_node();
  ASSERT_GE(fd, 0) << "open(" << kNode << "): " << std::strerror(errno)
                   << " -- is libwsys-drm-shim.so preloaded?";
  Theirs t;
  // Several of each, so the numbers are past a fresh file's first ones.
  for (int i = 0; i < 3; i++) t.bo = create_bo(fd, &t.off);
  for (int i = 0; i < 3; i++) t.sync = create_syncobj(fd);
  ASSERT_NE(t.bo, 0u);
  ASSERT_NE(t.sync, 0u);
  if (is_panthor(fd)) {
    for (int i = 0; i < 2; i++) {
      drm_panthor_vm_create vc{};
      ASSERT_EQ(xioctl(fd, DRM_IOCTL_PANTHOR_VM_CREATE, &vc), 0);
      t.vm = vc.id;
    }
    drm_panthor_queue_create q{};
    q.ringbuf_size = 16384;
    drm_panthor_group_create g{};
    g.queues = DRM_PANTHOR_OBJ_ARRAY(1, &q);
    g.max_compute_cores = g.max_fragment_cores = g.max_tiler_cores = 1;
    g.priority = PANTHOR_GROUP_PRIORITY_MEDIUM;
    g.compute_core_mask = g.fragment_core_mask = g.tiler_core_mask = 1;
    g.vm_id = t.vm;
    ASSERT_EQ(xioctl(fd, DRM_IOCTL_PANTHOR_GROUP_CREATE, &g), 0);
    t.group = g.group_handle;
    drm_panthor_tiler_heap_create h{};
    h.vm_id = t.vm;
    h.initial_chunk_count = 1;
    h.chunk_size = 128u << 10;
    h.max_chunks = 4;
    h.target_in_flight = 1;
    ASSERT_EQ(xioctl(fd, DRM_IOCTL_PANTHOR_TILER_HEAP_CREATE, &h), 0);
    t.heap = h.handle;
  }

  fflush(nullptr);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    alarm(30);  // a hang is a failure, not a stuck test
    _exit(child_checks(t));
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "child died, status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 0) << "child check " << WEXITSTATUS(status) << " failed";

  // Everything is still this file's.
  EXPECT_EQ(mmap_errno(fd, t.off, kBoSize), 0);
  uint32_t handles[] = {t.sync};
  drm_syncobj_wait w{};
  w.handles = reinterpret_cast<uintptr_t>(handles);
  w.count_handles = 1;
  EXPECT_EQ(xioctl(fd, DRM_IOCTL_SYNCOBJ_WAIT, &w), 0);
  if (t.group) {
    drm_panthor_group_destroy gd{};
    gd.group_handle = t.group;
    EXPECT_EQ(xioctl(fd, DRM_IOCTL_PANTHOR_GROUP_DESTROY, &gd), 0);
    drm_panthor_tiler_heap_destroy hd{};
    hd.handle = t.heap;
    EXPECT_EQ(xioctl(fd, DRM_IOCTL_PANTHOR_TILER_HEAP_DESTROY, &hd), 0);
  }
  close(fd);
}

// The model hands out mmap offsets in creation order, so the heap's own
// objects (panfrost: the HEAP BO; panthor: the tiler heap's context pool
// and chunks) lie between a BO created before and one created after. No
// offset in between maps, from this file or another one, and the heap BO's
// handle neither maps nor exports.
TEST(ShimIsolation, HeapMemoryIsNeverMappableOrExportable) {
  int fd = open_node();
  ASSERT_GE(fd, 0);
  int other = open_node();
  ASSERT_GE(other, 0);
  uint64_t before_off = 0, after_off = 0;
  ASSERT_NE(create_bo(fd, &before_off), 0u);
  if (is_panthor(fd)) {
    drm_panthor_vm_create vc{};
    ASSERT_EQ(xioctl(fd, DRM_IOCTL_PANTHOR_VM_CREATE, &vc), 0);
    // The VM's creation made no object with an offset: re-anchor after it.
    ASSERT_NE(create_bo(fd, &before_off), 0u);
    drm_panthor_tiler_heap_create h{};
    h.vm_id = vc.id;
    h.initial_chunk_count = 2;
    h.chunk_size = 128u << 10;
    h.max_chunks = 4;
    h.target_in_flight = 1;
    ASSERT_EQ(xioctl(fd, DRM_IOCTL_PANTHOR_TILER_HEAP_CREATE, &h), 0);
  } else {
    drm_panfrost_create_bo c{};
    c.size = 2u << 20;
    c.flags = PANFROST_BO_NOEXEC | PANFROST_BO_HEAP;
    ASSERT_EQ(xioctl(fd, DRM_IOCTL_PANFROST_CREATE_BO, &c), 0);
    drm_panfrost_mmap_bo m{};
    m.handle = c.handle;
    EXPECT_EQ(xioctl(fd, DRM_IOCTL_PANFROST_MMAP_BO, &m), EINVAL);
    drm_prime_handle p{};
    p.handle = c.handle;
    p.flags = DRM_CLOEXEC | DRM_RDWR;
    p.fd = -1;
    EXPECT_EQ(xioctl(fd, DRM_IOCTL_PRIME_HANDLE_TO_FD, &p), EINVAL);
  }
  ASSERT_NE(create_bo(fd, &after_off), 0u);
  const uint64_t lo = before_off + kBoSize;
  ASSERT_LT(lo, after_off) << "the heap made no objects in between";
  for (uint64_t off = lo; off < after_off; off += 4096) {
    EXPECT_NE(mmap_errno(fd, off, 4096), 0) << "offset " << off;
    EXPECT_NE(mmap_errno(other, off, 4096), 0) << "offset " << off;
  }
  close(other);
  close(fd);
}

}  // namespace
