// Accounting: per object, VM, file and device figures match what was
// created, marked and purged; fdinfo text; the budget variable's parser.
#include <dirent.h>
#include <sys/resource.h>

#include <string>
#include <vector>

#include "mem_test_util.h"

namespace wsys::sim::memtest {
namespace {

TEST(Accounting, PerObjectFileVmAndDeviceMatchWhatWasCreated) {
  auto f = open_model_file("panfrost");
  ASSERT_TRUE(f);
  SimDevice* dev = panfrost_device(*f);
  const SimDeviceUsage dev0 = sim_device_usage(*dev);
  const SimUsage empty = sim_file_usage(f->file());
  EXPECT_EQ(empty.objects, 0u);
  EXPECT_EQ(empty.total, 0u);

  uint32_t a = 0, b = 0, c = 0;
  ASSERT_EQ(pf_create(*f, 64 * kKiB, &a), 0);
  ASSERT_EQ(pf_create(*f, 3 * kMiB, &b), 0);
  ASSERT_EQ(pf_create(*f, 5000, &c), 0);  // page-aligned to 8 KiB
  const uint64_t total = 64 * kKiB + 3 * kMiB + 8 * kKiB;

  SimUsage bu = sim_bo_usage(*f->file().lookup_bo(b));
  EXPECT_EQ(bu.objects, 1u);
  EXPECT_EQ(bu.total, 3 * kMiB);
  EXPECT_EQ(bu.resident, 3 * kMiB);
  EXPECT_EQ(bu.purgeable, 0u);
  EXPECT_EQ(bu.purged, 0u);

  SimUsage fu = sim_file_usage(f->file());
  EXPECT_EQ(fu.objects, 3u);
  EXPECT_EQ(fu.total, total);
  EXPECT_EQ(fu.resident, total);
  EXPECT_EQ(fu.shared, 0u);
  SimUsage vu = sim_vm_usage(*f->file().panfrost_vm());
  EXPECT_EQ(vu.objects, 3u) << "panfrost maps every object in the file's VM";
  EXPECT_EQ(vu.total, total);

  SimDeviceUsage du = sim_device_usage(*dev);
  EXPECT_EQ(du.objects, dev0.objects + 3);
  EXPECT_EQ(du.charged, dev0.charged + total);

  // DONTNEED: purgeable; purged: neither resident nor purgeable.
  ASSERT_EQ(pf_madvise(*f, b, PANFROST_MADV_DONTNEED), 0);
  fu = sim_file_usage(f->file());
  EXPECT_EQ(fu.purgeable, 3 * kMiB);
  EXPECT_EQ(fu.resident, total);
  ASSERT_EQ(dev->shrinker().shrink(1), 3 * kMiB);
  fu = sim_file_usage(f->file());
  EXPECT_EQ(fu.purgeable, 0u);
  EXPECT_EQ(fu.purged, 3 * kMiB);
  EXPECT_EQ(fu.resident, total - 3 * kMiB);
  EXPECT_EQ(fu.total, total);
  vu = sim_vm_usage(*f->file().panfrost_vm());
  EXPECT_EQ(vu.objects, 2u) << "the purged object is no longer mapped";
  du = sim_device_usage(*dev);
  EXPECT_EQ(du.charged, dev0.charged + total - 3 * kMiB);
  EXPECT_EQ(du.purges, dev0.purges + 1);
  EXPECT_EQ(du.purged_total, dev0.purged_total + 3 * kMiB);

  // Exported objects are shared.
  auto fd = f->prime_handle_to_fd(a, DRM_CLOEXEC);
  ASSERT_TRUE(fd.ok());
  EXPECT_EQ(sim_file_usage(f->file()).shared, 64 * kKiB);
  close(*fd);

  std::string info = sim_file_fdinfo(f->file());
  EXPECT_NE(info.find("drm-driver:\tpanfrost\n"), std::string::npos) << info;
  EXPECT_NE(info.find("drm-total-memory:\t" + std::to_string(total / 1024) + " KiB\n"),
            std::string::npos)
      << info;
  EXPECT_NE(info.find("drm-resident-memory:\t" + std::to_string((total - 3 * kMiB) / 1024) +
                      " KiB\n"),
            std::string::npos)
      << info;
  EXPECT_NE(info.find("drm-purgeable-memory:\t0 KiB\n"), std::string::npos) << info;

  // Closing everything returns the charge.
  ASSERT_EQ(gem_close(*f, a), 0);
  ASSERT_EQ(gem_close(*f, b), 0);
  ASSERT_EQ(gem_close(*f, c), 0);
  EXPECT_EQ(sim_file_usage(f->file()).objects, 0u);
  EXPECT_EQ(sim_device_usage(*dev).charged, dev0.charged);
}

TEST(Accounting, HeapObjectsCountOnlyCommittedBlocks) {
  auto f = open_model_file("panfrost");
  ASSERT_TRUE(f);
  SimDevice* dev = panfrost_device(*f);
  const uint64_t charged0 = dev->shrinker().stats().charged;
  uint32_t h = 0;
  int r = pf_create(*f, 5 * kMiB, &h, nullptr, PANFROST_BO_NOEXEC | PANFROST_BO_HEAP);
  if (r == -EOPNOTSUPP) GTEST_SKIP() << "HEAP objects not modelled in this tree";
  ASSERT_EQ(r, 0);
  SimUsage u = sim_bo_usage(*f->file().lookup_bo(h));
  EXPECT_EQ(u.total, 6 * kMiB) << "rounded up to 2 MiB";
  EXPECT_EQ(u.resident, 0u);
  EXPECT_EQ(u.heap_committed, 0u);
  EXPECT_EQ(dev->shrinker().stats().charged, charged0) << "heaps are charged per block";
  // A committed block (what the GPU fault handler does) is resident.
  SimBoPtr bo = f->file().lookup_bo(h);
  ASSERT_TRUE(dev->try_charge(2 * kMiB));
  bo->heap_committed += 2 * kMiB;
  u = sim_file_usage(f->file());
  EXPECT_EQ(u.resident, 2 * kMiB);
  EXPECT_EQ(u.heap_committed, 2 * kMiB);
  bo.reset();
  ASSERT_EQ(gem_close(*f, h), 0);
  EXPECT_EQ(dev->shrinker().stats().charged, charged0) << "committed blocks uncharged";
}

TEST(Budget, ParsesSizesWithSuffixes) {
  uint64_t v = 0;
  EXPECT_TRUE(parse_byte_size("4096", &v));
  EXPECT_EQ(v, 4096u);
  EXPECT_TRUE(parse_byte_size("64K", &v));
  EXPECT_EQ(v, 64u << 10);
  EXPECT_TRUE(parse_byte_size("3m", &v));
  EXPECT_EQ(v, 3u << 20);
  EXPECT_TRUE(parse_byte_size("2G", &v));
  EXPECT_EQ(v, 2ull << 30);
  EXPECT_TRUE(parse_byte_size("1T", &v));
  EXPECT_EQ(v, 1ull << 40);
  for (const char* bad : {"", "0", "-1", "12Q", "1KB", "K", " 5", "5 ", "99999999999999999999",
                          "17179869184T"})
    EXPECT_FALSE(parse_byte_size(bad, &v)) << bad;
}

TEST(Budget, BadEnvironmentValueNamesTheVariable) {
  const char* old = getenv("WSYS_SIM_MEMORY_BUDGET");
  std::string saved = old ? old : "";
  setenv("WSYS_SIM_MEMORY_BUDGET", "lots", 1);
  uint64_t v = 0;
  std::string why;
  EXPECT_FALSE(memory_budget_from_env(&v, &why));
  EXPECT_NE(why.find("WSYS_SIM_MEMORY_BUDGET"), std::string::npos) << why;
  EXPECT_NE(why.find("lots"), std::string::npos) << why;
  setenv("WSYS_SIM_MEMORY_BUDGET", "256M", 1);
  EXPECT_TRUE(memory_budget_from_env(&v, &why));
  EXPECT_EQ(v, 256ull << 20);
  unsetenv("WSYS_SIM_MEMORY_BUDGET");
  EXPECT_TRUE(memory_budget_from_env(&v, &why));
  EXPECT_GE(v, 16ull << 30) << "generous default";
  if (old) setenv("WSYS_SIM_MEMORY_BUDGET", saved.c_str(), 1);
}

// The model backs each object with a memfd, but the kernel's objects take
// no file descriptor: with the process out of them, creation fails the way
// the kernel's does (-ENOMEM), charges nothing, and works again once there
// is room.
TEST(HostLimits, OutOfFileDescriptorsIsENOMEM) {
  auto f = open_model_file("panfrost");
  ASSERT_TRUE(f);
  SimDevice* dev = panfrost_device(*f);
  const SimDeviceUsage before = sim_device_usage(*dev);
  int open_fds = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (readdir(d)) ++open_fds;
    closedir(d);
  }
  ASSERT_GT(open_fds, 0);
  rlimit old{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &old), 0);
  rlimit low = old;
  low.rlim_cur = static_cast<rlim_t>(open_fds) + 8;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  std::vector<uint32_t> made;
  int r = 0;
  for (int i = 0; i < 64 && r == 0; ++i) {
    uint32_t h = 0;
    r = pf_create(*f, 64 * kKiB, &h);
    if (r == 0) made.push_back(h);
  }
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &old), 0);
  EXPECT_EQ(r, -ENOMEM) << "not -EMFILE: the kernel has no such limit";
  EXPECT_LT(made.size(), 64u);
  EXPECT_EQ(sim_file_usage(f->file()).total, made.size() * 64 * kKiB);
  EXPECT_EQ(sim_device_usage(*dev).charged, before.charged + made.size() * 64 * kKiB)
      << "the failure charged nothing";
  for (uint32_t h : made) EXPECT_EQ(gem_close(*f, h), 0);
  uint32_t h = 0;
  EXPECT_EQ(pf_create(*f, 64 * kKiB, &h), 0);
  EXPECT_EQ(gem_close(*f, h), 0);
  EXPECT_EQ(sim_device_usage(*dev).total, before.total);
}

}  // namespace
}  // namespace wsys::sim::memtest
