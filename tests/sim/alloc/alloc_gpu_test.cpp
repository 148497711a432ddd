// Shared buffers of the model's allocator imported into the model GPUs (a
// model extension): PRIME import is an attach with the GPU's constraints,
// panthor's first VM_BIND and a CPU mmap are first uses, panfrost's import
// is one; EXT_QUERY reports the feature on both drivers; a GPU mapping
// pins the placement against migration; placements are charged to the
// GPU devices' memory budget.
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <ctime>

#include "alloc_test_util.h"
#include "drm-uapi/panfrost_drm.h"
#include "drm-uapi/wsys_sim_ext.h"
#include "sim_test_util.h"
#include "vm/vm_test_util.h"
#include "winsys/sim/shrinker.h"
#include "winsys/sim/sim_device.h"

namespace wsys::sim::test {
namespace {

using namespace vmtest;

struct Shared {
  std::unique_ptr<drm::DrmFile> alloc = open_aux("wsys-alloc");
  std::unique_ptr<drm::DrmFile> display = open_aux("wsys-display");
  int fd = -1;
  uint32_t handle = 0;
  explicit Shared(uint64_t size) {
    EXPECT_EQ(test::alloc(*alloc, size, WSYS_ALLOC_USE_ALL, &fd, &handle), 0);
  }
  ~Shared() {
    if (fd >= 0) ::close(fd);
  }
};

int64_t deadline_ns_in(int64_t ms) {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec + ms * 1000000;
}

int prime_import(SimDrmFile& f, int fd, uint32_t* h) {
  drm_prime_handle p{};
  p.fd = fd;
  int r = f.ioctl(DRM_IOCTL_PRIME_FD_TO_HANDLE, &p);
  if (!r) *h = p.handle;
  return r;
}

TEST(AllocGpu, ExtQueryReportsDeferredAllocOnBothDrivers) {
  for (const char* drv : {"panthor", "panfrost"}) {
    SCOPED_TRACE(drv);
    auto f = open_model_file(drv);
    ASSERT_TRUE(f);
    drm_wsys_sim_ext_query q{};
    ASSERT_EQ(f->ioctl(DRM_IOCTL_WSYS_SIM_EXT_QUERY, &q), 0);
    EXPECT_EQ(q.version, 1u);
    EXPECT_NE(q.features & WSYS_SIM_EXT_FEATURE_DEFERRED_ALLOC, 0u);
  }
}

TEST(AllocGpu, PanthorImportAttachesAndTheFirstBindFinalizes) {
  Shared s(2 * kMiB);
  auto f = open_model_file("panthor");
  ASSERT_TRUE(f);
  uint32_t h = 0;
  ASSERT_EQ(prime_import(*f, s.fd, &h), 0);
  drm_wsys_alloc_query q = query(*s.alloc, s.fd);
  EXPECT_EQ(q.attachments, 1u);
  EXPECT_EQ(q.state & WSYS_ALLOC_STATE_FINALIZED, 0u);
  // Importing again is the same object: no second attachment.
  uint32_t h2 = 0;
  ASSERT_EQ(prime_import(*f, s.fd, &h2), 0);
  EXPECT_EQ(h2, h);
  EXPECT_EQ(query(*s.alloc, s.fd).attachments, 1u);
  uint32_t vm = 0;
  ASSERT_EQ(vm_create(*f, &vm), 0);
  ASSERT_EQ(map_sync(*f, vm, h, 0, 0x100000000ull, 2 * kMiB), 0);
  q = query(*s.alloc, s.fd);
  EXPECT_NE(q.state & WSYS_ALLOC_STATE_FINALIZED, 0u);
  EXPECT_NE(q.state & WSYS_ALLOC_STATE_MAPPED, 0u);
  EXPECT_EQ(q.zone, WSYS_ALLOC_ZONE_NORMAL);  // the GPU alone: anywhere it reaches
  // Mapped by the GPU: a display attach that needs a move is refused.
  uint32_t d = 0, unmet = 0;
  EXPECT_EQ(periph_attach(*s.display, s.fd, 4096, 512, &d, &unmet), -EINVAL);
  EXPECT_EQ(unmet, WSYS_ALLOC_UNMET_DMA_MASK);
  // Closing the GEM object drops the GPU's attachment and its mapping.
  ASSERT_EQ(unmap_sync(*f, vm, 0x100000000ull, 2 * kMiB), 0);
  ASSERT_EQ(gem_close(*f, h), 0);
  EXPECT_EQ(query(*s.alloc, s.fd).attachments, 0u);
  EXPECT_EQ(periph_attach(*s.display, s.fd, 4096, 512, &d, &unmet), 0);
  EXPECT_EQ(query(*s.alloc, s.fd).migrations, 1u);
}

TEST(AllocGpu, DisplayFirstThenGpuBindKeepsTheDisplayPlacement) {
  Shared s(8 * kMiB);
  uint32_t d = 0;
  ASSERT_EQ(periph_attach(*s.display, s.fd, 4096, 2048, &d), 0);
  auto f = open_model_file("panthor");
  ASSERT_TRUE(f);
  uint32_t h = 0, vm = 0;
  ASSERT_EQ(prime_import(*f, s.fd, &h), 0);
  ASSERT_EQ(vm_create(*f, &vm), 0);
  ASSERT_EQ(map_sync(*f, vm, h, 0, 0x100000000ull, 8 * kMiB), 0);
  drm_wsys_alloc_query q = query(*s.alloc, s.fd);
  EXPECT_EQ(q.extent_count, 1u);  // the union: the display's one extent
  EXPECT_LT(q.highest_addr, k4G);
  EXPECT_EQ(q.attachments, 2u);
}

TEST(AllocGpu, CpuMmapOfTheGemObjectIsAFirstUse) {
  Shared s(64 * 1024);
  auto f = open_model_file("panthor");
  ASSERT_TRUE(f);
  uint32_t d = 0, h = 0;
  ASSERT_EQ(periph_attach(*s.display, s.fd, 256, 256, &d), 0);
  ASSERT_EQ(prime_import(*f, s.fd, &h), 0);
  uint8_t* p = bo_mmap(*f, h, 64 * 1024);
  ASSERT_NE(p, nullptr);
  drm_wsys_alloc_query q = query(*s.alloc, s.fd);
  EXPECT_NE(q.state & WSYS_ALLOC_STATE_FINALIZED, 0u);
  EXPECT_NE(q.state & WSYS_ALLOC_STATE_CPU_USED, 0u);
  EXPECT_LT(q.highest_addr, k4G);  // the display attached before the first use
  // The memory is the dma-buf's: the display's scan-out sees the CPU's bytes.
  std::memset(p, 1, 64 * 1024);
  ASSERT_EQ(attach_op(*s.display, DRM_IOCTL_WSYS_PERIPH_MAP, d), 0);
  uint64_t v = 0;
  ASSERT_EQ(periph_use(*s.display, d, &v), 0);
  EXPECT_EQ(v, 64u * 1024);
  ::munmap(p, 64 * 1024);
  // CPU-used: a later attach its placement breaks is refused, not migrated.
  auto camera = open_aux("wsys-camera");
  ASSERT_TRUE(camera);
  drm_wsys_alloc_constraints k{};
  k.dma_mask = 0x7ffffff;  // 128 MiB: this placement is above it
  uint32_t o = 0, unmet = 0;
  if (q.highest_addr > k.dma_mask) {
    EXPECT_EQ(attach(*s.alloc, s.fd, WSYS_ALLOC_DOMAIN_OTHER, k, &o, &unmet), -EINVAL);
    EXPECT_EQ(unmet, WSYS_ALLOC_UNMET_DMA_MASK);
  }
}

TEST(AllocGpu, PanfrostImportIsAFirstUse) {
  Shared s(1 * kMiB);
  auto f = open_model_file("panfrost");
  ASSERT_TRUE(f);
  uint32_t h = 0;
  ASSERT_EQ(prime_import(*f, s.fd, &h), 0);
  drm_wsys_alloc_query q = query(*s.alloc, s.fd);
  EXPECT_NE(q.state & WSYS_ALLOC_STATE_FINALIZED, 0u);
  EXPECT_NE(q.state & WSYS_ALLOC_STATE_MAPPED, 0u);
  ASSERT_EQ(gem_close(*f, h), 0);
  EXPECT_EQ(query(*s.alloc, s.fd).state & WSYS_ALLOC_STATE_MAPPED, 0u);
}

TEST(AllocGpu, PanfrostSubmitIsAGpuAccessForTheCacheDomains) {
  Shared s(64 * 1024);
  auto f = open_model_file("panfrost");
  ASSERT_TRUE(f);
  uint32_t h = 0;
  ASSERT_EQ(prime_import(*f, s.fd, &h), 0);
  drm_panfrost_create_bo jc{};
  jc.size = 4096;
  ASSERT_EQ(f->ioctl(DRM_IOCTL_PANFROST_CREATE_BO, &jc), 0);
  // The CPU writes; a job listing the buffer then needs one clean...
  ASSERT_EQ(sync(*s.alloc, s.fd, WSYS_ALLOC_DOMAIN_CPU, WSYS_ALLOC_SYNC_WRITE), 0);
  const drm_wsys_alloc_stats s0 = stats(*s.alloc);
  uint32_t list[] = {jc.handle, h};
  drm_panfrost_submit sub{};
  sub.jc = jc.offset;  // an empty chain: what the job does is not the point
  sub.bo_handles = reinterpret_cast<uintptr_t>(list);
  sub.bo_handle_count = 2;
  ASSERT_EQ(f->ioctl(DRM_IOCTL_PANFROST_SUBMIT, &sub), 0);
  const drm_wsys_alloc_stats s1 = stats(*s.alloc);
  EXPECT_EQ(s1.cache_flushes, s0.cache_flushes + 1);
  // ...and a second job none.
  ASSERT_EQ(f->ioctl(DRM_IOCTL_PANFROST_SUBMIT, &sub), 0);
  const drm_wsys_alloc_stats s2 = stats(*s.alloc);
  EXPECT_EQ(s2.cache_flushes, s1.cache_flushes);
  EXPECT_EQ(s2.cache_ops_avoided, s1.cache_ops_avoided + 1);
  drm_panfrost_wait_bo w{};
  w.handle = h;
  w.timeout_ns = deadline_ns_in(5000);
  EXPECT_EQ(f->ioctl(DRM_IOCTL_PANFROST_WAIT_BO, &w), 0);
}

TEST(AllocGpu, ImportAfterACameraFirstUseKeepsItsPlacement) {
  // The GPU adds only its physical address mask, which every zone of the
  // model meets: importing a buffer the camera already placed (scattered,
  // under 4 GiB) and binding it changes nothing; the display, needing one
  // extent, is refused while the camera maps it.
  Shared s(8 * kMiB);
  auto camera = open_aux("wsys-camera");
  ASSERT_TRUE(camera);
  uint32_t c = 0, d = 0, unmet = 0, h = 0, vm = 0;
  ASSERT_EQ(periph_attach(*camera, s.fd, 4096, 2048, &c), 0);
  ASSERT_EQ(attach_op(*camera, DRM_IOCTL_WSYS_PERIPH_MAP, c), 0);
  const drm_wsys_alloc_query before = query(*s.alloc, s.fd);
  auto f = open_model_file("panthor");
  ASSERT_TRUE(f);
  ASSERT_EQ(prime_import(*f, s.fd, &h), 0);
  ASSERT_EQ(vm_create(*f, &vm), 0);
  ASSERT_EQ(map_sync(*f, vm, h, 0, 0x100000000ull, 8 * kMiB), 0);
  const drm_wsys_alloc_query after = query(*s.alloc, s.fd);
  EXPECT_EQ(after.first_addr, before.first_addr);
  EXPECT_EQ(after.extent_count, before.extent_count);
  EXPECT_EQ(after.migrations, 0u);
  if (before.extent_count > 1) {
    EXPECT_EQ(periph_attach(*s.display, s.fd, 4096, 2048, &d, &unmet), -EINVAL);
    EXPECT_EQ(unmet, WSYS_ALLOC_UNMET_CONTIGUOUS);
  }
}

// A placement is system memory the GPUs share: charged to each opened GPU
// device's budget (WSYS_SIM_MEMORY_BUDGET) at the first use, not at ALLOC,
// released at FREE; over the budget the first use is -ENOMEM, the buffer
// stays unplaced and a retry with room succeeds.
TEST(AllocGpu, PlacementsAreChargedToTheGpuMemoryBudget) {
  auto gpu = open_model_file("panthor");
  ASSERT_TRUE(gpu);
  SimDevice* dev = SimDevice::get("panthor", nullptr);
  ASSERT_NE(dev, nullptr);
  Shrinker& sh = dev->shrinker();
  const uint64_t budget = sh.budget();
  const uint64_t base = sh.charged();

  Shared a(4 * kMiB);
  EXPECT_EQ(sh.charged(), base) << "no backing, no charge";
  ASSERT_EQ(sync(*a.alloc, a.fd, WSYS_ALLOC_DOMAIN_CPU, WSYS_ALLOC_SYNC_WRITE), 0);
  EXPECT_EQ(sh.charged(), base + 4 * kMiB);

  Shared b(4 * kMiB);
  sh.set_budget(sh.charged() + 1 * kMiB);
  const uint64_t failures = stats(*b.alloc).finalize_failures;
  EXPECT_EQ(sync(*b.alloc, b.fd, WSYS_ALLOC_DOMAIN_CPU, WSYS_ALLOC_SYNC_WRITE), -ENOMEM);
  EXPECT_EQ(query(*b.alloc, b.fd).state & WSYS_ALLOC_STATE_FINALIZED, 0u);
  EXPECT_EQ(stats(*b.alloc).finalize_failures, failures + 1);
  EXPECT_EQ(sh.charged(), base + 4 * kMiB) << "a refused placement charges nothing";
  sh.set_budget(budget);
  ASSERT_EQ(sync(*b.alloc, b.fd, WSYS_ALLOC_DOMAIN_CPU, WSYS_ALLOC_SYNC_WRITE), 0);
  EXPECT_EQ(sh.charged(), base + 8 * kMiB);

  // FREE drops the last reference: the placement and its charge go.
  drm_wsys_alloc_free f{};
  f.handle = b.handle;
  ASSERT_EQ(b.alloc->ioctl(DRM_IOCTL_WSYS_ALLOC_FREE, &f), 0);
  EXPECT_EQ(sh.charged(), base + 4 * kMiB);
  f.handle = a.handle;
  ASSERT_EQ(a.alloc->ioctl(DRM_IOCTL_WSYS_ALLOC_FREE, &f), 0);
  EXPECT_EQ(sh.charged(), base);
}

}  // namespace
}  // namespace wsys::sim::test
