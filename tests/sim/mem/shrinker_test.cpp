// The device budget and the shrinker: what is purged and what never is,
// content of live objects after pressure, -ENOMEM only when nothing
// purgeable is left, the process's memory really dropping, and mappings
// torn down.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <random>
#include <thread>
#include <vector>

#include "mem_test_util.h"

namespace wsys::sim::memtest {
namespace {

class Shrink : public ::testing::Test {
 public:
  void SetUp() override {
    f = open_model_file("panfrost");
    ASSERT_TRUE(f);
    dev = panfrost_device(*f);
  }
  // Creates, fills and checksums an object.
  uint32_t make(uint64_t size, uint32_t seed, uint64_t* sum) {
    uint32_t h = 0;
    EXPECT_EQ(pf_create(*f, size, &h), 0);
    uint8_t* p = pf_mmap(*f, h, size);
    EXPECT_TRUE(p);
    if (!p) return h;
    fill(p, size, seed);
    *sum = checksum(p, size);
    munmap(p, size);
    return h;
  }
  uint64_t sum_of(uint32_t h, uint64_t size) {
    uint8_t* p = pf_mmap(*f, h, size);
    EXPECT_TRUE(p);
    if (!p) return 0;
    uint64_t s = checksum(p, size);
    munmap(p, size);
    return s;
  }
  bool retained(uint32_t h) {
    uint32_t r = 7;
    EXPECT_EQ(pf_madvise(*f, h, PANFROST_MADV_WILLNEED, &r), 0);
    return r == 1;
  }
  std::unique_ptr<SimDrmFile> f;
  SimDevice* dev = nullptr;
};

TEST_F(Shrink, DontNeedObjectsArePurgedOldestFirstUnderPressure) {
  BudgetOverride budget(dev, 4 * kMiB);
  uint64_t sa, sb, sc, sd;
  uint32_t a = make(kMiB, 1, &sa), b = make(kMiB, 2, &sb), c = make(kMiB, 3, &sc),
           d = make(kMiB, 4, &sd);
  ASSERT_EQ(pf_madvise(*f, b, PANFROST_MADV_DONTNEED), 0);
  ASSERT_EQ(pf_madvise(*f, a, PANFROST_MADV_DONTNEED), 0);
  ASSERT_EQ(pf_madvise(*f, d, PANFROST_MADV_DONTNEED), 0);
  const auto before = dev->shrinker().stats();
  uint32_t e = 0;
  ASSERT_EQ(pf_create(*f, 2 * kMiB, &e), 0) << "the shrinker makes room";
  const auto after = dev->shrinker().stats();
  EXPECT_EQ(after.purges - before.purges, 2u);
  EXPECT_EQ(after.purged_bytes - before.purged_bytes, 2 * kMiB);
  // b and a were marked first.
  EXPECT_FALSE(retained(b));
  EXPECT_FALSE(retained(a));
  EXPECT_TRUE(retained(d));
  EXPECT_TRUE(retained(c));
  EXPECT_EQ(sum_of(c, kMiB), sc);
  EXPECT_EQ(sum_of(d, kMiB), sd);
  (void)sa;
  (void)sb;
}

TEST_F(Shrink, BusyExportedImportedPinnedLockedAndWillNeedObjectsAreNeverPurged) {
  // An object imported from the other model device (imported() is true).
  auto other = open_model_file("panthor");
  ASSERT_TRUE(other);
  drm_panthor_bo_create pc{};
  pc.size = kMiB;
  ASSERT_EQ(other->ioctl(DRM_IOCTL_PANTHOR_BO_CREATE, &pc), 0);
  auto fd = other->prime_handle_to_fd(pc.handle, DRM_CLOEXEC | DRM_RDWR);
  ASSERT_TRUE(fd.ok());
  auto imported = f->prime_fd_to_handle(*fd);
  ASSERT_TRUE(imported.ok());
  close(*fd);
  ASSERT_TRUE(f->file().lookup_bo(*imported)->imported());
  const uint32_t imp = *imported;

  BudgetOverride budget(dev, 5 * kMiB);
  uint64_t s[5];
  uint32_t busy = make(kMiB, 10, &s[0]), exported = make(kMiB, 11, &s[1]),
           pinned = make(kMiB, 12, &s[2]), locked = make(kMiB, 13, &s[3]),
           willneed = make(kMiB, 14, &s[4]);
  f->file().lookup_bo(busy)->gpu_busy++;
  auto efd = f->prime_handle_to_fd(exported, DRM_CLOEXEC);
  ASSERT_TRUE(efd.ok());
  f->file().lookup_bo(pinned)->pinned++;
  for (uint32_t h : {busy, exported, pinned, locked, imp})
    ASSERT_EQ(pf_madvise(*f, h, PANFROST_MADV_DONTNEED), 0);
  SimBoPtr locked_bo = f->file().lookup_bo(locked);
  const auto before = dev->shrinker().stats();
  uint32_t h = 0;
  {
    std::lock_guard<std::mutex> g(locked_bo->resv);  // try-lock fails
    EXPECT_EQ(pf_create(*f, kMiB, &h), -ENOMEM) << "nothing purgeable";
  }
  EXPECT_EQ(dev->shrinker().stats().purges, before.purges);
  for (uint32_t x : {busy, exported, pinned, locked, willneed, imp})
    EXPECT_TRUE(retained(x)) << x;
  EXPECT_EQ(sum_of(busy, kMiB), s[0]);
  EXPECT_EQ(sum_of(exported, kMiB), s[1]);
  EXPECT_EQ(sum_of(pinned, kMiB), s[2]);
  EXPECT_EQ(sum_of(locked, kMiB), s[3]);
  EXPECT_EQ(sum_of(willneed, kMiB), s[4]);
  // Once the job is done the busy object is fair game again.
  ASSERT_EQ(pf_madvise(*f, busy, PANFROST_MADV_DONTNEED), 0);
  f->file().lookup_bo(busy)->gpu_busy--;
  EXPECT_EQ(pf_create(*f, kMiB, &h), 0);
  EXPECT_FALSE(retained(busy));
  f->file().lookup_bo(pinned)->pinned--;
  close(*efd);
}

TEST_F(Shrink, EnomemOnlyWhenNothingPurgeableIsLeft) {
  BudgetOverride budget(dev, 2 * kMiB);
  uint64_t sa;
  uint32_t a = make(2 * kMiB, 5, &sa);
  uint32_t h = 0;
  const uint64_t live = dev->live_bos();
  EXPECT_EQ(pf_create(*f, kMiB, &h), -ENOMEM);
  EXPECT_EQ(dev->live_bos(), live) << "no object left behind";
  EXPECT_EQ(sum_of(a, 2 * kMiB), sa);
  ASSERT_EQ(pf_madvise(*f, a, PANFROST_MADV_DONTNEED), 0);
  EXPECT_EQ(pf_create(*f, kMiB, &h), 0);
  EXPECT_FALSE(retained(a));
  // Larger than the whole budget: never fits, nothing is purged for it.
  const auto before = dev->shrinker().stats();
  EXPECT_EQ(pf_create(*f, 64 * kMiB, &h), -ENOMEM);
  EXPECT_EQ(dev->shrinker().stats().purges, before.purges);
}

TEST_F(Shrink, LiveObjectsKeepTheirContentUnderHeavyPressure) {
  BudgetOverride budget(dev, 16 * kMiB);
  struct Obj {
    uint64_t size, sum;
    bool dontneed;
  };
  std::map<uint32_t, Obj> objs;
  std::mt19937 rng(42);
  int enomem = 0;
  for (int i = 0; i < 300; i++) {
    const uint64_t size = (1 + rng() % 16) * 64 * kKiB;
    uint32_t h = 0;
    int r = pf_create(*f, size, &h);
    if (r == -ENOMEM) {
      enomem++;
      // Only when nothing purgeable was left: every DONTNEED object here
      // is purgeable, so the list must be empty of live unpurged ones.
      for (auto& [hh, o] : objs)
        if (o.dontneed) {
          EXPECT_TRUE(f->file().lookup_bo(hh)->purged()) << hh;
        }
      // Free a WILLNEED object to continue.
      for (auto it = objs.begin(); it != objs.end(); ++it) {
        if (!it->second.dontneed) {
          ASSERT_EQ(gem_close(*f, it->first), 0);
          objs.erase(it);
          break;
        }
      }
      continue;
    }
    ASSERT_EQ(r, 0);
    uint8_t* p = pf_mmap(*f, h, size);
    ASSERT_TRUE(p);
    fill(p, size, static_cast<uint32_t>(i));
    Obj o{size, checksum(p, size), rng() % 2 == 0};
    munmap(p, size);
    if (o.dontneed) {
      ASSERT_EQ(pf_madvise(*f, h, PANFROST_MADV_DONTNEED), 0);
    }
    objs[h] = o;
  }
  EXPECT_GT(dev->shrinker().stats().purges, 0u);
  int purged = 0;
  for (auto& [h, o] : objs) {
    SimBoPtr bo = f->file().lookup_bo(h);
    ASSERT_TRUE(bo);
    if (bo->purged()) {
      EXPECT_TRUE(o.dontneed) << "a WILLNEED object was purged";
      EXPECT_FALSE(retained(h));
      purged++;
      continue;
    }
    EXPECT_EQ(sum_of(h, o.size), o.sum) << "object " << h << " lost its content";
  }
  EXPECT_GT(purged, 0);
  EXPECT_LE(dev->shrinker().stats().charged, dev->shrinker().budget());
}

// Pages of `p` resident according to mincore.
size_t resident_pages(const void* p, uint64_t size) {
  std::vector<unsigned char> v(size / 4096);
  if (mincore(const_cast<void*>(p), size, v.data()) != 0) return 0;
  size_t n = 0;
  for (unsigned char c : v) n += c & 1;
  return n;
}

uint64_t statm_resident_bytes() {
  FILE* fp = fopen("/proc/self/statm", "r");
  unsigned long size = 0, res = 0;
  if (fp) {
    if (fscanf(fp, "%lu %lu", &size, &res) != 2) res = 0;
    fclose(fp);
  }
  return static_cast<uint64_t>(res) * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

TEST_F(Shrink, PurgeFreesThePagesTearsDownTheGpuMappingAndCpuAccessFaults) {
  const uint64_t size = 8 * kMiB;
  uint32_t h = 0;
  uint64_t va = 0;
  ASSERT_EQ(pf_create(*f, size, &h, &va), 0);
  uint8_t* p = pf_mmap(*f, h, size);
  ASSERT_TRUE(p);
  std::memset(p, 0x5a, size);
  EXPECT_EQ(resident_pages(p, size), size / 4096);
  const uint64_t rss_before = statm_resident_bytes();
  SimVmPtr vm = f->file().panfrost_vm();
  ASSERT_TRUE(vm);
  uint64_t start;
  SimMapping m;
  ASSERT_TRUE(vm->find_mapping(va, &start, &m));
  m = SimMapping{};

  ASSERT_EQ(pf_madvise(*f, h, PANFROST_MADV_DONTNEED), 0);
  ASSERT_GE(dev->shrinker().shrink(size), size);
  EXPECT_EQ(resident_pages(p, size), 0u);
  const uint64_t rss_after = statm_resident_bytes();
  EXPECT_GE(rss_before, rss_after + size / 2) << "process memory did not drop";
  EXPECT_FALSE(vm->find_mapping(va, &start, &m)) << "GPU mapping not torn down";
  uint32_t retained = 1;
  ASSERT_EQ(pf_madvise(*f, h, PANFROST_MADV_WILLNEED, &retained), 0);
  EXPECT_EQ(retained, 0u);

  // The old CPU mapping faults with SIGBUS, as on the kernel.
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    struct sigaction sa {};
    sa.sa_handler = [](int) { _exit(42); };
    sigaction(SIGBUS, &sa, nullptr);
    volatile uint8_t v = p[4096];
    (void)v;
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 42) << "reading a purged object did not fault";
  munmap(p, size);
  // Closing the purged object is clean (its VA is given back).
  EXPECT_EQ(gem_close(*f, h), 0);
}

// Several files allocate, mark, read back and close concurrently under a
// small budget: every object that WILLNEED reports as retained has its
// content, every failure is -ENOMEM, nothing crashes (TSan runs this).
TEST(ShrinkStress, ConcurrentFilesUnderPressure) {
  auto probe = open_model_file("panfrost");
  ASSERT_TRUE(probe);
  SimDevice* dev = panfrost_device(*probe);
  BudgetOverride budget(dev, 6 * kMiB);
  const uint64_t purges0 = dev->shrinker().stats().purges;
  constexpr int kThreads = 4, kIters = 60;
  constexpr uint64_t kSize = 128 * kKiB;
  std::vector<std::thread> threads;
  std::atomic<int> bad{0}, lost{0};
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      auto f = open_model_file("panfrost");
      if (!f) {
        bad++;
        return;
      }
      std::vector<std::pair<uint32_t, uint64_t>> live;  // handle, checksum
      for (int i = 0; i < kIters; i++) {
        uint32_t h = 0;
        int r = pf_create(*f, kSize, &h);
        if (r == -ENOMEM) {
          if (!live.empty()) {
            gem_close(*f, live.front().first);
            live.erase(live.begin());
          }
          continue;
        }
        if (r != 0) {
          bad++;
          continue;
        }
        uint8_t* p = pf_mmap(*f, h, kSize);
        if (!p) {
          bad++;
          continue;
        }
        fill(p, kSize, static_cast<uint32_t>(t * 1000 + i));
        uint64_t sum = checksum(p, kSize);
        munmap(p, kSize);
        if (pf_madvise(*f, h, PANFROST_MADV_DONTNEED) != 0) bad++;
        live.emplace_back(h, sum);
        // Take an older object back: if retained, its content is intact.
        if (live.size() > 3) {
          auto [oh, osum] = live[live.size() / 2];
          uint32_t ret = 7;
          if (pf_madvise(*f, oh, PANFROST_MADV_WILLNEED, &ret) != 0) bad++;
          if (ret == 1) {
            uint8_t* q = pf_mmap(*f, oh, kSize);
            if (!q || checksum(q, kSize) != osum) lost++;
            if (q) munmap(q, kSize);
            pf_madvise(*f, oh, PANFROST_MADV_DONTNEED);
          } else if (ret != 0) {
            bad++;
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(lost.load(), 0) << "a retained object lost its content";
  EXPECT_GT(dev->shrinker().stats().purges, purges0);
}

}  // namespace
}  // namespace wsys::sim::memtest
