// One open file never reaches another file's GEM handles, VMs, groups,
// tiler heaps or syncobjs: file `a` creates one of each, file `b` (which has
// none of its own at those numbers) names them in every ioctl that takes
// one, and gets the kernel's answer for a handle it does not have:
//   GEM lookups (drm_gem_object_lookup) -ENOENT, GEM_CLOSE -EINVAL, mmap of
//   another file's object -EACCES (drm_vma_node_is_allowed);
//   panthor VM, group and heap ids -EINVAL (xarray lookups), a MAP of an
//   unknown BO -EINVAL; syncobj lookups -ENOENT, SYNCOBJ_DESTROY and plain
//   HANDLE_TO_FD -EINVAL, a panthor SIGNAL sync op -EINVAL, panfrost's
//   out_sync -ENODEV.
// Afterwards `a` still has everything: b's calls changed nothing.
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "csf/csf_test_util.h"
#include "drm-uapi/drm_core.h"
#include "drm-uapi/panfrost_drm.h"

using namespace wsys::sim;
using namespace wsys::sim::csftest;

namespace {

constexpr uint64_t kSize = 64 * 1024;

// --- driver-neutral objects ---

uint32_t make_bo(SimDrmFile& f, bool panthor, uint64_t* mmap_off) {
  uint32_t h = 0;
  if (panthor) {
    drm_panthor_bo_create c{};
    c.size = kSize;
    EXPECT_EQ(f.ioctl(DRM_IOCTL_PANTHOR_BO_CREATE, &c), 0);
    h = c.handle;
    drm_panthor_bo_mmap_offset m{};
    m.handle = h;
    EXPECT_EQ(f.ioctl(DRM_IOCTL_PANTHOR_BO_MMAP_OFFSET, &m), 0);
    *mmap_off = m.offset;
  } else {
    drm_panfrost_create_bo c{};
    c.size = kSize;
    c.flags = PANFROST_BO_NOEXEC;
    EXPECT_EQ(f.ioctl(DRM_IOCTL_PANFROST_CREATE_BO, &c), 0);
    h = c.handle;
    drm_panfrost_mmap_bo m{};
    m.handle = h;
    EXPECT_EQ(f.ioctl(DRM_IOCTL_PANFROST_MMAP_BO, &m), 0);
    *mmap_off = m.offset;
  }
  return h;
}

class Isolation : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    a_ = test::open_model_file(GetParam());
    b_ = test::open_model_file(GetParam());
    ASSERT_TRUE(a_ && b_);
    // Several objects in a, so a's handle numbers are not b's defaults.
    for (int i = 0; i < 3; i++) bo_ = make_bo(*a_, panthor(), &off_);
    for (int i = 0; i < 3; i++) sync_ = syncobj_create(*a_, true);
  }
  bool panthor() const { return std::string(GetParam()) == "panthor"; }

  std::unique_ptr<SimDrmFile> a_, b_;
  uint32_t bo_ = 0, sync_ = 0;
  uint64_t off_ = 0;
};

