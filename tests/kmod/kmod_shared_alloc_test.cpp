// kmod and the model's shared allocator (a model extension,
// drm-uapi/wsys_sim_alloc.h): the capability is probed on both drivers,
// the allocator and display/camera wrappers speak its ioctls, refusals
// come back with their reason, and a Device's bo_import of a shared
// buffer attaches with the GPU's constraints. In process only: the
// drm-shim does not expose the allocator devices.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

#include "winsys/kmod/kmod.h"
#include "winsys/kmod/open.h"
#include "winsys/kmod/shared_alloc.h"

namespace wsys::kmod {
namespace {

constexpr uint64_t kMiB = 1ull << 20;

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

TEST(KmodSharedAlloc, ProbedOnBothDrivers) {
  for (const char* spec : {"sim:panthor", "sim:panfrost"}) {
    SCOPED_TRACE(spec);
    auto dev = open_device(spec);
    ASSERT_TRUE(dev.ok());
    EXPECT_TRUE((*dev)->props().has_deferred_alloc);
  }
}

TEST(KmodSharedAlloc, CameraToDisplayThroughTheWrappers) {
  auto alloc = SharedAllocator::open();
  auto cam = Peripheral::open(Peripheral::Kind::Camera);
  auto disp = Peripheral::open(Peripheral::Kind::Display);
  ASSERT_TRUE(alloc.ok() && cam.ok() && disp.ok());
  auto made = (*alloc)->create(1 * kMiB, kSharedUseCamera | kSharedUseDisplay);
  ASSERT_TRUE(made.ok());
  Fd fd{made->fd};
  auto pa = (*disp)->pitch_alignment();
  ASSERT_TRUE(pa.ok());
  EXPECT_EQ(*pa, 64u);
  SharedUnmet why = SharedUnmet::Size;
  auto c = (*cam)->attach(fd.fd, 1024, 1024, &why);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(why, SharedUnmet::None);
  auto d = (*disp)->attach(fd.fd, 1024, 1024, &why);
  ASSERT_TRUE(d.ok());
  auto info = (*alloc)->query(fd.fd);
  ASSERT_TRUE(info.ok());
  EXPECT_FALSE(info->finalized);
  EXPECT_EQ(info->attachments, 2u);
  ASSERT_EQ((*cam)->map(*c), 0);
  ASSERT_EQ((*disp)->map(*d), 0);
  auto before = (*alloc)->stats();
  ASSERT_TRUE(before.ok());
  ASSERT_TRUE((*cam)->use(*c, 2).ok());
  auto sum = (*disp)->use(*d);
  ASSERT_TRUE(sum.ok());
  EXPECT_EQ(*sum, 2u * kMiB);
  auto after = (*alloc)->stats();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->cache_flushes, before->cache_flushes);
  EXPECT_EQ(after->cache_ops_avoided, before->cache_ops_avoided + 2);
  info = (*alloc)->query(fd.fd);
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->finalized);
  EXPECT_EQ(info->extent_count, 1u);
  EXPECT_LT(info->highest_addr, 1ull << 32);
  EXPECT_EQ((*disp)->unmap(*d), 0);
  EXPECT_EQ((*disp)->detach(*d), 0);
  EXPECT_EQ((*cam)->detach(*c), 0);
  EXPECT_EQ((*alloc)->release(made->handle), 0);
  EXPECT_EQ((*alloc)->release(made->handle), -ENOENT);
}

TEST(KmodSharedAlloc, RefusalsCarryTheirReason) {
  auto alloc = SharedAllocator::open();
  auto disp = Peripheral::open(Peripheral::Kind::Display);
  ASSERT_TRUE(alloc.ok() && disp.ok());
  auto made = (*alloc)->create(8 * kMiB, kSharedUseDisplay);
  ASSERT_TRUE(made.ok());
  Fd fd{made->fd};
  SharedUnmet why = SharedUnmet::None;
  auto bad = (*disp)->attach(fd.fd, 100, 16, &why);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), -EINVAL);
  EXPECT_EQ(why, SharedUnmet::Pitch);
  EXPECT_STREQ(shared_unmet_name(why), "pitch-alignment");
  ASSERT_TRUE((*disp)->attach(fd.fd, 4096, 2048, &why).ok());
  SharedConstraints low;
  low.dma_mask = 0x0fffffff;
  auto r = (*alloc)->attach(fd.fd, SharedDomain::Other, low, &why);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(why, SharedUnmet::DmaMask);
  auto info = (*alloc)->query(fd.fd);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->last_unmet, SharedUnmet::DmaMask);
  EXPECT_EQ((*alloc)->release(made->handle), 0);
}

TEST(KmodSharedAlloc, BoImportAttachesAndMmapIsAFirstUse) {
  auto alloc = SharedAllocator::open();
  ASSERT_TRUE(alloc.ok());
  auto made = (*alloc)->create(256 * 1024, kSharedUseGpu | kSharedUseCpu);
  ASSERT_TRUE(made.ok());
  Fd fd{made->fd};
  auto dev = open_device("sim:panthor");
  ASSERT_TRUE(dev.ok());
  auto bo = (*dev)->bo_import(fd.fd);
  ASSERT_TRUE(bo.ok());
  auto info = (*alloc)->query(fd.fd);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->attachments, 1u);
  EXPECT_FALSE(info->finalized);
  auto p = (*dev)->bo_mmap(**bo, PROT_READ | PROT_WRITE);
  ASSERT_TRUE(p.ok());
  std::memset(*p, 7, 256 * 1024);
  info = (*alloc)->query(fd.fd);
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->finalized);
  EXPECT_TRUE(info->cpu_used);
  // The bytes are the dma-buf's own.
  unsigned char b = 0;
  ASSERT_EQ(::pread(fd.fd, &b, 1, 4096), 1);
  EXPECT_EQ(b, 7);
  EXPECT_TRUE((*dev)->bo_munmap(**bo, *p).ok());
  EXPECT_EQ((*alloc)->release(made->handle), 0);
}

}  // namespace
}  // namespace wsys::kmod
