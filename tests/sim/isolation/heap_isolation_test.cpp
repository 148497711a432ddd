// Heap memory is the GPU's alone: a panfrost HEAP BO cannot be mmapped or
// exported, not even by the file that created it and not through a
// guessed mmap offset; panthor's tiler-heap chunks and heap contexts are
// kernel objects that no file has a handle to, so no ioctl names them and
// no mmap offset reaches them.
#include <sys/mman.h>

#include <cerrno>
#include <cstring>

#include "csf/csf_test_util.h"
#include "drm-uapi/drm_core.h"
#include "drm-uapi/panfrost_drm.h"

using namespace wsys::sim;
using namespace wsys::sim::csftest;

namespace {

bool mmap_works(SimDrmFile& f, uint64_t off, size_t len) {
  auto m = f.mmap(nullptr, len, PROT_READ, MAP_SHARED, off);
  if (!m.ok()) return false;
  f.munmap(*m, len);
  return true;
}

TEST(HeapIsolation, PanfrostHeapBoIsNeverMappedOrExported) {
  auto a = test::open_model_file("panfrost");
  auto b = test::open_model_file("panfrost");
  ASSERT_TRUE(a && b);
  drm_panfrost_create_bo c{};
  c.size = 4u << 20;
  c.flags = PANFROST_BO_NOEXEC | PANFROST_BO_HEAP;
  ASSERT_EQ(a->ioctl(DRM_IOCTL_PANFROST_CREATE_BO, &c), 0);
  drm_panfrost_mmap_bo m{};
  m.handle = c.handle;
  EXPECT_EQ(a->ioctl(DRM_IOCTL_PANFROST_MMAP_BO, &m), -EINVAL);
  drm_prime_handle p{};
  p.handle = c.handle;
  p.flags = DRM_CLOEXEC | DRM_RDWR;
  p.fd = -1;
  EXPECT_EQ(a->ioctl(DRM_IOCTL_PRIME_HANDLE_TO_FD, &p), -EINVAL);
  EXPECT_EQ(p.fd, -1);
  // The object has an mmap offset inside the device (every GEM object
  // does); neither its own file nor another reaches it through it.
  SimBoPtr bo = a->file().lookup_bo(c.handle);
  ASSERT_TRUE(bo);
  EXPECT_FALSE(mmap_works(*a, bo->mmap_offset(), 4096));
  EXPECT_FALSE(mmap_works(*b, bo->mmap_offset(), 4096));
  EXPECT_FALSE(mmap_works(*a, bo->mmap_offset(), bo->size()));
  // Neither does making it purgeable first, nor asking again after.
  drm_panfrost_madvise ma{};
  ma.handle = c.handle;
  ma.madv = PANFROST_MADV_WILLNEED;
  EXPECT_EQ(a->ioctl(DRM_IOCTL_PANFROST_MADVISE, &ma), 0);
  EXPECT_EQ(a->ioctl(DRM_IOCTL_PANFROST_MMAP_BO, &m), -EINVAL);
  EXPECT_EQ(a->ioctl(DRM_IOCTL_PRIME_HANDLE_TO_FD, &p), -EINVAL);
}

TEST(HeapIsolation, PanthorTilerHeapChunksHaveNoHandleAndNoMapping) {
  auto a = test::open_model_file("panthor");
  auto b = test::open_model_file("panthor");
  ASSERT_TRUE(a && b);
  uint32_t vm = 0;
  ASSERT_EQ(vm_create(*a, &vm), 0);
  // Objects the file creates before and after the heap bracket the heap's
  // own objects in the device's mmap offset space (offsets are handed out
  // in order).
  uint32_t before = bo_create(*a, 4096);
  ASSERT_NE(before, 0u);
  const size_t handles_before = a->file().bo_handle_count();
  drm_panthor_tiler_heap_create hc = heap_args(vm, /*initial=*/2);
  ASSERT_EQ(heap_create(*a, hc), 0);
  EXPECT_EQ(a->file().bo_handle_count(), handles_before) << "the heap's objects got handles";
  uint32_t after = bo_create(*a, 4096);
  ASSERT_NE(after, 0u);
  EXPECT_EQ(after, before + 1) << "the heap took handle numbers";

  auto offset_of = [&](uint32_t h) {
    drm_panthor_bo_mmap_offset mo{};
    mo.handle = h;
    EXPECT_EQ(a->ioctl(DRM_IOCTL_PANTHOR_BO_MMAP_OFFSET, &mo), 0);
    return mo.offset;
  };
  const uint64_t lo = offset_of(before) + 4096, hi = offset_of(after);
  ASSERT_LT(lo, hi) << "the heap created no objects between the two BOs";
  size_t heap_objects = 0;
  for (uint64_t off = lo; off < hi; off += 4096) {
    if (a->file().device()->bo_by_mmap_offset(off)) heap_objects++;
    EXPECT_FALSE(mmap_works(*a, off, 4096)) << "offset " << off;
    EXPECT_FALSE(mmap_works(*b, off, 4096)) << "offset " << off;
  }
  // The context pool and the two initial chunks.
  EXPECT_GE(heap_objects, 3u);
  // No handle number past the file's own names anything: nothing to export.
  for (uint32_t h = after + 1; h < after + 16; h++) {
    drm_prime_handle p{};
    p.handle = h;
    p.flags = DRM_CLOEXEC;
    p.fd = -1;
    EXPECT_EQ(a->ioctl(DRM_IOCTL_PRIME_HANDLE_TO_FD, &p), -ENOENT) << h;
  }
  EXPECT_EQ(heap_destroy(*a, hc.handle), 0);
}

}  // namespace
