// The model's drm_ioctl(): numbers, sizes, copy-in/copy-out, bad pointers.
#include <linux/ioctl.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstring>

#include "drm-uapi/drm_core.h"
#include "drm-uapi/panfrost_drm.h"
#include "drm-uapi/panthor_drm.h"
#include "sim_test_util.h"
#include "winsys/sim/handle_table.h"

using namespace wsys::sim;
using wsys::sim::test::open_model_file;

TEST(Dispatch, UnknownNumbersAreEinval) {
  auto f = open_model_file("panthor");
  ASSERT_TRUE(f);
  uint64_t buf[8] = {};
  // A core nr the model has no handler for, and a driver nr past the table.
  EXPECT_EQ(f->ioctl(_IOWR('d', 0x3f, uint64_t[2]), buf), -EINVAL);
  EXPECT_EQ(f->ioctl(_IOWR('d', 0x40 + 0x5f, uint64_t[2]), buf), -EINVAL);
  // The first number past panthor 1.9's table (BO_QUERY_INFO is 0x50).
  EXPECT_EQ(f->ioctl(_IOWR('d', 0x51, uint64_t[2]), buf), -EINVAL);
}

TEST(Dispatch, DriverNumbersAreDriverSpecific) {
  auto pt = open_model_file("panthor");
  auto pf = open_model_file("panfrost");
  ASSERT_TRUE(pt && pf);
  // The same nr means different ioctls on the two drivers: panfrost's
  // GET_PARAM (0x44) is panthor's VM_GET_STATE, with another size.
  drm_panfrost_get_param gp{};
  gp.param = DRM_PANFROST_PARAM_GPU_PROD_ID;
  EXPECT_EQ(pf->ioctl(DRM_IOCTL_PANFROST_GET_PARAM, &gp), 0);
  EXPECT_NE(gp.value, 0u);
}

TEST(Dispatch, BadArgumentPointerIsEfault) {
  auto f = open_model_file("panthor");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->ioctl(DRM_IOCTL_VERSION, nullptr), -EFAULT);
  // An unmapped page.
  void* p = mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  EXPECT_EQ(f->ioctl(DRM_IOCTL_VERSION, p), -EFAULT);
  munmap(p, 4096);
}

TEST(Dispatch, VersionCopiesStringsUpToTheUsersLength) {
  auto f = open_model_file("panfrost");
  ASSERT_TRUE(f);
  drm_version v{};
  ASSERT_EQ(f->ioctl(DRM_IOCTL_VERSION, &v), 0);
  EXPECT_EQ(v.name_len, std::strlen("panfrost"));
  EXPECT_EQ(v.version_major, 1);
  char name[4] = {'x', 'x', 'x', 'x'};
  v.name = name;
  v.name_len = 3;
  v.date_len = 0;
  v.desc_len = 0;
  ASSERT_EQ(f->ioctl(DRM_IOCTL_VERSION, &v), 0);
  EXPECT_EQ(std::memcmp(name, "panx", 4), 0);  // only 3 bytes copied
  EXPECT_EQ(v.name_len, 8u);                   // full length reported
  // A bad string pointer is -EFAULT.
  v.name = reinterpret_cast<char*>(8);
  v.name_len = 8;
  EXPECT_EQ(f->ioctl(DRM_IOCTL_VERSION, &v), -EFAULT);
}

TEST(Dispatch, GetCap) {
  auto f = open_model_file("panthor");
  ASSERT_TRUE(f);
  drm_get_cap c{};
  c.capability = DRM_CAP_SYNCOBJ_TIMELINE;
  ASSERT_EQ(f->ioctl(DRM_IOCTL_GET_CAP, &c), 0);
  EXPECT_EQ(c.value, 1u);
  c.capability = DRM_CAP_PRIME;
  ASSERT_EQ(f->ioctl(DRM_IOCTL_GET_CAP, &c), 0);
  EXPECT_EQ(c.value, uint64_t{DRM_PRIME_CAP_IMPORT | DRM_PRIME_CAP_EXPORT});
  c.capability = 0x7777;
  EXPECT_EQ(f->ioctl(DRM_IOCTL_GET_CAP, &c), -EINVAL);
}

TEST(Dispatch, ShorterUserStructIsZeroExtended) {
  // An old userspace passing a 32-byte SYNCOBJ_WAIT (no deadline field) is
  // accepted: the model zero-fills the rest. Here via GEM_CLOSE's smaller
  // cousin: a 4-byte GEM_CLOSE (handle only) closes the handle; the
  // missing pad reads as zero.
  auto f = open_model_file("panthor");
  ASSERT_TRUE(f);
  drm_gem_close c{};
  c.handle = 12345;
  EXPECT_EQ(f->ioctl(_IOW('d', 0x09, uint32_t), &c), -EINVAL);  // unknown handle
}

TEST(HandleTable, LowestFreeHandleFirst) {
  HandleTable<int> t;
  EXPECT_EQ(t.insert(std::make_shared<int>(1)), 1u);
  EXPECT_EQ(t.insert(std::make_shared<int>(2)), 2u);
  EXPECT_EQ(t.insert(std::make_shared<int>(3)), 3u);
  ASSERT_TRUE(t.remove(2));
  EXPECT_FALSE(t.remove(2));
  EXPECT_FALSE(t.get(2));
  EXPECT_EQ(t.insert(std::make_shared<int>(4)), 2u);
  EXPECT_EQ(*t.get(2), 4);
  EXPECT_EQ(t.size(), 3u);
  EXPECT_FALSE(t.get(0));
  EXPECT_FALSE(t.get(99));
}