TEST_P(Isolation, GemHandlesOfAnotherFile) {
  ASSERT_NE(bo_, 0u);
  drm_gem_close c{};
  c.handle = bo_;
  EXPECT_EQ(b_->ioctl(DRM_IOCTL_GEM_CLOSE, &c), -EINVAL);
  drm_prime_handle p{};
  p.handle = bo_;
  p.flags = DRM_CLOEXEC;
  p.fd = -1;
  EXPECT_EQ(b_->ioctl(DRM_IOCTL_PRIME_HANDLE_TO_FD, &p), -ENOENT);
  // The mmap offset is global to the device, but the file must hold a
  // handle to the object.
  auto m = b_->mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_SHARED, off_);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error(), -EACCES);
  const char label[] = "theirs";
  if (panthor()) {
    drm_panthor_bo_mmap_offset mo{};
    mo.handle = bo_;
    EXPECT_EQ(b_->ioctl(DRM_IOCTL_PANTHOR_BO_MMAP_OFFSET, &mo), -ENOENT);
    drm_panthor_bo_set_label l{};
    l.handle = bo_;
    l.label = reinterpret_cast<uintptr_t>(label);
    EXPECT_EQ(b_->ioctl(DRM_IOCTL_PANTHOR_BO_SET_LABEL, &l), -ENOENT);
    // A MAP of the handle in b's own VM.
    uint32_t vm = 0;
    ASSERT_EQ(vm_create(*b_, &vm), 0);
    EXPECT_EQ(map_sync(*b_, vm, bo_, 0, 0x100000, kSize), -EINVAL);
  } else {
    drm_panfrost_mmap_bo mo{};
    mo.handle = bo_;
    EXPECT_EQ(b_->ioctl(DRM_IOCTL_PANFROST_MMAP_BO, &mo), -ENOENT);
    drm_panfrost_get_bo_offset go{};
    go.handle = bo_;
    EXPECT_EQ(b_->ioctl(DRM_IOCTL_PANFROST_GET_BO_OFFSET, &go), -ENOENT);
    drm_panfrost_madvise ma{};
    ma.handle = bo_;
    ma.madv = PANFROST_MADV_DONTNEED;
    EXPECT_EQ(b_->ioctl(DRM_IOCTL_PANFROST_MADVISE, &ma), -ENOENT);
    drm_panfrost_wait_bo w{};
    w.handle = bo_;
    EXPECT_EQ(b_->ioctl(DRM_IOCTL_PANFROST_WAIT_BO, &w), -ENOENT);
    drm_panfrost_set_label_bo l{};
    l.handle = bo_;
    l.label = reinterpret_cast<uintptr_t>(label);
    EXPECT_EQ(b_->ioctl(DRM_IOCTL_PANFROST_SET_LABEL_BO, &l), -ENOENT);
    // A job of b listing a's BO (its job chain in one of b's own BOs).
    uint64_t own_off = 0;
    uint32_t own = make_bo(*b_, false, &own_off);
    drm_panfrost_get_bo_offset va{};
    va.handle = own;
    ASSERT_EQ(b_->ioctl(DRM_IOCTL_PANFROST_GET_BO_OFFSET, &va), 0);
    uint32_t list[] = {own, bo_};
    drm_panfrost_submit s{};
    s.jc = va.offset;
    s.bo_handles = reinterpret_cast<uintptr_t>(list);
    s.bo_handle_count = 2;
    // b's own handle is a's number minus what a created first: make sure
    // the foreign number is not one of b's.
    ASSERT_NE(own, bo_);
    EXPECT_EQ(b_->ioctl(DRM_IOCTL_PANFROST_SUBMIT, &s), -ENOENT);
  }
  // a still has its object, unchanged.
  uint64_t again = 0;
  if (panthor()) {
    drm_panthor_bo_mmap_offset mo{};
    mo.handle = bo_;
    ASSERT_EQ(a_->ioctl(DRM_IOCTL_PANTHOR_BO_MMAP_OFFSET, &mo), 0);
    again = mo.offset;
  } else {
    drm_panfrost_mmap_bo mo{};
    mo.handle = bo_;
    ASSERT_EQ(a_->ioctl(DRM_IOCTL_PANFROST_MMAP_BO, &mo), 0);
    again = mo.offset;
  }
  EXPECT_EQ(again, off_);
  auto mine = a_->mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_SHARED, off_);
  ASSERT_TRUE(mine.ok());
  a_->munmap(*mine, kSize);
}

