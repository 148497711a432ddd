// wsys::SharedBuffer on the kernel model (its central allocator is a model
// extension): attach before first use, placement from the union, refusal
// reasons, migration while unused, Device import as an attach and (core
// binds imports at once) a first use, real memory through every device.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

#include "wsys/device.hpp"
#include "wsys/shared_buffer.hpp"

namespace wsys {
namespace {

constexpr uint64_t kMiB = 1ull << 20;

std::shared_ptr<SharedBuffer> make(uint64_t size, uint32_t uses) {
  auto b = SharedBuffer::create(size, uses);
  EXPECT_TRUE(b.ok()) << (b.ok() ? 0 : b.error());
  return b.ok() ? *b : nullptr;
}

TEST(SharedBuffer, CreateValidates) {
  EXPECT_EQ(SharedBuffer::create(0, kSharedUseGpu).error(), -EINVAL);
  EXPECT_EQ(SharedBuffer::create(4096, 0).error(), -EINVAL);
  EXPECT_EQ(SharedBuffer::create(4096, 1u << 9).error(), -EINVAL);
  auto b = make(5000, kSharedUseGpu);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->size(), 8192u);
  auto p = b->placement();
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->placed);
  auto fd = b->export_fd();
  ASSERT_TRUE(fd.ok());
  EXPECT_NE(*fd, b->fd());
  ::close(*fd);
}

TEST(SharedBuffer, CameraToDisplayPlacesFromTheUnion) {
  auto b = make(512 * 1024, kSharedUseCamera | kSharedUseDisplay);
  ASSERT_TRUE(b);
  auto cam = b->attach(SharedDevice::Camera, 1024, 512);
  auto disp = b->attach(SharedDevice::Display, 1024, 512);
  ASSERT_TRUE(cam.ok() && disp.ok());
  ASSERT_TRUE(b->map(SharedDevice::Camera, *cam).ok());
  ASSERT_TRUE(b->map(SharedDevice::Display, *disp).ok());
  auto p = b->placement();
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->placed);
  EXPECT_TRUE(p->in_use);
  EXPECT_EQ(p->extents, 1u);
  EXPECT_LT(p->highest_address, 1ull << 32);
  EXPECT_FALSE(p->contiguous_pool);  // 512 KiB: one page-allocator block
  ASSERT_TRUE(b->use(SharedDevice::Camera, *cam, 9).ok());
  auto sum = b->use(SharedDevice::Display, *disp);
  ASSERT_TRUE(sum.ok());
  EXPECT_EQ(*sum, 9u * 512 * 1024);
  EXPECT_TRUE(b->unmap(SharedDevice::Display, *disp).ok());
  EXPECT_TRUE(b->detach(SharedDevice::Display, *disp).ok());
  EXPECT_FALSE(b->detach(SharedDevice::Display, *disp).ok());
}

TEST(SharedBuffer, RefusalsSayWhy) {
  auto b = make(1 * kMiB, kSharedUseDisplay);
  ASSERT_TRUE(b);
  auto bad = b->attach(SharedDevice::Display, 100, 16);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), -EINVAL);
  EXPECT_EQ(b->refusal(), SharedRefusal::Pitch);
  EXPECT_STREQ(shared_refusal_name(b->refusal()), "pitch-alignment");
  auto big = make(64 * kMiB, kSharedUseCamera);  // > 16 x 1 MiB segments
  ASSERT_TRUE(big);
  auto c = big->attach(SharedDevice::Camera, 4096, 16);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(big->refusal(), SharedRefusal::Segments);
}

TEST(SharedBuffer, CpuAccessPlacesAndPinsIt) {
  auto b = make(2 * kMiB, kSharedUseCpu | kSharedUseDisplay);
  ASSERT_TRUE(b);
  ASSERT_TRUE(b->begin_cpu_access(false, true).ok());
  void* p = ::mmap(nullptr, 2 * kMiB, PROT_READ | PROT_WRITE, MAP_SHARED, b->fd(), 0);
  ASSERT_NE(p, MAP_FAILED);
  std::memset(p, 4, 2 * kMiB);
  ::munmap(p, 2 * kMiB);
  auto pl = b->placement();
  ASSERT_TRUE(pl.ok());
  EXPECT_TRUE(pl->placed);
  EXPECT_TRUE(pl->cpu_used);
  // Placed with no constraint (above 4 GiB) and used by the CPU: the
  // display cannot have it and it does not move.
  if (pl->highest_address >= (1ull << 32)) {
    auto d = b->attach(SharedDevice::Display, 4096, 512);
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(b->refusal(), SharedRefusal::DmaMask);
    EXPECT_EQ(b->placement()->migrations, 0u);
  }
}

TEST(SharedBuffer, ImportIntoADeviceAttachesTheGpu) {
  for (const char* spec : {"sim:panthor", "sim:panfrost"}) {
    SCOPED_TRACE(spec);
    std::string why;
    auto dev = Device::open(spec, DeviceOptions{}, &why);
    ASSERT_TRUE(dev.ok()) << why;
    auto b = make(1 * kMiB, kSharedUseGpu | kSharedUseDisplay);
    ASSERT_TRUE(b);
    auto disp = b->attach(SharedDevice::Display, 1024, 1024);  // before the GPU's first use
    ASSERT_TRUE(disp.ok());
    auto bo = b->import_into(**dev);
    ASSERT_TRUE(bo.ok());
    auto p = b->placement();
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->attachments, 2u);
    EXPECT_TRUE(p->placed);  // core binds imports into the device VM at once
    EXPECT_EQ(p->extents, 1u);
    EXPECT_LT(p->highest_address, 1ull << 32);
  }
}

