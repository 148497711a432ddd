// panfrost MADVISE: validation order (handle, then madv), retained, and the
// shrinker list it maintains.
#include "mem_test_util.h"

namespace wsys::sim::memtest {
namespace {

class Madvise : public ::testing::Test {
 public:
  void SetUp() override {
    f = open_model_file("panfrost");
    ASSERT_TRUE(f);
  }
  ShrinkerStats stats() { return panfrost_device(*f)->shrinker().stats(); }
  std::unique_ptr<SimDrmFile> f;
};

TEST_F(Madvise, UnknownHandleIsEnoentBeforeTheMadvCheck) {
  EXPECT_EQ(pf_madvise(*f, 0, PANFROST_MADV_DONTNEED), -ENOENT);
  EXPECT_EQ(pf_madvise(*f, 77, PANFROST_MADV_WILLNEED), -ENOENT);
  EXPECT_EQ(pf_madvise(*f, 77, 5), -ENOENT) << "the handle is looked up first";
}

TEST_F(Madvise, UnknownMadvIsEinvalAndChangesNothing) {
  uint32_t h = 0;
  ASSERT_EQ(pf_create(*f, 64 * kKiB, &h), 0);
  const auto before = stats();
  EXPECT_EQ(pf_madvise(*f, h, 2), -EINVAL);
  EXPECT_EQ(pf_madvise(*f, h, 0xffffffffu), -EINVAL);
  EXPECT_EQ(stats().dontneed_objects, before.dontneed_objects);
  SimBoPtr bo = f->file().lookup_bo(h);
  ASSERT_TRUE(bo);
  EXPECT_EQ(bo->madv.load(), SimBo::kMadvWillNeed);
}

TEST_F(Madvise, LiveObjectIsRetainedAndTheListFollowsTheAdvice) {
  uint32_t h = 0, h2 = 0;
  ASSERT_EQ(pf_create(*f, 64 * kKiB, &h), 0);
  ASSERT_EQ(pf_create(*f, 128 * kKiB, &h2), 0);
  const auto base = stats();
  uint32_t retained = 0;
  ASSERT_EQ(pf_madvise(*f, h, PANFROST_MADV_DONTNEED, &retained), 0);
  EXPECT_EQ(retained, 1u);
  EXPECT_EQ(stats().dontneed_objects, base.dontneed_objects + 1);
  EXPECT_EQ(stats().dontneed_bytes, base.dontneed_bytes + 64 * kKiB);
  // DONTNEED twice keeps one entry.
  ASSERT_EQ(pf_madvise(*f, h, PANFROST_MADV_DONTNEED, &retained), 0);
  EXPECT_EQ(stats().dontneed_objects, base.dontneed_objects + 1);
  ASSERT_EQ(pf_madvise(*f, h2, PANFROST_MADV_DONTNEED, &retained), 0);
  EXPECT_EQ(stats().dontneed_bytes, base.dontneed_bytes + 192 * kKiB);
  ASSERT_EQ(pf_madvise(*f, h, PANFROST_MADV_WILLNEED, &retained), 0);
  EXPECT_EQ(retained, 1u);
  EXPECT_EQ(stats().dontneed_objects, base.dontneed_objects + 1);
  EXPECT_EQ(stats().dontneed_bytes, base.dontneed_bytes + 128 * kKiB);
  // Closing a DONTNEED object takes it off the list.
  ASSERT_EQ(gem_close(*f, h2), 0);
  EXPECT_EQ(stats().dontneed_objects, base.dontneed_objects);
  EXPECT_EQ(stats().dontneed_bytes, base.dontneed_bytes);
}

TEST_F(Madvise, PurgedObjectReportsRetainedZeroForeverAndStaysEmpty) {
  uint32_t h = 0, keep = 0;
  const uint64_t size = 256 * kKiB;
  ASSERT_EQ(pf_create(*f, size, &h), 0);
  ASSERT_EQ(pf_create(*f, size, &keep), 0);
  uint8_t* p = pf_mmap(*f, h, size);
  ASSERT_TRUE(p);
  fill(p, size, 1);
  munmap(p, size);
  ASSERT_EQ(pf_madvise(*f, h, PANFROST_MADV_DONTNEED), 0);
  SimDevice* dev = panfrost_device(*f);
  ASSERT_GE(dev->shrinker().shrink(size), size);
  uint32_t retained = 1;
  ASSERT_EQ(pf_madvise(*f, h, PANFROST_MADV_WILLNEED, &retained), 0);
  EXPECT_EQ(retained, 0u);
  ASSERT_EQ(pf_madvise(*f, h, PANFROST_MADV_DONTNEED, &retained), 0);
  EXPECT_EQ(retained, 0u) << "purged is final";
  ASSERT_EQ(pf_madvise(*f, h, PANFROST_MADV_WILLNEED, &retained), 0);
  EXPECT_EQ(retained, 0u);
  SimBoPtr bo = f->file().lookup_bo(h);
  ASSERT_TRUE(bo);
  EXPECT_TRUE(bo->purged());
  EXPECT_EQ(lseek(bo->memfd(), 0, SEEK_END), 0) << "no content left";
  // The untouched object is still WILLNEED and retained.
  ASSERT_EQ(pf_madvise(*f, keep, PANFROST_MADV_WILLNEED, &retained), 0);
  EXPECT_EQ(retained, 1u);
}

}  // namespace
}  // namespace wsys::sim::memtest