TEST_P(Isolation, SyncobjsOfAnotherFile) {
  ASSERT_NE(sync_, 0u);
  uint32_t handles[] = {sync_};
  uint64_t points[] = {0};
  drm_syncobj_destroy d{};
  d.handle = sync_;
  EXPECT_EQ(b_->ioctl(DRM_IOCTL_SYNCOBJ_DESTROY, &d), -EINVAL);
  drm_syncobj_handle h{};
  h.handle = sync_;
  h.fd = -1;
  // drm_syncobj_handle_to_fd: an unknown handle is -EINVAL there.
  EXPECT_EQ(b_->ioctl(DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD, &h), -EINVAL);
  h.flags = DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE;
  EXPECT_EQ(b_->ioctl(DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD, &h), -ENOENT);
  {
    // Importing a sync_file into a handle b does not have.
    drm_syncobj_handle ex{};
    ex.handle = sync_;
    ex.flags = DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE;
    ex.fd = -1;
    ASSERT_EQ(a_->ioctl(DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD, &ex), 0);
    drm_syncobj_handle im{};
    im.handle = sync_;
    im.flags = DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE;
    im.fd = ex.fd;
    EXPECT_EQ(b_->ioctl(DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE, &im), -ENOENT);
    close(ex.fd);
  }
  drm_syncobj_wait w{};
  w.handles = reinterpret_cast<uintptr_t>(handles);
  w.count_handles = 1;
  EXPECT_EQ(b_->ioctl(DRM_IOCTL_SYNCOBJ_WAIT, &w), -ENOENT);
  // The timeline ioctls exist only where the driver has
  // DRIVER_SYNCOBJ_TIMELINE (panthor); panfrost refuses them first.
  const int tl_err = panthor() ? -ENOENT : -EOPNOTSUPP;
  drm_syncobj_timeline_wait tw{};
  tw.handles = reinterpret_cast<uintptr_t>(handles);
  tw.points = reinterpret_cast<uintptr_t>(points);
  tw.count_handles = 1;
  EXPECT_EQ(b_->ioctl(DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT, &tw), tl_err);
  drm_syncobj_array arr{};
  arr.handles = reinterpret_cast<uintptr_t>(handles);
  arr.count_handles = 1;
  EXPECT_EQ(b_->ioctl(DRM_IOCTL_SYNCOBJ_RESET, &arr), -ENOENT);
  EXPECT_EQ(b_->ioctl(DRM_IOCTL_SYNCOBJ_SIGNAL, &arr), -ENOENT);
  drm_syncobj_timeline_array ta{};
  ta.handles = reinterpret_cast<uintptr_t>(handles);
  ta.points = reinterpret_cast<uintptr_t>(points);
  ta.count_handles = 1;
  EXPECT_EQ(b_->ioctl(DRM_IOCTL_SYNCOBJ_QUERY, &ta), tl_err);
  points[0] = 1;
  EXPECT_EQ(b_->ioctl(DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL, &ta), tl_err);
  // TRANSFER between a's handle and one of b's own, both ways.
  uint32_t own = syncobj_create(*b_, true);
  ASSERT_NE(own, 0u);
  ASSERT_NE(own, sync_);
  drm_syncobj_transfer t{};
  t.src_handle = sync_;
  t.dst_handle = own;
  EXPECT_EQ(b_->ioctl(DRM_IOCTL_SYNCOBJ_TRANSFER, &t), tl_err);
  t.src_handle = own;
  t.dst_handle = sync_;
  EXPECT_EQ(b_->ioctl(DRM_IOCTL_SYNCOBJ_TRANSFER, &t), tl_err);
  int efd = eventfd(0, EFD_CLOEXEC);
  ASSERT_GE(efd, 0);
  drm_syncobj_eventfd e{};
  e.handle = sync_;
  e.fd = efd;
  EXPECT_EQ(b_->ioctl(DRM_IOCTL_SYNCOBJ_EVENTFD, &e), tl_err);
  close(efd);
  // a's syncobj is still there and still signalled.
  EXPECT_EQ(a_->ioctl(DRM_IOCTL_SYNCOBJ_WAIT, &w), 0);
}