TEST(SharedBuffer, AnUnusedBufferMovesForALateAttach) {
  // 8 MiB for the camera: scattered (blocks of at most 4 MiB); the display
  // then needs one extent, which only the contiguous pool has.
  auto b = make(8 * kMiB, kSharedUseCamera | kSharedUseDisplay);
  ASSERT_TRUE(b);
  auto cam = b->attach(SharedDevice::Camera, 4096, 2048);
  ASSERT_TRUE(cam.ok());
  ASSERT_TRUE(b->map(SharedDevice::Camera, *cam).ok());
  ASSERT_TRUE(b->unmap(SharedDevice::Camera, *cam).ok());
  auto before = b->placement();
  ASSERT_TRUE(before.ok());
  EXPECT_GT(before->extents, 1u);
  EXPECT_FALSE(before->contiguous_pool);
  auto disp = b->attach(SharedDevice::Display, 4096, 2048);
  ASSERT_TRUE(disp.ok());
  auto after = b->placement();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->extents, 1u);
  EXPECT_TRUE(after->contiguous_pool);
  EXPECT_EQ(after->migrations, 1u);
  // Mapped now: the camera still meets it (16 segments of 1 MiB), a second
  // mapping holds it in place.
  ASSERT_TRUE(b->map(SharedDevice::Display, *disp).ok());
  EXPECT_TRUE(b->placement()->in_use);
}

TEST(SharedBuffer, HandOversCountCacheMaintenanceOnlyWhenNeeded) {
  auto b = make(256 * 1024, kSharedUseCamera | kSharedUseGpu);
  ASSERT_TRUE(b);
  auto cam = b->attach(SharedDevice::Camera, 1024, 256);
  ASSERT_TRUE(cam.ok());
  ASSERT_TRUE(b->map(SharedDevice::Camera, *cam).ok());
  auto s0 = SharedBuffer::allocator_stats();
  ASSERT_TRUE(s0.ok());
  EXPECT_GT(s0->contiguous_pool_bytes, 0u);
  // Camera writes, GPU reads: a device-to-device hand-over, nothing to do.
  ASSERT_TRUE(b->use(SharedDevice::Camera, *cam, 1).ok());
  ASSERT_TRUE(b->begin_gpu_access(true, false).ok());
  auto s1 = SharedBuffer::allocator_stats();
  ASSERT_TRUE(s1.ok());
  EXPECT_EQ(s1->cache_flushes, s0->cache_flushes);
  EXPECT_EQ(s1->cache_invalidates, s0->cache_invalidates);
  EXPECT_EQ(s1->cache_ops_avoided, s0->cache_ops_avoided + 2);
  // The CPU writes, then the GPU reads: one clean.
  ASSERT_TRUE(b->begin_cpu_access(false, true).ok());
  ASSERT_TRUE(b->begin_gpu_access(true, false).ok());
  auto s2 = SharedBuffer::allocator_stats();
  ASSERT_TRUE(s2.ok());
  EXPECT_EQ(s2->cache_invalidates, s1->cache_invalidates + 1);  // the camera wrote before the CPU
  EXPECT_EQ(s2->cache_flushes, s1->cache_flushes + 1);
  EXPECT_FALSE(b->begin_gpu_access(false, false).ok());
}

// from_fd: the same allocator buffer behind another fd; anything else is
// refused; the object holds no reference of its own.
TEST(SharedBuffer, FromFdFindsTheAllocatorsBufferOnly) {
  auto b = make(3 * kMiB, kSharedUseGpu | kSharedUseDisplay);
  ASSERT_TRUE(b);
  auto fd = b->export_fd();
  ASSERT_TRUE(fd.ok());
  auto same = SharedBuffer::from_fd(*fd);
  ::close(*fd);
  ASSERT_TRUE(same.ok()) << same.error();
  EXPECT_EQ((*same)->size(), b->size());
  EXPECT_NE((*same)->fd(), b->fd());
  auto a = (*same)->attach(SharedDevice::Display, 4096, 16);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE((*same)->map(SharedDevice::Display, *a).ok());
  auto p = b->placement();  // seen through the creator's object
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->placed);
  EXPECT_EQ(p->extents, 1u);
  ASSERT_TRUE((*same)->unmap(SharedDevice::Display, *a).ok());
  ASSERT_TRUE((*same)->detach(SharedDevice::Display, *a).ok());
  same = Error(-EINVAL);  // drops the from_fd object: the creator's buffer lives on
  EXPECT_TRUE(b->placement().ok());

  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  EXPECT_EQ(SharedBuffer::from_fd(pipefd[0]).error(), -EINVAL);
  ::close(pipefd[0]);
  ::close(pipefd[1]);
  EXPECT_EQ(SharedBuffer::from_fd(pipefd[0]).error(), -EBADF);
  EXPECT_EQ(SharedBuffer::from_fd(-1).error(), -EBADF);
}

}  // namespace
}  // namespace wsys
