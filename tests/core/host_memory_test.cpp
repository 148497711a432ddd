// Device::import_host on the kernel model (both drivers): which path the
// policy takes for each mode, size and kind of memory, what each side sees,
// the statistics and labels, invalidation, RLIMIT_MEMLOCK.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "model_jobs.h"
#include "wsys/device.hpp"

namespace wsys {
namespace {

using test::deadline_ms;
using test::Jobs;

constexpr uint64_t kSmall = 16 * 1024, kLarge = 128 * 1024;

std::shared_ptr<Device> open_model(const std::string& driver, uint64_t steal_min = 64 * 1024) {
  DeviceOptions opt;
  opt.cache_from_env = false;
  opt.host_steal_min_bytes = steal_min;
  std::string why;
  auto d = Device::open("sim:" + driver, opt, &why);
  EXPECT_TRUE(d.ok()) << why;
  return d.ok() ? *d : nullptr;
}

uint8_t* anon(uint64_t size, int flags = MAP_PRIVATE) {
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, flags | MAP_ANONYMOUS, -1, 0);
  EXPECT_NE(p, MAP_FAILED);
  return p == MAP_FAILED ? nullptr : static_cast<uint8_t*>(p);
}
void fill(uint8_t* p, uint64_t n, uint8_t seed) {
  for (uint64_t i = 0; i < n; i++) p[i] = static_cast<uint8_t>(seed ^ (i * 13));
}
bool has(const uint8_t* p, uint64_t n, uint8_t seed) {
  for (uint64_t i = 0; i < n; i++)
    if (p[i] != static_cast<uint8_t>(seed ^ (i * 13))) return false;
  return true;
}
uint64_t label_live(const DeviceStats& s, const char* label) {
  for (const LabelUsage& l : s.labels)
    if (l.label == label) return l.bos_live;
  return 0;
}

class HostMemory : public ::testing::TestWithParam<std::string> {};

TEST_P(HostMemory, DeviceReportsTheModelExtension) {
  auto dev = open_model(GetParam());
  ASSERT_TRUE(dev);
  EXPECT_TRUE(dev->info().host_import);
  EXPECT_EQ(dev->info().udmabuf, access("/dev/udmabuf", R_OK | W_OK) == 0);
}

TEST_P(HostMemory, LargeDiscardUploadsAreStolenSmallOnesCopied) {
  auto dev = open_model(GetParam());
  ASSERT_TRUE(dev);
  uint8_t* big = anon(kLarge);
  fill(big, kLarge, 7);
  HostImportPath path{};
  auto b = dev->import_host(big, kLarge, HostMemoryMode::UploadDiscard, &path);
  ASSERT_TRUE(b.ok()) << b.error();
  EXPECT_EQ(path, HostImportPath::Steal);
  EXPECT_TRUE(has(static_cast<uint8_t*>(dev->gpu_view((*b)->gpu_va())), kLarge, 7));
  EXPECT_EQ(big[0] | big[kLarge - 1], 0);  // the pages left the range
  EXPECT_EQ((*b)->label(), "host:steal");

  uint8_t* small = anon(kSmall);
  fill(small, kSmall, 9);
  auto c = dev->import_host(small, kSmall, HostMemoryMode::UploadDiscard, &path);
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(path, HostImportPath::Copy);
  EXPECT_TRUE(has(static_cast<uint8_t*>(dev->gpu_view((*c)->gpu_va())), kSmall, 9));
  EXPECT_TRUE(has(small, kSmall, 9));

  DeviceStats s = dev->stats();
  EXPECT_EQ(s.host_steals, 1u);
  EXPECT_EQ(s.host_copies, 1u);
  EXPECT_EQ(label_live(s, "host:steal"), 1u);
  EXPECT_EQ(label_live(s, "host:copy"), 1u);
  b = Error(-EINVAL);
  c = Error(-EINVAL);
  EXPECT_EQ(label_live(dev->stats(), "host:steal"), 0u);
  munmap(big, kLarge);
  munmap(small, kSmall);
}

TEST_P(HostMemory, SharedMemoryUploadsAndKeepUploadsAreCopied) {
  auto dev = open_model(GetParam());
  ASSERT_TRUE(dev);
  uint8_t* shared = anon(kLarge, MAP_SHARED);
  fill(shared, kLarge, 3);
  HostImportPath path{};
  auto b = dev->import_host(shared, kLarge, HostMemoryMode::UploadDiscard, &path);
  ASSERT_TRUE(b.ok()) << b.error();
  EXPECT_EQ(path, HostImportPath::Copy);  // not stealable
  uint8_t* priv = anon(kLarge);
  fill(priv, kLarge, 4);
  auto c = dev->import_host(priv, kLarge, HostMemoryMode::UploadKeep, &path);
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(path, HostImportPath::Copy);
  EXPECT_TRUE(has(priv, kLarge, 4));
  auto m = (*c)->map();
  ASSERT_TRUE(m.ok());
  static_cast<uint8_t*>(*m)[0] ^= 0xff;  // the GPU-side copy is its own
  EXPECT_TRUE(has(priv, kLarge, 4));
  munmap(shared, kLarge);
  munmap(priv, kLarge);
}

TEST_P(HostMemory, SharedImportAliasesAndIsInvalidatedByMunmap) {
  auto dev = open_model(GetParam());
  ASSERT_TRUE(dev);
  int fd = memfd_create("core-host", MFD_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, kLarge), 0);
  auto* p = static_cast<uint8_t*>(
      mmap(nullptr, kLarge, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
  ASSERT_NE(p, MAP_FAILED);
  HostImportPath path{};
  auto b = dev->import_host(p, kLarge, HostMemoryMode::Shared, &path);
  ASSERT_TRUE(b.ok()) << b.error();
  EXPECT_EQ(path, HostImportPath::Backed);
  EXPECT_EQ((*b)->label(), "host:backed");
  EXPECT_EQ(dev->stats().host_backed, 1u);
  {
    Jobs jobs(*dev);
    auto sync = dev->syncobj_create();
    ASSERT_TRUE(sync.ok());
    ASSERT_TRUE(jobs.sleep_then_write(**b, 0, 0x600dcafe, *sync, 0).ok());
    ASSERT_TRUE(dev->syncobj_wait(SyncPoint{*sync, 0}, deadline_ms(5000)).ok());
    uint32_t v;
    std::memcpy(&v, p, 4);
    EXPECT_EQ(v, 0x600dcafeu);  // the GPU's write, through the original pointer
    auto inv = dev->host_invalidated(**b);
    ASSERT_TRUE(inv.ok());
    EXPECT_FALSE(*inv);

    ASSERT_EQ(munmap(p, kLarge), 0);
    auto sync2 = dev->syncobj_create();
    ASSERT_TRUE(sync2.ok());
    ASSERT_TRUE(jobs.sleep_then_write(**b, 0, 1, *sync2, 0).ok());
    ASSERT_TRUE(dev->syncobj_wait(SyncPoint{*sync2, 0}, deadline_ms(5000)).ok());
    inv = dev->host_invalidated(**b);
    ASSERT_TRUE(inv.ok());
    EXPECT_TRUE(*inv);
    (void)dev->syncobj_destroy(*sync);
    (void)dev->syncobj_destroy(*sync2);
  }
  close(fd);
}

TEST_P(HostMemory, SharedOfPrivateMemoryIsRemappedInPlaceAndShared) {
  auto dev = open_model(GetParam());
  ASSERT_TRUE(dev);
  uint8_t* priv = anon(kLarge);
  fill(priv, kLarge, 6);
  EXPECT_TRUE(dev->host_shareable(priv, kLarge));
  HostImportPath path{};
  auto b = dev->import_host(priv, kLarge, HostMemoryMode::Shared, &path);
  ASSERT_TRUE(b.ok()) << b.error();
  EXPECT_EQ(path, HostImportPath::BackedRemap);
  EXPECT_TRUE(has(priv, kLarge, 6));  // same address, same contents
  auto* view = static_cast<uint8_t*>(dev->gpu_view((*b)->gpu_va()));
  ASSERT_NE(view, nullptr);
  EXPECT_TRUE(has(view, kLarge, 6));
  priv[100] = 0x11;  // now one set of pages, both ways
  EXPECT_EQ(view[100], 0x11);
  view[200] = 0x22;
  EXPECT_EQ(priv[200], 0x22);
  EXPECT_EQ(dev->stats().host_backed_remaps, 1u);
  b = Error(-EINVAL);
  munmap(priv, kLarge);
}

TEST_P(HostMemory, SharedRefusesUnalignedReadOnlyAndNullWithClearErrors) {
  auto dev = open_model(GetParam());
  ASSERT_TRUE(dev);
  uint8_t* priv = anon(kLarge);
  EXPECT_EQ(dev->import_host(priv + 8, kSmall, HostMemoryMode::Shared).error(), -EINVAL);
  EXPECT_FALSE(dev->host_shareable(priv + 8, kSmall));
  uint8_t* ro = anon(kSmall);
  ASSERT_EQ(mprotect(ro, kSmall, PROT_READ), 0);
  EXPECT_EQ(dev->import_host(ro, kSmall, HostMemoryMode::Shared).error(), -EFAULT);
  EXPECT_FALSE(dev->host_shareable(ro, kSmall));
  munmap(ro, kSmall);
  EXPECT_EQ(dev->import_host(nullptr, kSmall, HostMemoryMode::Shared).error(), -EINVAL);
  EXPECT_EQ(dev->import_host(priv, 0, HostMemoryMode::UploadDiscard).error(), -EINVAL);
  EXPECT_EQ(dev->import_host(priv, kSmall, static_cast<HostMemoryMode>(9)).error(), -EINVAL);
  auto copy = dev->import_host(priv, kLarge, HostMemoryMode::UploadDiscard);
  ASSERT_TRUE(copy.ok());
  EXPECT_EQ(dev->host_invalidated(**copy).error(), -EINVAL);  // not a Shared import
  munmap(priv, kLarge);
}

// A freed shared import of private memory leaves its pages in a memfd (the
// application's heap then mixes such pieces with private pages). A later
// import spanning a left-over piece and private pages becomes one new
// memfd over the whole range, contents kept; one that would take pages
// from under a live import is refused and changes nothing (dEQP-VK's
// external_memory_host cases met the first case as -EFAULT).
TEST_P(HostMemory, SharedImportsSpanningAnEarlierImportsPiecesAreRemappedWhole) {
  auto dev = open_model(GetParam());
  ASSERT_TRUE(dev);
  uint8_t* area = anon(4 * kLarge);
  fill(area, 4 * kLarge, 3);
  {
    auto first = dev->import_host(area + kLarge, kLarge, HostMemoryMode::Shared);
    ASSERT_TRUE(first.ok()) << first.error();
  }  // freed: [kLarge, 2 kLarge) stays a memfd mapping
  HostImportPath path{};
  auto span = dev->import_host(area, 2 * kLarge + kSmall, HostMemoryMode::Shared, &path);
  ASSERT_TRUE(span.ok()) << span.error();
  EXPECT_EQ(path, HostImportPath::BackedRemap);
  EXPECT_TRUE(has(area, 4 * kLarge, 3)) << "the application's contents were kept";
  uint8_t* gpu = static_cast<uint8_t*>(dev->gpu_view((*span)->gpu_va()));
  EXPECT_TRUE(has(gpu, 2 * kLarge + kSmall, 3));
  area[kLarge + 5] = 0xee;  // the CPU and the GPU see one set of pages
  EXPECT_EQ(gpu[kLarge + 5], 0xee);

  // The live import covers [0, 2 kLarge + kSmall): a range that spans its
  // pages and private ones beyond would have to remap them: refused.
  EXPECT_EQ(dev->import_host(area + 2 * kLarge, 2 * kLarge, HostMemoryMode::Shared).error(),
            -EINVAL);
  area[7] = 0x11;
  EXPECT_EQ(gpu[7], 0x11) << "the live import still aliases the application's pages";
  // Inside the live import's own mapping, a second import aliases it.
  auto inner = dev->import_host(area + kLarge, kLarge, HostMemoryMode::Shared, &path);
  ASSERT_TRUE(inner.ok()) << inner.error();
  EXPECT_EQ(path, HostImportPath::Backed);
  inner = Error(-EINVAL);
  span = Error(-EINVAL);
  // Once it is freed, the same range is accepted.
  auto later = dev->import_host(area + 2 * kLarge, 2 * kLarge, HostMemoryMode::Shared);
  EXPECT_TRUE(later.ok()) << later.error();
  EXPECT_TRUE(has(area + 2 * kLarge + kSmall, 2 * kLarge - kSmall, 3));
  later = Error(-EINVAL);
  munmap(area, 4 * kLarge);
}

TEST_P(HostMemory, SharedImportsAreLimitedByRlimitMemlock) {
  auto dev = open_model(GetParam());
  ASSERT_TRUE(dev);
  rlimit old{};
  ASSERT_EQ(getrlimit(RLIMIT_MEMLOCK, &old), 0);
  rlimit lim = old;
  lim.rlim_cur = kLarge / 2;
  ASSERT_EQ(setrlimit(RLIMIT_MEMLOCK, &lim), 0);
  uint8_t* s = anon(kLarge, MAP_SHARED);
  EXPECT_EQ(dev->import_host(s, kLarge, HostMemoryMode::Shared).error(), -ENOMEM);
  auto half = dev->import_host(s, kLarge / 2, HostMemoryMode::Shared);
  EXPECT_TRUE(half.ok());
  ASSERT_EQ(setrlimit(RLIMIT_MEMLOCK, &old), 0);
  half = Error(-EINVAL);
  munmap(s, kLarge);
}

TEST_P(HostMemory, ForkChildSeesItsCopyOnWritePagesNeverTheGpusWrites) {
  auto dev = open_model(GetParam());
  ASSERT_TRUE(dev);
  uint8_t* p = anon(kLarge);
  fill(p, kLarge, 8);
  HostImportPath path{};
  auto b = dev->import_host(p, kLarge, HostMemoryMode::UploadDiscard, &path);
  ASSERT_TRUE(b.ok()) << b.error();
  ASSERT_EQ(path, HostImportPath::Steal);
  p[0] = 0x33;  // the application reuses its (emptied) range
  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    char go;
    (void)!read(pipefd[0], &go, 1);  // after the GPU wrote the buffer
    uint32_t v;
    std::memcpy(&v, p, 4);
    _exit(p[0] == 0x33 && v != 0xc0ffee00u ? 0 : 1);
  }
  {
    Jobs jobs(*dev);
    auto sync = dev->syncobj_create();
    ASSERT_TRUE(sync.ok());
    ASSERT_TRUE(jobs.sleep_then_write(**b, 0, 0xc0ffee00u, *sync, 0).ok());
    ASSERT_TRUE(dev->syncobj_wait(SyncPoint{*sync, 0}, deadline_ms(5000)).ok());
    uint32_t gpu;
    std::memcpy(&gpu, dev->gpu_view((*b)->gpu_va()), 4);
    EXPECT_EQ(gpu, 0xc0ffee00u);
    (void)dev->syncobj_destroy(*sync);
  }
  (void)!write(pipefd[1], "g", 1);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  close(pipefd[0]);
  close(pipefd[1]);
  b = Error(-EINVAL);
  munmap(p, kLarge);
}

std::string driver_name(const ::testing::TestParamInfo<std::string>& info) { return info.param; }
INSTANTIATE_TEST_SUITE_P(Drivers, HostMemory, ::testing::Values("panthor", "panfrost"),
                         driver_name);

}  // namespace
}  // namespace wsys