TEST_P(Isolation, JobSyncsNamingAnotherFilesSyncobj) {
  uint32_t handles[] = {sync_};
  if (panthor()) {
    uint32_t vm = 0;
    ASSERT_EQ(vm_create(*b_, &vm), 0);
    std::vector<drm_panthor_sync_op> sig{signal_sync(sync_)};
    drm_panthor_vm_bind_op op = sync_only_op();
    attach(op, sig);
    EXPECT_EQ(bind(*b_, vm, {op}, true), -EINVAL) << "SIGNAL of a handle b does not have";
    std::vector<drm_panthor_sync_op> wait{wait_sync(sync_)};
    uint32_t own = syncobj_create(*b_);
    std::vector<drm_panthor_sync_op> both{wait_sync(sync_), signal_sync(own)};
    drm_panthor_vm_bind_op op2 = sync_only_op();
    attach(op2, both);
    EXPECT_EQ(bind(*b_, vm, {op2}, true), -ENOENT) << "WAIT on a handle b does not have";
  } else {
    uint64_t own_off = 0;
    uint32_t own = make_bo(*b_, false, &own_off);
    drm_panfrost_get_bo_offset va{};
    va.handle = own;
    ASSERT_EQ(b_->ioctl(DRM_IOCTL_PANFROST_GET_BO_OFFSET, &va), 0);
    drm_panfrost_submit s{};
    s.jc = va.offset;
    s.in_syncs = reinterpret_cast<uintptr_t>(handles);
    s.in_sync_count = 1;
    EXPECT_EQ(b_->ioctl(DRM_IOCTL_PANFROST_SUBMIT, &s), -ENOENT) << "in_sync of another file";
    s.in_sync_count = 0;
    s.out_sync = sync_;
    EXPECT_EQ(b_->ioctl(DRM_IOCTL_PANFROST_SUBMIT, &s), -ENODEV) << "out_sync of another file";
  }
}

INSTANTIATE_TEST_SUITE_P(Drivers, Isolation, ::testing::Values("panthor", "panfrost"));

// panthor's per-file ids: VMs (1..32), groups, tiler heaps ((vm << 16) | n).
TEST(IsolationPanthor, VmsGroupsAndHeapsOfAnotherFile) {
  auto a = test::open_model_file("panthor");
  auto b = test::open_model_file("panthor");
  ASSERT_TRUE(a && b);
  uint32_t vm = 0;
  for (int i = 0; i < 3; i++) ASSERT_EQ(vm_create(*a, &vm), 0);
  ASSERT_GT(vm, 1u);
  GroupArgs ga = group_args(*a, vm);
  uint32_t group = 0;
  ASSERT_EQ(group_create(*a, ga, &group), 0);
  drm_panthor_tiler_heap_create hc = heap_args(vm);
  ASSERT_EQ(heap_create(*a, hc), 0);

  uint32_t state = 0;
  EXPECT_EQ(vm_state(*b, vm, &state), -EINVAL);
  EXPECT_EQ(vm_destroy(*b, vm), -EINVAL);
  EXPECT_EQ(unmap_sync(*b, vm, 0x100000, 4096), -EINVAL);
  {
    drm_panthor_bo_create c{};
    c.size = 4096;
    c.exclusive_vm_id = vm;
    EXPECT_EQ(b->ioctl(DRM_IOCTL_PANTHOR_BO_CREATE, &c), -EINVAL);
  }
  GroupArgs gb = group_args(*b, vm);
  EXPECT_EQ(group_create(*b, gb), -EINVAL) << "group on another file's VM";
  drm_panthor_tiler_heap_create hb = heap_args(vm);
  EXPECT_EQ(heap_create(*b, hb), -EINVAL) << "heap in another file's VM";

  uint32_t fatal = 0;
  EXPECT_EQ(group_state(*b, group, &state, &fatal), -EINVAL);
  EXPECT_EQ(submit1(*b, group, job(0, 0, 0)), -EINVAL);
  EXPECT_EQ(group_destroy(*b, group), -EINVAL);
  EXPECT_EQ(heap_destroy(*b, hc.handle), -EINVAL);

  // a's objects are untouched: b's calls destroyed nothing.
  EXPECT_EQ(vm_state(*a, vm, &state), 0);
  EXPECT_EQ(state, static_cast<uint32_t>(DRM_PANTHOR_VM_STATE_USABLE));
  EXPECT_EQ(group_state(*a, group, &state, &fatal), 0);
  EXPECT_EQ(heap_destroy(*a, hc.handle), 0);
  EXPECT_EQ(group_destroy(*a, group), 0);
  EXPECT_EQ(vm_destroy(*a, vm), 0);
}

}  // namespace
