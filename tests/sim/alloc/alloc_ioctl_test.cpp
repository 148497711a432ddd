// The shared allocator and the display/camera models (a model extension,
// drm-uapi/wsys_sim_alloc.h) at the ioctl boundary: validation, every
// constraint kind alone and combined, first-use finalization, attach after
// finalization (migration or refusal with the unmet constraint), the
// up-front baseline, cache-domain hand-overs.
#include <fcntl.h>
#include <unistd.h>

#include <string>

#include "alloc_test_util.h"
#include "winsys/sim/shared_alloc.h"

namespace wsys::sim::test {
namespace {

class AllocIoctl : public ::testing::Test {
 protected:
  void SetUp() override {
    alloc_ = open_aux("wsys-alloc");
    display_ = open_aux("wsys-display");
    camera_ = open_aux("wsys-camera");
    ASSERT_TRUE(alloc_ && display_ && camera_);
  }
  void TearDown() override {
    for (int fd : fds_) ::close(fd);
  }
  int new_buffer(uint64_t size, uint32_t uses = WSYS_ALLOC_USE_ALL, uint32_t flags = 0) {
    int fd = -1;
    uint32_t h = 0;
    EXPECT_EQ(alloc(*alloc_, size, uses, &fd, &h, flags), 0);
    if (fd >= 0) fds_.push_back(fd);
    return fd;
  }
  std::unique_ptr<drm::DrmFile> alloc_, display_, camera_;
  std::vector<int> fds_;
};

TEST_F(AllocIoctl, CreateValidatesAndStartsWithoutBacking) {
  int fd = -1;
  uint32_t h = 0;
  EXPECT_EQ(alloc(*alloc_, 0, WSYS_ALLOC_USE_GPU, &fd, &h), -EINVAL);
  EXPECT_EQ(alloc(*alloc_, 4096, 0, &fd, &h), -EINVAL);
  EXPECT_EQ(alloc(*alloc_, 4096, 1u << 7, &fd, &h), -EINVAL);
  EXPECT_EQ(alloc(*alloc_, 4096, WSYS_ALLOC_USE_GPU, &fd, &h, 1u << 5), -EINVAL);
  int b = new_buffer(5000);
  ASSERT_GE(b, 0);
  drm_wsys_alloc_query q = query(*alloc_, b);
  EXPECT_EQ(q.size, 8192u);
  EXPECT_EQ(q.state & WSYS_ALLOC_STATE_FINALIZED, 0u);
  EXPECT_EQ(q.zone, WSYS_ALLOC_ZONE_NONE);
  EXPECT_EQ(q.extent_count, 0u);
}

TEST_F(AllocIoctl, BadInputIsRefusedLikeAKernel) {
  EXPECT_EQ(alloc_->ioctl(_IOWR('W', 0x7f, drm_wsys_alloc_free), nullptr), -ENOTTY);
  EXPECT_EQ(alloc_->ioctl(_IOWR('d', 0x00, drm_wsys_alloc_free), nullptr), -ENOTTY);
  EXPECT_EQ(alloc_->ioctl(DRM_IOCTL_WSYS_ALLOC_STATS, reinterpret_cast<void*>(16)), -EFAULT);
  // Display ioctls on the allocator and the reverse.
  drm_wsys_periph_info info{};
  EXPECT_EQ(alloc_->ioctl(DRM_IOCTL_WSYS_PERIPH_INFO, &info), -ENOTTY);
  drm_wsys_alloc_stats st{};
  EXPECT_EQ(display_->ioctl(DRM_IOCTL_WSYS_ALLOC_STATS, &st), -ENOTTY);
  // Not a shared buffer / not an fd.
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  drm_wsys_alloc_query q{};
  q.fd = p[0];
  EXPECT_EQ(alloc_->ioctl(DRM_IOCTL_WSYS_ALLOC_QUERY, &q), -EINVAL);
  q.fd = 100000;
  EXPECT_EQ(alloc_->ioctl(DRM_IOCTL_WSYS_ALLOC_QUERY, &q), -EBADF);
  ::close(p[0]);
  ::close(p[1]);
  int b = new_buffer(64 * 1024);
  drm_wsys_alloc_constraints c{};
  uint32_t id = 0;
  c.alignment = 3;
  EXPECT_EQ(attach(*alloc_, b, WSYS_ALLOC_DOMAIN_OTHER, c, &id), -EINVAL);
  c = {};
  c.segment_boundary = 6000;
  EXPECT_EQ(attach(*alloc_, b, WSYS_ALLOC_DOMAIN_OTHER, c, &id), -EINVAL);
  c = {};
  c.pad = 1;
  EXPECT_EQ(attach(*alloc_, b, WSYS_ALLOC_DOMAIN_OTHER, c, &id), -EINVAL);
  c = {};
  c.flags = 1u << 4;
  EXPECT_EQ(attach(*alloc_, b, WSYS_ALLOC_DOMAIN_OTHER, c, &id), -EINVAL);
  c = {};
  EXPECT_EQ(attach(*alloc_, b, 0, c, &id), -EINVAL);
  EXPECT_EQ(attach(*alloc_, b, WSYS_ALLOC_DOMAIN_CPU, c, &id), -EINVAL);
  EXPECT_EQ(attach_op(*alloc_, DRM_IOCTL_WSYS_ALLOC_MAP, 999), -ENOENT);
  ASSERT_EQ(attach(*alloc_, b, WSYS_ALLOC_DOMAIN_OTHER, c, &id), 0);
  EXPECT_EQ(attach_op(*alloc_, DRM_IOCTL_WSYS_ALLOC_UNMAP, id), -EINVAL);  // not mapped
  drm_wsys_alloc_attach_op op{};
  op.attach_id = id;
  op.pad = 1;
  EXPECT_EQ(alloc_->ioctl(DRM_IOCTL_WSYS_ALLOC_MAP, &op), -EINVAL);
  EXPECT_EQ(sync(*alloc_, b, WSYS_ALLOC_DOMAIN_CPU, 0), -EINVAL);
  EXPECT_EQ(sync(*alloc_, b, 9, WSYS_ALLOC_SYNC_READ), -EINVAL);
  // A device cannot access a buffer that has no backing yet.
  EXPECT_EQ(sync(*alloc_, b, WSYS_ALLOC_DOMAIN_GPU, WSYS_ALLOC_SYNC_READ), -EINVAL);
  drm_wsys_alloc_free fr{};
  fr.handle = 12345;
  EXPECT_EQ(alloc_->ioctl(DRM_IOCTL_WSYS_ALLOC_FREE, &fr), -ENOENT);
  uint32_t did = 0;
  EXPECT_EQ(periph_attach(*display_, b, 64, 0, &did), -EINVAL);
  uint64_t v = 0;
  EXPECT_EQ(periph_use(*display_, 4242, &v), -ENOENT);
}

TEST_F(AllocIoctl, DisplayAloneGetsOneExtentUnder4G) {
  int b = new_buffer(8 * kMiB);
  uint32_t id = 0;
  ASSERT_EQ(periph_attach(*display_, b, 4096, 2048, &id), 0);
  EXPECT_EQ(query(*alloc_, b).state & WSYS_ALLOC_STATE_FINALIZED, 0u);  // attach is not a use
  ASSERT_EQ(attach_op(*display_, DRM_IOCTL_WSYS_PERIPH_MAP, id), 0);
  drm_wsys_alloc_query q = query(*alloc_, b);
  EXPECT_NE(q.state & WSYS_ALLOC_STATE_FINALIZED, 0u);
  EXPECT_NE(q.state & WSYS_ALLOC_STATE_MAPPED, 0u);
  EXPECT_EQ(q.extent_count, 1u);
  EXPECT_EQ(q.zone, WSYS_ALLOC_ZONE_CMA);  // 8 MiB is above the page allocator's largest block
  EXPECT_LT(q.highest_addr, k4G);
}

TEST_F(AllocIoctl, SmallDisplayBufferStaysOutOfCma) {
  // One max-order block from the page allocator is contiguous too.
  int b = new_buffer(1 * kMiB);
  uint32_t id = 0;
  ASSERT_EQ(periph_attach(*display_, b, 1024, 1024, &id), 0);
  ASSERT_EQ(attach_op(*display_, DRM_IOCTL_WSYS_PERIPH_MAP, id), 0);
  drm_wsys_alloc_query q = query(*alloc_, b);
  EXPECT_EQ(q.extent_count, 1u);
  EXPECT_EQ(q.zone, WSYS_ALLOC_ZONE_DMA32);
  EXPECT_LT(q.highest_addr, k4G);
}

TEST_F(AllocIoctl, CameraAloneGetsBoundedSegmentsUnder4G) {
  int b = new_buffer(12 * kMiB);
  uint32_t id = 0;
  ASSERT_EQ(periph_attach(*camera_, b, 4096, 3072, &id), 0);
  ASSERT_EQ(attach_op(*camera_, DRM_IOCTL_WSYS_PERIPH_MAP, id), 0);
  drm_wsys_alloc_query q = query(*alloc_, b);
  EXPECT_EQ(q.zone, WSYS_ALLOC_ZONE_DMA32);
  EXPECT_EQ(q.first_addr % kMiB, 0u);  // whole 1 MiB segments
  EXPECT_LE(q.extent_count, 16u);
  EXPECT_LT(q.highest_addr, k4G);
}

TEST_F(AllocIoctl, CameraRefusesTooLargeForItsSegments) {
  int b = new_buffer(32 * kMiB);  // 16 x 1 MiB < 32 MiB
  uint32_t id = 0, unmet = 0;
  EXPECT_EQ(periph_attach(*camera_, b, 4096, 64, &id, &unmet), -EINVAL);
  EXPECT_EQ(unmet, WSYS_ALLOC_UNMET_SEGMENTS);
  EXPECT_EQ(query(*alloc_, b).last_unmet, WSYS_ALLOC_UNMET_SEGMENTS);
}

TEST_F(AllocIoctl, PitchAndSizeAreChecked) {
  int b = new_buffer(1 * kMiB);
  uint32_t id = 0, unmet = 0;
  EXPECT_EQ(periph_attach(*display_, b, 100, 16, &id, &unmet), -EINVAL);
  EXPECT_EQ(unmet, WSYS_ALLOC_UNMET_PITCH);
  EXPECT_EQ(periph_attach(*camera_, b, 64, 16, &id, &unmet), -EINVAL);  // camera wants 128
  EXPECT_EQ(unmet, WSYS_ALLOC_UNMET_PITCH);
  EXPECT_EQ(periph_attach(*display_, b, 4096, 1024, &id, &unmet), -EINVAL);  // 4 MiB > 1 MiB
  EXPECT_EQ(unmet, WSYS_ALLOC_UNMET_SIZE);
  EXPECT_EQ(periph_attach(*camera_, b, 128, 16, &id, &unmet), 0);
}

TEST_F(AllocIoctl, EveryConstraintKindIsMet) {
  struct Case {
    const char* name;
    drm_wsys_alloc_constraints c;
  };
  drm_wsys_alloc_constraints base{};
  Case cases[6] = {{"mask", base},         {"contig", base},   {"segments", base},
                   {"segsize+segments", base}, {"boundary+segments", base}, {"align", base}};
  cases[0].c.dma_mask = 0x3fffffffull;  // 1 GiB
  cases[1].c.flags = WSYS_ALLOC_CONSTRAINT_CONTIGUOUS;
  cases[2].c.max_segments = 2;  // no size limit: one segment per extent
  cases[3].c.max_segment_size = 1 * kMiB;
  cases[3].c.max_segments = 6;  // exactly 6 MiB: only whole aligned MiBs fit
  cases[4].c.segment_boundary = 2 * kMiB;
  cases[4].c.max_segments = 3;
  cases[5].c.alignment = 2 * kMiB;
  for (const Case& k : cases) {
    SCOPED_TRACE(k.name);
    int b = new_buffer(6 * kMiB);
    uint32_t id = 0;
    ASSERT_EQ(attach(*alloc_, b, WSYS_ALLOC_DOMAIN_OTHER, k.c, &id), 0);
    ASSERT_EQ(attach_op(*alloc_, DRM_IOCTL_WSYS_ALLOC_MAP, id), 0);
    drm_wsys_alloc_query q = query(*alloc_, b);
    ASSERT_NE(q.state & WSYS_ALLOC_STATE_FINALIZED, 0u);
    if (k.c.dma_mask) {
      EXPECT_LE(q.highest_addr, k.c.dma_mask);
    }
    if (k.c.flags) {
      EXPECT_EQ(q.extent_count, 1u);
    }
    if (k.c.max_segments) {
      EXPECT_LE(q.extent_count, k.c.max_segments);
    }
    if (k.c.max_segment_size) {
      EXPECT_EQ(q.first_addr % k.c.max_segment_size, 0u);
    }
    if (k.c.segment_boundary) {
      EXPECT_EQ(q.first_addr % k.c.segment_boundary, 0u);
    }
    if (k.c.alignment) {
      EXPECT_EQ(q.first_addr % k.c.alignment, 0u);
    }
  }
}

TEST_F(AllocIoctl, CombinedConstraintsMeetTheUnion) {
  // Display + camera on a small buffer: one extent (display) of at most
  // 1 MiB (camera), under 4 GiB (both).
  int b = new_buffer(512 * 1024);
  uint32_t d = 0, c = 0;
  ASSERT_EQ(periph_attach(*display_, b, 1024, 512, &d), 0);
  ASSERT_EQ(periph_attach(*camera_, b, 1024, 512, &c), 0);
  ASSERT_EQ(attach_op(*camera_, DRM_IOCTL_WSYS_PERIPH_MAP, c), 0);
  drm_wsys_alloc_query q = query(*alloc_, b);
  EXPECT_EQ(q.extent_count, 1u);
  EXPECT_LE(q.largest_extent, 1 * kMiB);
  EXPECT_LT(q.highest_addr, k4G);
  EXPECT_EQ(q.attachments, 2u);
}

TEST_F(AllocIoctl, ConflictingConstraintsAreRefusedWithTheReason) {
  // The display wants one extent; 8 MiB is above the page allocator's
  // largest block, so only CMA can hold it, and CMA lies above a 256 MiB
  // DMA mask: the two cannot hold together, whatever the order.
  int b = new_buffer(8 * kMiB);
  uint32_t d = 0, c = 0, unmet = 0;
  ASSERT_EQ(periph_attach(*display_, b, 4096, 2048, &d), 0);
  drm_wsys_alloc_constraints low{};
  low.dma_mask = 0x0fffffff;
  EXPECT_EQ(attach(*alloc_, b, WSYS_ALLOC_DOMAIN_OTHER, low, &c, &unmet), -EINVAL);
  EXPECT_EQ(unmet, WSYS_ALLOC_UNMET_DMA_MASK);
  bool logged = false;
  for (const std::string& l : SharedAllocator::model().log_lines())
    logged = logged || l.find("dma-mask") != std::string::npos;
  EXPECT_TRUE(logged);
  // One segment of at most 64 KiB cannot describe 8 MiB.
  drm_wsys_alloc_constraints one{};
  one.max_segments = 1;
  one.max_segment_size = 64 * 1024;
  EXPECT_EQ(attach(*alloc_, b, WSYS_ALLOC_DOMAIN_OTHER, one, &c, &unmet), -EINVAL);
  EXPECT_EQ(unmet, WSYS_ALLOC_UNMET_SEGMENT_SIZE);
  one.max_segment_size = 0;
  one.segment_boundary = 1 * kMiB;
  EXPECT_EQ(attach(*alloc_, b, WSYS_ALLOC_DOMAIN_OTHER, one, &c, &unmet), -EINVAL);
  EXPECT_EQ(unmet, WSYS_ALLOC_UNMET_BOUNDARY);
  // The refused attach changed nothing: the display still finalizes.
  ASSERT_EQ(attach_op(*display_, DRM_IOCTL_WSYS_PERIPH_MAP, d), 0);
  EXPECT_EQ(query(*alloc_, b).attachments, 1u);
  // A mask under every zone.
  int b2 = new_buffer(64 * 1024);
  drm_wsys_alloc_constraints k{};
  k.dma_mask = 0xfffff;  // 1 MiB: below the reserved low memory
  EXPECT_EQ(attach(*alloc_, b2, WSYS_ALLOC_DOMAIN_OTHER, k, &c, &unmet), -EINVAL);
  EXPECT_EQ(unmet, WSYS_ALLOC_UNMET_DMA_MASK);
}

TEST_F(AllocIoctl, LateAttachMigratesAnUnmappedBuffer) {
  drm_wsys_alloc_stats s0 = stats(*alloc_);
  int b = new_buffer(2 * kMiB);
  drm_wsys_alloc_constraints any{};
  uint32_t g = 0;
  ASSERT_EQ(attach(*alloc_, b, WSYS_ALLOC_DOMAIN_GPU, any, &g), 0);
  ASSERT_EQ(attach_op(*alloc_, DRM_IOCTL_WSYS_ALLOC_MAP, g), 0);
  drm_wsys_alloc_query q = query(*alloc_, b);
  EXPECT_EQ(q.zone, WSYS_ALLOC_ZONE_NORMAL);
  EXPECT_GE(q.first_addr, k4G);
  ASSERT_EQ(attach_op(*alloc_, DRM_IOCTL_WSYS_ALLOC_UNMAP, g), 0);
  uint32_t d = 0;
  ASSERT_EQ(periph_attach(*display_, b, 4096, 512, &d), 0);
  q = query(*alloc_, b);
  EXPECT_EQ(q.migrations, 1u);
  EXPECT_EQ(q.extent_count, 1u);
  EXPECT_LT(q.highest_addr, k4G);
  EXPECT_EQ(stats(*alloc_).migrations, s0.migrations + 1);
}

TEST_F(AllocIoctl, LateAttachIsRefusedWhileMapped) {
  int b = new_buffer(2 * kMiB);
  drm_wsys_alloc_constraints any{};
  uint32_t g = 0;
  ASSERT_EQ(attach(*alloc_, b, WSYS_ALLOC_DOMAIN_GPU, any, &g), 0);
  ASSERT_EQ(attach_op(*alloc_, DRM_IOCTL_WSYS_ALLOC_MAP, g), 0);
  uint32_t d = 0, unmet = 0;
  EXPECT_EQ(periph_attach(*display_, b, 4096, 512, &d, &unmet), -EINVAL);
  EXPECT_EQ(unmet, WSYS_ALLOC_UNMET_DMA_MASK);
  EXPECT_EQ(query(*alloc_, b).migrations, 0u);
  // A late attach the placement already meets is fine while mapped.
  drm_wsys_alloc_constraints loose{};
  loose.max_segment_size = 4 * kMiB;
  uint32_t o = 0;
  EXPECT_EQ(attach(*alloc_, b, WSYS_ALLOC_DOMAIN_OTHER, loose, &o), 0);
  // Detaching drops the mapping: now the display attach migrates.
  ASSERT_EQ(attach_op(*alloc_, DRM_IOCTL_WSYS_ALLOC_DETACH, g), 0);
  EXPECT_EQ(periph_attach(*display_, b, 4096, 512, &d, &unmet), 0);
  EXPECT_EQ(query(*alloc_, b).migrations, 1u);
}

TEST_F(AllocIoctl, CpuUseFinalizesAndPinsThePlacement) {
  int b = new_buffer(2 * kMiB);
  ASSERT_EQ(sync(*alloc_, b, WSYS_ALLOC_DOMAIN_CPU, WSYS_ALLOC_SYNC_WRITE), 0);
  drm_wsys_alloc_query q = query(*alloc_, b);
  EXPECT_NE(q.state & WSYS_ALLOC_STATE_FINALIZED, 0u);
  EXPECT_NE(q.state & WSYS_ALLOC_STATE_CPU_USED, 0u);
  uint32_t d = 0, unmet = 0;
  EXPECT_EQ(periph_attach(*display_, b, 4096, 512, &d, &unmet), -EINVAL);
  EXPECT_NE(unmet, WSYS_ALLOC_UNMET_NONE);
}

TEST_F(AllocIoctl, UpfrontPicksTheContiguousHeapForAnythingShowable) {
  drm_wsys_alloc_stats s0 = stats(*alloc_);
  int b = new_buffer(1 * kMiB, WSYS_ALLOC_USE_GPU | WSYS_ALLOC_USE_DISPLAY, WSYS_ALLOC_FLAG_UPFRONT);
  drm_wsys_alloc_query q = query(*alloc_, b);
  EXPECT_NE(q.state & WSYS_ALLOC_STATE_FINALIZED, 0u);
  EXPECT_EQ(q.zone, WSYS_ALLOC_ZONE_CMA);
  EXPECT_EQ(stats(*alloc_).cma_used, s0.cma_used + 1 * kMiB);
  // Up front never migrates: a constraint the CMA placement breaks is refused.
  drm_wsys_alloc_constraints k{};
  k.dma_mask = 0x3fffffff;  // 1 GiB: the CMA region is above it
  uint32_t id = 0, unmet = 0;
  EXPECT_EQ(attach(*alloc_, b, WSYS_ALLOC_DOMAIN_OTHER, k, &id, &unmet), -EINVAL);
  EXPECT_EQ(unmet, WSYS_ALLOC_UNMET_DMA_MASK);
  EXPECT_EQ(query(*alloc_, b).migrations, 0u);
  int g = new_buffer(1 * kMiB, WSYS_ALLOC_USE_GPU, WSYS_ALLOC_FLAG_UPFRONT);
  EXPECT_EQ(query(*alloc_, g).zone, WSYS_ALLOC_ZONE_NORMAL);
}

TEST_F(AllocIoctl, UpfrontRunsTheCmaPoolDryDeferredDoesNot) {
  drm_wsys_alloc_stats s0 = stats(*alloc_);
  const uint64_t chunk = 4 * kMiB;
  const uint64_t n = s0.cma_size / chunk + 1;  // one more than fits
  int failures = 0;
  std::vector<uint32_t> handles;
  for (uint64_t i = 0; i < n; i++) {
    int fd = -1;
    uint32_t h = 0;
    int r = alloc(*alloc_, chunk, WSYS_ALLOC_USE_GPU | WSYS_ALLOC_USE_CAMERA, &fd, &h,
                  WSYS_ALLOC_FLAG_UPFRONT);
    if (r == -ENOMEM) {
      failures++;
    } else {
      ASSERT_EQ(r, 0);
      fds_.push_back(fd);
      handles.push_back(h);
    }
  }
  EXPECT_GE(failures, 1);
  EXPECT_GT(stats(*alloc_).finalize_failures, s0.finalize_failures);
  // Freeing returns the pool.
  for (uint32_t h : handles) {
    drm_wsys_alloc_free f{};
    f.handle = h;
    EXPECT_EQ(alloc_->ioctl(DRM_IOCTL_WSYS_ALLOC_FREE, &f), 0);
  }
  EXPECT_EQ(stats(*alloc_).cma_used, s0.cma_used);
  // The same buffers deferred, used by the camera only: no CMA at all.
  for (uint64_t i = 0; i < n; i++) {
    int b = new_buffer(chunk, WSYS_ALLOC_USE_GPU | WSYS_ALLOC_USE_CAMERA);
    uint32_t id = 0;
    ASSERT_EQ(periph_attach(*camera_, b, 4096, 1024, &id), 0);
    ASSERT_EQ(attach_op(*camera_, DRM_IOCTL_WSYS_PERIPH_MAP, id), 0);
  }
  EXPECT_EQ(stats(*alloc_).cma_used, s0.cma_used);
}

TEST_F(AllocIoctl, DeviceToDeviceHandOverNeedsNoCacheMaintenance) {
  int b = new_buffer(64 * 1024);
  uint32_t cam = 0, disp = 0;
  ASSERT_EQ(periph_attach(*camera_, b, 256, 256, &cam), 0);
  ASSERT_EQ(periph_attach(*display_, b, 256, 256, &disp), 0);
  ASSERT_EQ(attach_op(*camera_, DRM_IOCTL_WSYS_PERIPH_MAP, cam), 0);
  ASSERT_EQ(attach_op(*display_, DRM_IOCTL_WSYS_PERIPH_MAP, disp), 0);
  drm_wsys_alloc_stats s0 = stats(*alloc_);
  uint64_t v = 3;
  ASSERT_EQ(periph_use(*camera_, cam, &v), 0);  // capture: writes 3s
  v = 0;
  ASSERT_EQ(periph_use(*display_, disp, &v), 0);  // scan out: reads them
  EXPECT_EQ(v, 3u * 256 * 256);                 // real memory went through
  drm_wsys_alloc_stats s1 = stats(*alloc_);
  EXPECT_EQ(s1.cache_flushes, s0.cache_flushes);
  EXPECT_EQ(s1.cache_invalidates, s0.cache_invalidates);
  EXPECT_EQ(s1.cache_ops_avoided, s0.cache_ops_avoided + 2);
  // With the CPU in between: it reads what the camera wrote (invalidate),
  // writes (dirty), then the display reads (clean).
  v = 5;
  ASSERT_EQ(periph_use(*camera_, cam, &v), 0);
  ASSERT_EQ(sync(*alloc_, b, WSYS_ALLOC_DOMAIN_CPU, WSYS_ALLOC_SYNC_READ | WSYS_ALLOC_SYNC_WRITE), 0);
  v = 0;
  ASSERT_EQ(periph_use(*display_, disp, &v), 0);
  drm_wsys_alloc_stats s2 = stats(*alloc_);
  EXPECT_EQ(s2.cache_invalidates, s1.cache_invalidates + 1);
  EXPECT_EQ(s2.cache_flushes, s1.cache_flushes + 1);
  // A second CPU read with no device write since: nothing to invalidate.
  ASSERT_EQ(sync(*alloc_, b, WSYS_ALLOC_DOMAIN_CPU, WSYS_ALLOC_SYNC_READ), 0);
  EXPECT_EQ(stats(*alloc_).cache_invalidates, s2.cache_invalidates);
}

TEST_F(AllocIoctl, UseNeedsAMapping) {
  int b = new_buffer(64 * 1024);
  uint32_t disp = 0;
  ASSERT_EQ(periph_attach(*display_, b, 256, 256, &disp), 0);
  uint64_t v = 0;
  EXPECT_EQ(periph_use(*display_, disp, &v), -EINVAL);
  ASSERT_EQ(attach_op(*display_, DRM_IOCTL_WSYS_PERIPH_MAP, disp), 0);
  EXPECT_EQ(periph_use(*display_, disp, &v), 0);
  ASSERT_EQ(attach_op(*display_, DRM_IOCTL_WSYS_PERIPH_UNMAP, disp), 0);
  EXPECT_EQ(periph_use(*display_, disp, &v), -EINVAL);
  EXPECT_EQ(attach_op(*display_, DRM_IOCTL_WSYS_PERIPH_UNMAP, disp), -EINVAL);
}

TEST_F(AllocIoctl, ClosingFilesReleasesThePlacement) {
  drm_wsys_alloc_stats s0 = stats(*alloc_);
  {
    auto a = open_aux("wsys-alloc");
    auto d = open_aux("wsys-display");
    ASSERT_TRUE(a && d);
    int fd = -1;
    uint32_t h = 0, id = 0;
    ASSERT_EQ(alloc(*a, 16 * kMiB, WSYS_ALLOC_USE_DISPLAY, &fd, &h), 0);
    ASSERT_EQ(periph_attach(*d, fd, 4096, 4096, &id), 0);
    ASSERT_EQ(attach_op(*d, DRM_IOCTL_WSYS_PERIPH_MAP, id), 0);
    EXPECT_EQ(stats(*alloc_).cma_used, s0.cma_used + 16 * kMiB);
    ::close(fd);
  }
  EXPECT_EQ(stats(*alloc_).cma_used, s0.cma_used);
}

TEST_F(AllocIoctl, PeripheralInfoDescribesTheDevices) {
  drm_wsys_periph_info i{};
  ASSERT_EQ(display_->ioctl(DRM_IOCTL_WSYS_PERIPH_INFO, &i), 0);
  EXPECT_EQ(i.kind, WSYS_PERIPH_KIND_DISPLAY);
  EXPECT_EQ(i.access, WSYS_PERIPH_ACCESS_READ);
  EXPECT_EQ(i.pitch_align, 64u);
  EXPECT_EQ(i.c.dma_mask, 0xffffffffull);
  EXPECT_EQ(i.c.flags, WSYS_ALLOC_CONSTRAINT_CONTIGUOUS);
  ASSERT_EQ(camera_->ioctl(DRM_IOCTL_WSYS_PERIPH_INFO, &i), 0);
  EXPECT_EQ(i.kind, WSYS_PERIPH_KIND_CAMERA);
  EXPECT_EQ(i.access, WSYS_PERIPH_ACCESS_WRITE);
  EXPECT_EQ(i.c.max_segment_size, 1 * kMiB);
  EXPECT_EQ(i.c.max_segments, 16u);
}

}  // namespace
}  // namespace wsys::sim::test
